"""Sends through Twilio's Messages API and verifies through Twilio Verify (via
notifications.twilio_client, which owns the library)."""

from datetime import datetime

from django.core import checks

from notifications import conf, twilio_client
from notifications.backends.base import (
    BaseSMSBackend,
    OutboundSMS,
    SendResult,
    VerificationChecked,
    VerificationStarted,
)
from notifications.status import from_twilio


class TwilioBackend(BaseSMSBackend):
    required_settings = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")
    required_verification_settings = ("TWILIO_VERIFY_SERVICE_SID",)

    @classmethod
    def check(cls) -> list[checks.CheckMessage]:
        errors = super().check()
        if not conf.sender():
            errors.append(
                checks.Error(
                    "Set TWILIO_PHONE_NUMBER or TWILIO_MESSAGING_SERVICE_SID.",
                    id="notifications.E004",
                )
            )
        return errors

    def check_credentials(self) -> str:
        """Fetches our own Account resource, which only the right credentials can."""
        twilio_client.fetch_account()
        return "accepted by Twilio"

    def send(self, message: OutboundSMS) -> SendResult:
        sender = message.sender or conf.sender()
        payload = twilio_client.create_message(
            to=message.to, body=message.body, sender=sender, status_callback=message.status_callback
        )
        return _result(payload)

    def find_sent(self, message: OutboundSMS, *, since: datetime) -> list[SendResult]:
        sender = message.sender or conf.sender()
        payloads = twilio_client.list_recent_messages(to=message.to, sender=sender, since=since)
        return [_result(p) for p in payloads if p.get("body") == message.body]

    def fetch(self, provider_sid: str) -> SendResult:
        return _result(twilio_client.fetch_message(provider_sid))

    def start_verification(self, *, to: str, channel: str) -> VerificationStarted:
        self.require_verification_settings()
        payload = twilio_client.start_verification(to=to, channel=channel)
        return VerificationStarted(sid=payload["sid"], status=payload["status"])

    def check_verification(
        self, *, to: str, code: str, timeout: float | None = None
    ) -> VerificationChecked:
        self.require_verification_settings()
        payload = twilio_client.check_verification(to=to, code=code, timeout=timeout)
        return VerificationChecked(
            sid=payload["sid"] or "", status=payload["status"], valid=payload["valid"]
        )


def _result(payload: dict) -> SendResult:
    """Our view of a Twilio message resource; the raw resource is kept as it came.

    A create can answer a message that is already `failed` or `undelivered`, with Twilio's
    `error_code` and `error_message` (nullable in its spec): they are kept too.
    """
    code = "" if payload.get("error_code") is None else str(payload["error_code"])
    return SendResult(
        provider_sid=payload["sid"],
        status=from_twilio(payload.get("status")),
        raw=payload,
        error_code=code,
        error_message=payload.get("error_message") or (f"Twilio error {code}" if code else ""),
    )
