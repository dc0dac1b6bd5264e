"""Prints messages instead of sending them: for local development without a provider."""

import sys
import uuid

from notifications.backends.base import BaseSMSBackend, OutboundSMS, SendResult
from notifications.phone import mask_phone_number
from notifications.status import SMSStatus


class ConsoleBackend(BaseSMSBackend):
    def __init__(self, stream=None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.stream = stream or sys.stdout

    def send(self, message: OutboundSMS) -> SendResult:
        sid = "CONSOLE" + uuid.uuid4().hex
        self.stream.write(
            f"--- SMS {sid} to {mask_phone_number(message.to)} from {message.sender}\n"
            f"{message.body}\n---\n"
        )
        self.stream.flush()
        return SendResult(provider_sid=sid, status=SMSStatus.SENT, raw={"backend": "console"})
