"""Message status: an enum, a forward-only transition table, and Twilio's vocabulary mapped."""

from django.db import models


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


# Twilio's message statuses (https://www.twilio.com/docs/messaging/api/message-resource#message-status-values)
# mapped onto ours; anything unknown maps to None and is kept only in the raw payload.
TWILIO_STATUS_MAP: dict[str, SMSStatus] = {
    "accepted": S.QUEUED,
    "scheduled": S.QUEUED,
    "queued": S.QUEUED,
    "sending": S.SENDING,
    "sent": S.SENT,
    "delivered": S.DELIVERED,
    "read": S.DELIVERED,
    "partially_delivered": S.DELIVERED,
    "undelivered": S.UNDELIVERED,
    "failed": S.FAILED,
    "canceled": S.CANCELED,
}


def from_twilio(status: str | None) -> SMSStatus | None:
    return TWILIO_STATUS_MAP.get((status or "").lower())
