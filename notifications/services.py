"""The request side of delivery: record messages and bulks, publish after commit, cancel.

Nothing here calls the provider or runs in a worker: the worker side is notifications.delivery
(claim, send, record the outcome) and notifications.recovery (dispatcher, bulk pump).
"""

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from redis.exceptions import RedisError

from notifications import conf, publishing, selectors, suppression
from notifications.bulk_insert import insert_rows
from notifications.exceptions import (
    BulkFinished,
    IdempotencyConflict,
    InvalidMessageBody,
    InvalidPhoneNumber,
    InvalidRecipients,
    TooManyRecipients,
)
from notifications.models import BulkSend, SMSLog
from notifications.phone import normalize_phone_number
from notifications.redis_client import get_redis
from notifications.segments import count_segments
from notifications.status import SMSStatus
from notifications.transitions import announce_after_commit

logger = logging.getLogger(__name__)

# How long a canceled bulk's flag stays in the cache (the workers' fast check before a call).
CANCELED_FLAG_TTL = 7 * 24 * 3600


def send_sms(
    *,
    to: str,
    body: str,
    idempotency_key: str | None = None,
    reference: str = "",
    metadata: dict | None = None,
    publish: bool = True,
) -> SMSLog:
    """Record a message and publish its delivery once the caller's transaction commits.

    Returns the SMSLog: `pending`, or `skipped` (nothing published) when SMS_ENABLED is false
    or the recipient opted out. The same idempotency_key never creates a second message: the
    first one is returned (and nothing is published again); reusing a key for another
    recipient or body raises IdempotencyConflict. `reference` and `metadata` (JSON: ids, not
    personal data) come back with every sms_status_changed signal of the message, so a caller
    knows which of its events the message tells of. A broker that cannot take the task does not
    undo the recorded message: the dispatcher publishes it. With publish=False the caller
    delivers it itself (notifications.delivery), as `test_sms` does.
    Raises InvalidPhoneNumber or InvalidMessageBody before anything is written.
    """
    number = normalize_phone_number(to)
    body = validate_body(body)
    if idempotency_key:
        existing = SMSLog.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return _replayed(existing, number, body)

    segments = count_segments(body)
    skip_reason = suppression.skip_reasons([number]).get(number, "")
    now = timezone.now()
    message = SMSLog(
        to=number,
        body=body,
        sender=conf.sender(),
        idempotency_key=idempotency_key or None,
        reference=reference or "",
        metadata=metadata or {},
        segments=segments.segments,
        encoding=segments.encoding,
        next_attempt_at=now,
        # Published at commit; set back to empty if the broker does not take it.
        published_at=now if publish and not skip_reason else None,
    )
    if skip_reason:
        message.status, message.error_message = SMSStatus.SKIPPED, skip_reason
    try:
        with transaction.atomic():
            message.save(force_insert=True)
    except IntegrityError:
        if not idempotency_key:
            raise
        # A concurrent request with the same key won the insert.
        return _replayed(SMSLog.objects.get(idempotency_key=idempotency_key), number, body)

    if skip_reason:
        logger.info("SMS %s to %s skipped: %s", message.id, message.masked_to, skip_reason)
        return message
    logger.info(
        "SMS %s to %s recorded (%d segment(s))", message.id, message.masked_to, segments.segments
    )
    if publish:
        transaction.on_commit(lambda: _publish_single(message.id), robust=True)
    return message


def _publish_single(message_id) -> None:
    if not publishing.publish_delivery([message_id]):
        # Never published: the dispatcher's next run picks it up.
        SMSLog.objects.filter(id=message_id, status=SMSStatus.PENDING).update(published_at=None)


def validate_body(body: str) -> str:
    body = (body or "").strip()
    limit = conf.get("SMS_MAX_BODY_LENGTH")
    if not body:
        raise InvalidMessageBody("The message body is empty.")
    if len(body) > limit:
        raise InvalidMessageBody(f"The message body is longer than {limit} characters.")
    return body


