"""Status changes: conditional UPDATEs allowed by the transition table, signalled after commit."""

from django.db import transaction
from django.db.models import Case, CharField, F, TextField, Value, When
from django.utils import timezone

from notifications.models import SMSLog, WebhookEvent
from notifications.signals import sms_status_changed
from notifications.status import SMSStatus, from_twilio, predecessors

STAGE_TIMESTAMPS = {
    SMSStatus.QUEUED: "queued_at",
    SMSStatus.SENT: "sent_at",
    SMSStatus.DELIVERED: "delivered_at",
    SMSStatus.UNDELIVERED: "failed_at",
    SMSStatus.FAILED: "failed_at",
}


def transition(message_id, new_status: SMSStatus, **fields) -> bool:
    """Move the message to `new_status` if the transition table allows it from where it is.

    One conditional UPDATE, so concurrent writers never move a status backwards. Returns
    whether the row changed; when it did, sms_status_changed is sent after commit.
    """
    now = timezone.now()
    stage = STAGE_TIMESTAMPS.get(new_status)
    if stage:
        fields.setdefault(stage, now)
    changed = SMSLog.objects.filter(id=message_id, status__in=predecessors(new_status)).update(
        status=new_status, updated_at=now, **fields
    )
    if changed:
        transaction.on_commit(
            lambda: sms_status_changed.send(
                sender=SMSLog, message_id=message_id, status=str(new_status)
            ),
            robust=True,
        )
    return bool(changed)


def replay_unmatched_callbacks(*, message_id, provider_sid: str) -> int:
    """Apply callbacks that arrived before the worker recorded this SID (recorded as unknown)."""
    Outcome = WebhookEvent.Outcome
    events = WebhookEvent.objects.filter(
        kind=WebhookEvent.Kind.STATUS, provider_sid=provider_sid, outcome=Outcome.UNKNOWN
    )
    applied = 0
    for event in events:
        error_code = event.payload.get("ErrorCode") or ""
        status = event.payload.get("MessageStatus") or event.provider_status
        changed = transition(message_id, from_twilio(status), **error_fields(error_code))
        applied += changed
        events.filter(id=event.id).update(
            outcome=Outcome.APPLIED if changed else Outcome.STALE, message_id=message_id
        )
    return applied


def error_fields(error_code: str) -> dict:
    """UPDATE fields recording a provider error code, keeping the first one ever recorded."""
    if not error_code:
        return {}
    return {
        "error_code": Case(
            When(error_code="", then=Value(error_code)),
            default=F("error_code"),
            output_field=CharField(),
        ),
        "error_message": Case(
            When(error_message="", then=Value(f"Twilio error {error_code}")),
            default=F("error_message"),
            output_field=TextField(),
        ),
    }
