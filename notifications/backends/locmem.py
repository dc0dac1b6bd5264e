"""Keeps messages in `outbox` and verification codes in `verification_outbox` (module-level
lists) instead of sending them: for tests (codes are checked locally, local_verify).

A message stays `sent` for good: fetch() answers what send() did, for the SIDs it gave."""

import uuid

from notifications.backends.base import BaseSMSBackend, OutboundSMS, SendResult
from notifications.backends.local_verify import IssuedCode, LocalVerification
from notifications.status import SMSStatus

outbox: list[OutboundSMS] = []
verification_outbox: list[IssuedCode] = []
_sent: dict[str, SendResult] = {}


class LocmemBackend(LocalVerification, BaseSMSBackend):
    def send(self, message: OutboundSMS) -> SendResult:
        outbox.append(message)
        result = SendResult(
            provider_sid="LOCMEM" + uuid.uuid4().hex,
            status=SMSStatus.SENT,
            raw={"backend": "locmem"},
        )
        _sent[result.provider_sid] = result
        return result

    def fetch(self, provider_sid: str) -> SendResult | None:
        return _sent.get(provider_sid)

    def deliver_code(self, issued: IssuedCode) -> None:
        verification_outbox.append(issued)