def _replayed(existing: SMSLog, number: str, body: str) -> SMSLog:
    if (existing.to, existing.body) != (number, body):
        raise IdempotencyConflict(
            "This idempotency key was already used for another recipient or body."
        )
    return existing


# --- bulk sends --------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipients:
    """A bulk's recipient list, read: E.164 numbers in first-seen order, and what was refused."""

    numbers: list[str]
    rejected: list[dict]
    duplicates: int


def read_recipients(recipients) -> Recipients:
    """Normalize and deduplicate; each invalid entry is reported with its index, not raised.

    Raises InvalidRecipients when `recipients` is not a list, TooManyRecipients above
    SMS_BULK_MAX_RECIPIENTS.
    """
    if not isinstance(recipients, list | tuple):
        raise InvalidRecipients("`recipients` must be a list of phone numbers.")
    limit = int(conf.get("SMS_BULK_MAX_RECIPIENTS"))
    if len(recipients) > limit:
        raise TooManyRecipients(f"A bulk may have at most {limit} recipients.", limit=limit)
    numbers: dict[str, None] = {}
    rejected: list[dict] = []
    normalized: dict[str, str | InvalidPhoneNumber] = {}  # each distinct entry read once
    duplicates = 0
    for index, raw in enumerate(recipients):
        if not isinstance(raw, str):
            rejected.append(_rejection(index, raw, "A phone number must be a string."))
            continue
        if raw not in normalized:
            try:
                normalized[raw] = normalize_phone_number(raw)
            except InvalidPhoneNumber as exc:
                normalized[raw] = exc
        number = normalized[raw]
        if isinstance(number, InvalidPhoneNumber):
            rejected.append(_rejection(index, raw, number.message))
        elif number in numbers:
            duplicates += 1
        else:
            numbers[number] = None
    return Recipients(list(numbers), rejected, duplicates)


def _rejection(index: int, raw, message: str) -> dict:
    # The entry as sent (as JSON text when not a string), with what neither a jsonb column nor
    # a UTF-8 response can hold (a NUL, half of a surrogate pair) escaped.
    value = (raw if isinstance(raw, str) else json.dumps(raw, default=str))[:64]
    value = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in value)
    return {"index": index, "value": value, "code": "invalid_phone_number", "message": message}


def send_bulk(
    *,
    recipients: Sequence,
    body: str,
    idempotency_key: str | None = None,
    reference: str = "",
    metadata: dict | None = None,
    created_by=None,
) -> BulkSend:
    """Record a bulk send (one SMSLog per accepted recipient, written in bulk) and start its
    fan-out in the workers once the caller's transaction commits.

    Invalid entries are reported in `rejected` and the rest are sent; duplicates are sent
    once. The same idempotency_key returns the first bulk (IdempotencyConflict if the body or
    the recipients differ). Raises InvalidMessageBody, InvalidRecipients (not a list, or no
    valid recipient) or TooManyRecipients before anything is written.
    """
    body = validate_body(body)
    read = read_recipients(recipients)
    if not read.numbers:
        message = "No recipient is a valid phone number." if read.rejected else "The list is empty."
        raise InvalidRecipients(
            message,
            details={"recipients": [r["message"] for r in read.rejected[:20]] or [message]},
            rejected=read.rejected,
        )
    fingerprint = hashlib.sha256("\n".join([body, *read.numbers]).encode()).hexdigest()
    if idempotency_key:
        existing = BulkSend.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return _bulk_replayed(existing, fingerprint)
    try:
        with transaction.atomic():
            bulk = _record_bulk(
                read, body, fingerprint, idempotency_key, reference, metadata or {}, created_by
            )
            transaction.on_commit(lambda: _start_bulk(bulk.id), robust=True)
    except IntegrityError:
        if not idempotency_key:
            raise
        return _bulk_replayed(BulkSend.objects.get(idempotency_key=idempotency_key), fingerprint)
    logger.info(
        "Bulk %s recorded: %d recipients, %d rejected, %d duplicates",
        bulk.id,
        bulk.total,
        len(read.rejected),
        read.duplicates,
    )
    return bulk


