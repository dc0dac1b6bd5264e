"""Keeps messages in `outbox` (a module-level list) instead of sending them: for tests."""

import uuid

from notifications.backends.base import BaseSMSBackend, OutboundSMS, SendResult
from notifications.status import SMSStatus

outbox: list[OutboundSMS] = []


class LocmemBackend(BaseSMSBackend):
    def send(self, message: OutboundSMS) -> SendResult:
        outbox.append(message)
        return SendResult(
            provider_sid="LOCMEM" + uuid.uuid4().hex,
            status=SMSStatus.SENT,
            raw={"backend": "locmem"},
        )
