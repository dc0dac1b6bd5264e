"""Status changes: conditional UPDATEs allowed by the transition table, signalled after commit."""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection, transaction
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


def transition(message_id, new_status: SMSStatus, *, held_by: str | None = None, **fields) -> bool:
    """Move the message to `new_status` if the transition table allows it from where it is
    (and, with `held_by`, only while that worker holds its lease), writing `fields` with it.

    One conditional UPDATE, so concurrent writers never move a status backwards. Returns
    whether the row changed; when it did, sms_status_changed is sent after commit.
    """
    now = timezone.now()
    stage = STAGE_TIMESTAMPS.get(new_status)
    if stage:
        fields.setdefault(stage, now)
    rows = SMSLog.objects.filter(id=message_id, status__in=predecessors(new_status))
    if held_by is not None:
        rows = rows.filter(lease_owner=held_by)
    changed = rows.update(status=new_status, updated_at=now, **fields)
    if changed:
        _signal_after_commit(message_id, new_status)
    return bool(changed)


def _signal_after_commit(message_id, status: SMSStatus) -> None:
    announce_after_commit([(message_id, status)])


def announce_after_commit(changes: Sequence[tuple[object, SMSStatus]]) -> None:
    """Send sms_status_changed for each (message id, new status) once the transaction commits,
    with the message's reference and metadata (read in one query, and only if someone
    listens)."""
    changes = list(changes)

    def send() -> None:
        if not changes or not sms_status_changed.has_listeners(SMSLog):
            return
        about = {
            message_id: (reference, metadata)
            for message_id, reference, metadata in SMSLog.objects.filter(
                id__in=[message_id for message_id, _ in changes]
            ).values_list("id", "reference", "metadata")
        }
        for message_id, status in changes:
            reference, metadata = about.get(message_id, ("", {}))
            sms_status_changed.send(
                sender=SMSLog,
                message_id=message_id,
                status=str(status),
                reference=reference,
                metadata=metadata,
            )

    transaction.on_commit(send, robust=True)


def replay_unmatched_callbacks(*, message_id, provider_sid: str) -> int:
    """Apply callbacks that arrived before the worker recorded this SID (recorded as unknown).

    Both sides call it: the worker once its SID is committed, and the webhook after storing
    an unknown callback whose SID is there by then, so one of them sees the other's write.
    Each event is taken once (locked, skipped by a concurrent replay).
    """
    Outcome = WebhookEvent.Outcome
    applied = 0
    with transaction.atomic():
        # In the order they came: `sent` before `delivered`, or the later one would make the
        # earlier one stale and leave its timestamp empty.
        events = list(
            WebhookEvent.objects.select_for_update(skip_locked=True)
            .filter(
                kind=WebhookEvent.Kind.STATUS, provider_sid=provider_sid, outcome=Outcome.UNKNOWN
            )
            .order_by("received_at", "id")
        )
        for event in events:
            error_code = event.payload.get("ErrorCode") or ""
            status = event.payload.get("MessageStatus") or event.provider_status
            changed = transition(message_id, from_twilio(status), **error_fields(error_code))
            applied += changed
            WebhookEvent.objects.filter(id=event.id).update(
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


@dataclass(frozen=True)
class Acceptance:
    """What the provider answered for a message it took."""

    message_id: object
    status: SMSStatus
    provider_sid: str
    payload: dict
    error_code: str = ""
    error_message: str = ""


def accept_held(acceptances: Sequence[Acceptance], *, held_by: str) -> set:
    """Record the provider's answers for messages `held_by` holds, still pending: their SIDs,
    answers and statuses, and give them back. The ids recorded; each is signalled after commit.

    On PostgreSQL one UPDATE for them all (a run's hundred messages in one statement, not a
    hundred); elsewhere one transition each.
    """
    if not acceptances:
        return set()
    now = timezone.now()
    if connection.vendor == "postgresql":
        recorded = _accept_held_in_one_update(acceptances, held_by, now)
    else:
        recorded = {
            a.message_id
            for a in acceptances
            if SMSLog.objects.filter(
                id=a.message_id, lease_owner=held_by, status=SMSStatus.PENDING
            ).update(status=a.status, updated_at=now, **_acceptance_fields(a, now))
        }
    announce_after_commit((a.message_id, a.status) for a in acceptances if a.message_id in recorded)
    return recorded


def _acceptance_fields(a: Acceptance, now) -> dict:
    fields = {
        "provider_sid": a.provider_sid,
        "provider_payload": a.payload,
        "error_code": a.error_code,
        "error_message": a.error_message[:1000],
        "accepted_at": now,
        "lease_owner": "",
        "lease_expires_at": None,
        "call_started_at": None,
    }
    stage = STAGE_TIMESTAMPS.get(a.status)
    if stage:
        fields[stage] = now
    return fields


def _accept_held_in_one_update(acceptances, held_by: str, now) -> set:
    from psycopg.types.json import Jsonb

    table = connection.ops.quote_name(SMSLog._meta.db_table)
    stages = ",\n".join(
        f"{column} = CASE WHEN v.status IN ({', '.join(repr(str(s)) for s in statuses)}) "
        f"THEN %(now)s ELSE m.{column} END"
        for column, statuses in _statuses_by_stage().items()
    )
    sql = f"""
        UPDATE {table} AS m SET
            status = v.status, provider_sid = v.sid, provider_payload = v.payload,
            error_code = v.error_code, error_message = v.error_message,
            accepted_at = %(now)s, updated_at = %(now)s,
            lease_owner = '', lease_expires_at = NULL, call_started_at = NULL,
            {stages}
        FROM unnest(%(ids)s::uuid[], %(statuses)s::text[], %(sids)s::text[],
                    %(payloads)s::jsonb[], %(codes)s::text[], %(messages)s::text[])
             AS v(id, status, sid, payload, error_code, error_message)
        WHERE m.id = v.id AND m.lease_owner = %(owner)s AND m.status = %(pending)s
        RETURNING m.id
    """  # noqa: S608 (table and column names come from the model, values are parameters)
    params = {
        "now": now,
        "owner": held_by,
        "pending": str(SMSStatus.PENDING),
        "ids": [a.message_id for a in acceptances],
        "statuses": [str(a.status) for a in acceptances],
        "sids": [a.provider_sid for a in acceptances],
        "payloads": [Jsonb(a.payload) for a in acceptances],
        "codes": [a.error_code for a in acceptances],
        "messages": [a.error_message[:1000] for a in acceptances],
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


def _statuses_by_stage() -> dict[str, list[SMSStatus]]:
    stages: dict[str, list[SMSStatus]] = {}
    for status, column in STAGE_TIMESTAMPS.items():
        stages.setdefault(column, []).append(status)
    return stages
