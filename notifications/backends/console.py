"""Prints messages and verification codes instead of sending them: for local development
without a provider (codes are checked locally, notifications.backends.local_verify).

It has no fetch(): the refresh of missed status callbacks leaves its messages alone."""

import sys
import uuid

from notifications.backends.base import BaseSMSBackend, OutboundSMS, SendResult
from notifications.backends.local_verify import IssuedCode, LocalVerification
from notifications.phone import mask_phone_number
from notifications.status import SMSStatus


class ConsoleBackend(LocalVerification, BaseSMSBackend):
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

    def deliver_code(self, issued: IssuedCode) -> None:
        # Printed, never logged: this stream is the developer's console, like a message's body.
        self.stream.write(
            f"--- Verification {issued.sid} to {mask_phone_number(issued.to)} "
            f"by {issued.channel}\nYour verification code is: {issued.code}\n---\n"
        )
        self.stream.flush()
