"""Sends through Twilio's Messages API (via notifications.twilio_client, which owns the library)."""

from datetime import datetime

from notifications import conf, twilio_client
from notifications.backends.base import BaseSMSBackend, OutboundSMS, SendResult
from notifications.status import SMSStatus, from_twilio


class TwilioBackend(BaseSMSBackend):
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


def _result(payload: dict) -> SendResult:
    status = from_twilio(payload.get("status")) or SMSStatus.QUEUED
    return SendResult(provider_sid=payload["sid"], status=status, raw=payload)