def _record_bulk(
    read: Recipients, body, fingerprint, idempotency_key, reference, metadata, created_by
):
    segments = count_segments(body)
    sender = conf.sender()
    now = timezone.now()
    bulk = BulkSend.objects.create(
        body=body,
        sender=sender,
        segments=segments.segments,
        encoding=segments.encoding,
        total=len(read.numbers),
        rejected=read.rejected,
        duplicates=read.duplicates,
        fingerprint=fingerprint,
        idempotency_key=idempotency_key or None,
        reference=reference or "",
        metadata=metadata,
        created_by=created_by if getattr(created_by, "pk", None) else None,
    )
    skip = suppression.skip_reasons(read.numbers)
    template = SMSLog(
        body=body,
        sender=sender,
        reference=reference or "",
        metadata=metadata,
        bulk=bulk,
        segments=segments.segments,
        encoding=segments.encoding,
        next_attempt_at=now,
    )
    insert_rows(
        template,
        ("to", "bulk_index", "status", "error_message"),
        (
            (number, index, SMSStatus.SKIPPED if number in skip else SMSStatus.PENDING,
             skip.get(number, ""))
            for index, number in enumerate(read.numbers)
        ),
    )  # fmt: skip
    return bulk


def _start_bulk(bulk_id) -> None:
    # A lost publish is not lost work: the dispatcher revives the pump of a quiet bulk.
    publishing.publish_bulk_pump(bulk_id)


def _bulk_replayed(existing: BulkSend, fingerprint: str) -> BulkSend:
    if existing.fingerprint != fingerprint:
        raise IdempotencyConflict(
            "This idempotency key was already used for another bulk (body or recipients)."
        )
    return existing


def cancel_bulk(*, bulk_id) -> BulkSend:
    """Stop a bulk: nothing more of it is handed to the provider, by any worker.

    Its pending messages end `canceled` at once; a worker holding some checks the cancel
    before each provider call. Canceling a canceled bulk changes nothing in the database but
    sets the workers' flag again, which Redis may have missed. Raises Http404 for an unknown
    bulk, BulkFinished for a completed one.
    """
    bulk = selectors.bulk_get(bulk_id=bulk_id)
    now = timezone.now()
    with transaction.atomic():
        changed = BulkSend.objects.filter(
            id=bulk.id, state__in=[BulkSend.State.ACCEPTED, BulkSend.State.SENDING]
        ).update(state=BulkSend.State.CANCELED, canceled_at=now, finished_at=now, updated_at=now)
        if changed:
            _cancel_pending_messages(bulk, now=now)
        else:
            bulk.refresh_from_db()
            if bulk.state != BulkSend.State.CANCELED:
                raise BulkFinished("This bulk has already completed.")
    _flag_canceled(bulk)
    if changed:
        logger.info("Bulk %s canceled", bulk.id)
        bulk.refresh_from_db()
    return bulk


def _cancel_pending_messages(bulk: BulkSend, *, now) -> None:
    # Messages a worker holds are left to it: it cancels them before calling the provider.
    ids = list(
        SMSLog.objects.filter(bulk_id=bulk.id, status=SMSStatus.PENDING)
        .select_for_update(skip_locked=True)
        .values_list("id", flat=True)
    )
    SMSLog.objects.filter(id__in=ids, status=SMSStatus.PENDING, lease_owner="").update(
        status=SMSStatus.CANCELED, updated_at=now
    )
    canceled = SMSLog.objects.filter(id__in=ids, status=SMSStatus.CANCELED)
    announce_after_commit((pk, SMSStatus.CANCELED) for pk in canceled.values_list("pk", flat=True))


def _flag_canceled(bulk: BulkSend) -> None:
    """The workers' fast check; without Redis they find the cancel at their next claim."""
    try:
        get_redis().set(bulk.canceled_flag_key, 1, ex=CANCELED_FLAG_TTL)
    except RedisError:
        logger.warning("Bulk %s canceled; its cache flag could not be set", bulk.id)
