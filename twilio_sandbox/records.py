"""In-memory records (messages, verifications) and their Twilio JSON representations."""

from __future__ import annotations

import os
import time
from typing import Any

API_VERSION = "2010-04-01"
FINAL_STATUSES = frozenset({"delivered", "undelivered", "failed", "received", "canceled", "read"})
_RFC2822_CACHE: dict[int, str] = {}
# strftime's %a/%b follow the locale; RFC 2822 wants the English names.
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def new_sid(prefix: str) -> str:
    return prefix + os.urandom(16).hex()


def rfc2822(ts: float | None) -> str | None:
    """`Mon, 16 Aug 2010 03:45:01 +0000`, cached per second because creates are hot."""
    if ts is None:
        return None
    second = int(ts)
    text = _RFC2822_CACHE.get(second)
    if text is None:
        if len(_RFC2822_CACHE) > 4096:
            _RFC2822_CACHE.clear()
        t = time.gmtime(second)
        text = (
            f"{DAYS[t.tm_wday]}, {t.tm_mday:02d} {MONTHS[t.tm_mon - 1]} {t.tm_year} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
        )
        _RFC2822_CACHE[second] = text
    return text


def iso8601(ts: float | None) -> str | None:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class Message:
    """One outbound or inbound message, as the Messages API and the inbox show it."""

    __slots__ = (
        "sid", "account_sid", "to", "from_", "body", "status", "direction",
        "messaging_service_sid", "num_segments", "num_media", "media_urls", "date_created",
        "date_updated", "date_sent", "price", "price_unit", "error_code", "error_message",
        "status_callback", "history", "source", "plan", "handle", "hold", "held", "generation",
        "webhook", "send_at", "callbacks_sent",
    )  # fmt: skip

    def __init__(self, **fields: Any) -> None:
        self.sid = ""
        self.account_sid = ""
        self.to = ""
        self.from_: str | None = None
        self.body = ""
        self.status = "queued"
        self.direction = "outbound-api"
        self.messaging_service_sid: str | None = None
        self.num_segments = 1
        self.num_media = 0
        self.media_urls: list[str] = []
        self.date_created = 0.0
        self.date_updated = 0.0
        self.date_sent: float | None = None
        self.price: str | None = None
        self.price_unit = "USD"
        self.error_code: int | None = None
        self.error_message: str | None = None
        self.status_callback: str | None = None
        self.history: list[tuple[str, float]] = []
        self.source = "api"
        # Remaining lifecycle: list of (status, error_code) still to go through.
        self.plan: list[tuple[str, int | None]] = []
        self.handle: Any = None
        # The delivery of its latest status callback: the next one waits for it.
        self.callbacks_sent: Any = None
        self.hold = False  # out-of-order fault: keep callbacks until the final status
        self.held: list[Any] = []
        self.generation = 0
        self.webhook: dict[str, Any] | None = None
        self.send_at: float | None = None
        for key, value in fields.items():
            setattr(self, key, value)

    @property
    def uri(self) -> str:
        return f"/2010-04-01/Accounts/{self.account_sid}/Messages/{self.sid}.json"

    def to_api(self) -> dict[str, Any]:
        base = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{self.sid}"
        # A message sent through a Messaging Service has no sender (and 0 segments) until
        # Twilio assigns one: see the `num_segments` description in the OpenAPI spec.
        segments = "0" if self.status == "accepted" else str(self.num_segments)
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": rfc2822(self.date_created),
            "date_sent": rfc2822(self.date_sent),
            "date_updated": rfc2822(self.date_updated),
            "direction": self.direction,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": str(self.num_media),
            "num_segments": segments,
            "price": self.price,
            "price_unit": self.price_unit,
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {
                "media": base + "/Media.json",
                "feedback": base + "/Feedback.json",
            },
            "to": self.to,
            "uri": base + ".json",
        }

    def to_inbox(self) -> dict[str, Any]:
        """The API shape plus sandbox-only details (history, callback URL, webhook reply)."""
        data = self.to_api()
        data["source"] = self.source
        data["status_callback"] = self.status_callback
        data["media_urls"] = list(self.media_urls)
        data["history"] = [{"status": s, "at": iso8601(at), "ts": at} for s, at in self.history]
        data["webhook"] = self.webhook
        data["send_at"] = self.send_at  # when the sender's queue let it go (epoch seconds)
        return data


class Verification:
    """A Verify v2 verification and the code it sent."""

    __slots__ = (
        "sid", "service_sid", "account_sid", "to", "channel", "status", "code", "created",
        "updated", "expires", "attempts", "checks", "message_sids",
    )  # fmt: skip

    def __init__(self, sid: str, service_sid: str, account_sid: str, to: str, channel: str,
                 code: str, now: float, ttl: float) -> None:  # fmt: skip
        self.sid = sid
        self.service_sid = service_sid
        self.account_sid = account_sid
        self.to = to
        self.channel = channel
        self.status = "pending"
        self.code = code
        self.created = now
        self.updated = now
        self.expires = now + ttl
        self.attempts: list[dict[str, Any]] = []
        self.checks = 0
        self.message_sids: list[str] = []

    def refresh(self, now: float) -> str:
        """Current status, turning a pending verification past its 10 minutes into expired."""
        if self.status in ("pending", "max_attempts_reached") and now >= self.expires:
            self.status = "expired"
            self.updated = now
        return self.status

    def _common(self) -> dict[str, Any]:
        return {
            "sid": self.sid,
            "service_sid": self.service_sid,
            "account_sid": self.account_sid,
            "to": self.to,
            "channel": self.channel,
            "status": self.status,
            "valid": self.status == "approved",
            "amount": None,
            "payee": None,
            "date_created": iso8601(self.created),
            "date_updated": iso8601(self.updated),
        }

    def to_api(self) -> dict[str, Any]:
        data = self._common()
        data["lookup"] = {
            "carrier": {
                "error_code": None,
                "name": "Twilio Sandbox Wireless",
                "mobile_country_code": "310",
                "mobile_network_code": "150",
                "type": "mobile",
            }
        }
        data["send_code_attempts"] = [dict(a) for a in self.attempts]
        data["sna"] = None
        data["url"] = (
            f"https://verify.twilio.com/v2/Services/{self.service_sid}/Verifications/{self.sid}"
        )
        return data

    def to_check_api(self) -> dict[str, Any]:
        data = self._common()
        data["sna_attempts_error_codes"] = []
        return data

    def to_inbox(self) -> dict[str, Any]:
        data = self.to_api()
        data["code"] = self.code
        data["check_attempts"] = self.checks
        data["expires"] = iso8601(self.expires)
        data["message_sids"] = list(self.message_sids)
        return data


# A plausible US SMS price per segment; Twilio reports prices as negative strings.
PRICE_PER_SEGMENT = 0.0079


def count_price(segments: int) -> str:
    return f"-{PRICE_PER_SEGMENT * max(segments, 1):.5f}"
