"""Keeps messages in `outbox` and verification codes in `verification_outbox` (module-level
lists) instead of sending them: for tests (codes are checked locally, local_verify)."""

import uuid

from notifications.backends.base import BaseSMSBackend, OutboundSMS, SendResult
from notifications.backends.local_verify import IssuedCode, LocalVerification
from notifications.status import SMSStatus

outbox: list[OutboundSMS] = []
verification_outbox: list[IssuedCode] = []


class LocmemBackend(LocalVerification, BaseSMSBackend):
    def send(self, message: OutboundSMS) -> SendResult:
        outbox.append(message)
        return SendResult(
            provider_sid="LOCMEM" + uuid.uuid4().hex,
            status=SMSStatus.SENT,
            raw={"backend": "locmem"},
        )

    def deliver_code(self, issued: IssuedCode) -> None:
        verification_outbox.append(issued)
