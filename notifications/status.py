"""Message status: an enum, a forward-only transition table, and Twilio's vocabulary mapped."""

import logging
import threading

from django.db import models

logger = logging.getLogger(__name__)


class SMSStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # recorded, not yet accepted by the provider
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    UNDELIVERED = "undelivered", "Undelivered"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"
    SKIPPED = "skipped", "Skipped"  # SMS disabled or recipient opted out: no provider call


S = SMSStatus
TERMINAL_STATUSES = frozenset({S.DELIVERED, S.UNDELIVERED, S.FAILED, S.CANCELED, S.SKIPPED})

# Where each status may go next. Statuses only move forward: a late `sent` never overwrites
# `delivered`, and terminal statuses stay terminal.
TRANSITIONS: dict[SMSStatus, frozenset[SMSStatus]] = {
    S.PENDING: frozenset(
        {S.QUEUED, S.SENDING, S.SENT, S.DELIVERED, S.UNDELIVERED, S.FAILED, S.CANCELED, S.SKIPPED}
    ),
    S.QUEUED: frozenset({S.SENDING, S.SENT, S.DELIVERED, S.UNDELIVERED, S.FAILED, S.CANCELED}),
    S.SENDING: frozenset({S.SENT, S.DELIVERED, S.UNDELIVERED, S.FAILED}),
    S.SENT: frozenset({S.DELIVERED, S.UNDELIVERED, S.FAILED}),
    S.DELIVERED: frozenset(),
    S.UNDELIVERED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELED: frozenset(),
    S.SKIPPED: frozenset(),
}


def can_transition(current: str, new: str) -> bool:
    return SMSStatus(new) in TRANSITIONS[SMSStatus(current)]


def predecessors(new: str) -> list[str]:
    """The statuses from which `new` may be reached: the WHERE clause of a conditional UPDATE."""
    return [str(status) for status, nexts in TRANSITIONS.items() if SMSStatus(new) in nexts]


# What a Twilio status with no meaning for an outbound message is recorded as. The message was
# accepted (it has a SID) but its progress is unknown: `queued` claims none, forward-only
# transitions keep it from moving a row backwards, and the reconciliation of rows stuck in
# `queued` asks Twilio again. The raw value stays in the stored payload.
TWILIO_UNKNOWN = S.QUEUED

# Every value of Twilio's `message_enum_status` (its OpenAPI spec; meanings at
# https://www.twilio.com/docs/messaging/api/message-resource#message-status-values), mapped
# explicitly; tests/notifications/test_status.py fails when the spec has one that is missing.
TWILIO_STATUS_MAP: dict[str, SMSStatus] = {
    "accepted": S.QUEUED,  # a Messaging Service is choosing the sender
    "scheduled": S.QUEUED,  # held until its SendAt
    "queued": S.QUEUED,
    "sending": S.SENDING,
    "sent": S.SENT,
    "delivered": S.DELIVERED,
    "read": S.DELIVERED,  # WhatsApp read receipt: read implies delivered
    "partially_delivered": S.DELIVERED,
    "undelivered": S.UNDELIVERED,
    "failed": S.FAILED,
    "canceled": S.CANCELED,
    # Statuses of inbound messages: an outbound message never has them, so one says nothing
    # about our message's delivery. Treated like an unknown value (and logged), never as
    # delivered, which would end the message on a guess.
    "receiving": TWILIO_UNKNOWN,
    "received": TWILIO_UNKNOWN,
}
INBOUND_ONLY_TWILIO_STATUSES = frozenset({"receiving", "received"})

_reported: set[str] = set()
_reported_lock = threading.Lock()
_MAX_REPORTED = 64  # distinct values remembered (and logged) per process


def from_twilio(status: str | None) -> SMSStatus:
    """Our status for one of Twilio's (case-insensitive).

    A value that is not Twilio's, or only an inbound message's, is TWILIO_UNKNOWN; it is
    logged once per process at WARNING.
    """
    raw = (status or "").strip().lower()
    mapped = TWILIO_STATUS_MAP.get(raw)
    if mapped is None or raw in INBOUND_ONLY_TWILIO_STATUSES:
        _report(raw)
    return TWILIO_UNKNOWN if mapped is None else mapped


def _report(raw: str) -> None:
    with _reported_lock:
        if raw in _reported or len(_reported) >= _MAX_REPORTED:
            return
        _reported.add(raw)
    logger.warning(
        "Twilio reported the message status %r, which an outbound message should not have: "
        "recorded as %s until the reconciliation of stuck messages asks Twilio again",
        raw[:40],
        TWILIO_UNKNOWN.value,
    )
