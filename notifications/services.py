"""Writes of SMS logs: record and publish after commit, claim and deliver, move statuses forward.

Nothing here calls the provider inside a transaction, and every status change is a conditional
UPDATE that only succeeds from a status the transition table allows.
"""

import logging
import uuid
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError

from notifications import conf, suppression, tasks
from notifications.backends import OutboundSMS, SendResult, get_backend
from notifications.exceptions import (
    IdempotencyConflict,
    InvalidMessageBody,
    PermanentProviderError,
    ProviderError,
    TransientProviderError,
)
from notifications.models import SMSLog
from notifications.phone import normalize_phone_number
from notifications.segments import count_segments
from notifications.status import SMSStatus
from notifications.transitions import replay_unmatched_callbacks, transition

logger = logging.getLogger(__name__)


def send_sms(
    *, to: str, body: str, idempotency_key: str | None = None, publish: bool = True
) -> SMSLog:
    """Record a message and publish its delivery task once the caller's transaction commits.

    Returns the SMSLog: `pending`, or `skipped` (nothing published) when SMS_ENABLED is false
    or the recipient opted out. The same idempotency_key never creates a second message: the
    first one is returned (and nothing is published again); reusing a key for another
    recipient or body raises IdempotencyConflict. A broker that cannot take the task does not
    undo the recorded message (see publish_delivery). With publish=False the caller delivers
    it itself (deliver_sms_message), as `test_sms` does.
    Raises InvalidPhoneNumber or InvalidMessageBody before anything is written.
    """
    number = normalize_phone_number(to)
    body = validate_body(body)
    if idempotency_key:
        existing = SMSLog.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return _replayed(existing, number, body)

    segments = count_segments(body)
    skip_reason = _skip_reason(number)
    message = SMSLog(
        to=number,
        body=body,
        sender=conf.sender(),
        idempotency_key=idempotency_key or None,
        segments=segments.segments,
        encoding=segments.encoding,
        task_id="" if skip_reason else str(uuid.uuid4()),
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
        # Not functools.partial: Django's robust on_commit logs a failure with the callback's
        # __qualname__, which a partial lacks (the request would then answer 500).
        transaction.on_commit(lambda: publish_delivery(message.id, message.task_id), robust=True)
    return message


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


def publish_delivery(message_id, task_id: str, retries: int = 0) -> bool:
    """Put the delivery task on the broker; the task carries the id only.

    Whether the broker took it. When it cannot (down, unreachable: Celery's publish retries
    and the broker timeouts of config/settings/base.py bound the wait), one warning is logged
    and the message stays `pending` for requeue_stalled_messages to publish again.
    """
    try:
        tasks.deliver_sms.apply_async(
            args=[str(message_id)],
            task_id=task_id,
            retries=retries,
            argsrepr=f"('{message_id}',)",
        )
    except OperationalError as exc:
        logger.warning(
            "SMS %s: the broker did not take its delivery task (%s); "
            "requeue_stalled_messages will publish it again",
            message_id,
            exc,
        )
        return False
    return True


def deliver_sms_message(*, message_id, attempt: int, may_retry: bool) -> SMSLog | None:
    """Claim the message for this attempt, then hand it to the backend outside any transaction.

    Idempotent: the claim is a conditional UPDATE on (status pending, attempts == attempt), so
    a redelivered or duplicated task finds it claimed and returns None without sending.
    Raises TransientProviderError when the attempt failed transiently and may_retry; when it
    may not, the message ends `failed`. Permanent provider errors end `failed` at once.
    """
    now = timezone.now()
    claimed = SMSLog.objects.filter(
        id=message_id, status=SMSStatus.PENDING, attempts=attempt
    ).update(attempts=F("attempts") + 1, claimed_at=now, updated_at=now)
    if not claimed:
        logger.info("SMS %s attempt %d: already claimed or no longer pending", message_id, attempt)
        return None
    message = SMSLog.objects.get(id=message_id)
    skip_reason = _skip_reason(message.to)
    if skip_reason:
        logger.info("SMS %s to %s skipped: %s", message.id, message.masked_to, skip_reason)
        transition(message.id, SMSStatus.SKIPPED, error_message=skip_reason, claimed_at=None)
        message.refresh_from_db()
        return message

    outbound = _outbound(message)
    try:
        # A retry first asks whether an earlier attempt got through after all.
        result = _provider_copy(outbound, message)[1] if attempt else None
        if result is None:
            result = get_backend().send(outbound)
    except PermanentProviderError as exc:
        _record_failure(message, exc, "permanent error")
    except TransientProviderError as exc:
        if not may_retry:
            _record_failure(message, exc, "retries exhausted")
            return message
        # Released for the retry: `claimed_at` cleared means no call is in flight.
        SMSLog.objects.filter(id=message.id, status=SMSStatus.PENDING).update(
            error_code=exc.code,
            error_message=exc.message[:1000],
            claimed_at=None,
            updated_at=timezone.now(),
        )
        logger.warning(
            "SMS %s to %s attempt %d failed transiently (%s %s); will retry",
            message.id,
            message.masked_to,
            attempt + 1,
            exc.code,
            exc.message,
        )
        raise
    else:
        _record_acceptance(message, result)
    message.refresh_from_db()
    return message


def _outbound(message: SMSLog) -> OutboundSMS:
    return OutboundSMS(
        to=message.to,
        body=message.body,
        sender=message.sender,
        status_callback=conf.status_callback_url(),
        reference=str(message.id),
    )


def _provider_copy(outbound: OutboundSMS, message: SMSLog) -> tuple[bool, SendResult | None]:
    """(whether the backend can tell, the provider's copy of this message if it has one).

    A read timeout, a dropped connection or a 500 can come after the provider accepted the
    message, and a worker can die during the call: the provider's own list tells. A
    candidate already recorded for another row is not ours. Raises ProviderError subclasses.
    """
    since = message.created_at - timedelta(seconds=conf.get("SMS_PROVIDER_CLOCK_SKEW"))
    candidates = get_backend().find_sent(outbound, since=since)
    if candidates is None:
        return False, None
    for candidate in candidates:
        if not SMSLog.objects.filter(provider_sid=candidate.provider_sid).exists():
            logger.warning(
                "SMS %s to %s: an earlier attempt reached the provider (%s); not sending again",
                message.id,
                message.masked_to,
                candidate.provider_sid,
            )
            return True, candidate
    return True, None


def _skip_reason(number: str) -> str:
    """Why a message to `number` must not reach the provider ("" when it may)."""
    if not conf.get("SMS_ENABLED"):
        return "SMS_ENABLED is false: not sent."
    if suppression.is_suppressed(number):
        return "The recipient opted out (STOP): not sent."
    return ""


def _record_acceptance(message: SMSLog, result: SendResult) -> None:
    """Record the provider's SID and status, and its error when the message already failed.

    An earlier attempt's transient error is cleared. A 21610 (opted out) in the answer
    suppresses the number, as the same code raised as an error does.
    """
    if result.error_code == suppression.OPTED_OUT_ERROR:
        suppression.suppress(message.to, reason=result.error_code)
    with transaction.atomic():
        SMSLog.objects.filter(id=message.id).update(
            provider_sid=result.provider_sid,
            provider_payload=result.raw,
            error_code=result.error_code,
            error_message=result.error_message[:1000],
            claimed_at=None,
            updated_at=timezone.now(),
        )
        transition(message.id, result.status)
        replay_unmatched_callbacks(message_id=message.id, provider_sid=result.provider_sid)
    logger.info(
        "SMS %s to %s accepted by the provider as %s (%s%s)",
        message.id,
        message.masked_to,
        result.provider_sid,
        result.status,
        f" {result.error_code}" if result.error_code else "",
    )


def _record_failure(message: SMSLog, exc: ProviderError, why: str) -> None:
    if exc.code == suppression.OPTED_OUT_ERROR:
        suppression.suppress(message.to, reason=exc.code)
    transition(
        message.id,
        SMSStatus.FAILED,
        error_code=exc.code,
        error_message=exc.message[:1000],
        provider_payload=exc.raw,
        claimed_at=None,
    )
    logger.warning(
        "SMS %s to %s failed (%s): %s %s", message.id, message.masked_to, why, exc.code, exc.message
    )


def requeue_stalled_messages(*, limit: int = 1000) -> dict[str, int]:
    """Recover `pending` messages that no task will ever pick up again; counts by outcome.

    Not claimed (claimed_at empty) and idle for SMS_STALLED_AFTER seconds: the publish was lost
    (broker down at commit, broker restarted): published again for the same attempt, which
    the claim makes safe. Claimed and idle that long: a worker died during the provider call;
    see _resolve_lost_claim. What the broker does not take now counts as `unresolved`.
    """
    cutoff = timezone.now() - timedelta(seconds=conf.get("SMS_STALLED_AFTER"))
    stalled = SMSLog.objects.filter(status=SMSStatus.PENDING, updated_at__lt=cutoff)
    counts = dict.fromkeys(("republished", "adopted", "failed", "unresolved"), 0)
    for message_id, attempts, task_id in stalled.filter(claimed_at__isnull=True).values_list(
        "id", "attempts", "task_id"
    )[:limit]:
        published = publish_delivery(message_id, task_id or str(uuid.uuid4()), retries=attempts)
        counts["republished" if published else "unresolved"] += 1
    for message in stalled.filter(claimed_at__isnull=False)[:limit]:
        counts[_resolve_lost_claim(message)] += 1
    if any(counts.values()):
        logger.warning("Stalled SMS recovered: %s", counts)
    return counts


def _resolve_lost_claim(message: SMSLog) -> str:
    """Ask the provider whether the dead worker's call got through: adopt it, or send again.

    A backend that cannot tell leaves it `failed` (worker_lost) rather than risk a second
    send; an unreachable provider leaves it for the next sweep.
    """
    try:
        can_tell, copy = _provider_copy(_outbound(message), message)
    except ProviderError:
        return "unresolved"
    if copy is not None:
        _record_acceptance(message, copy)
        return "adopted"
    if not can_tell:
        transition(
            message.id,
            SMSStatus.FAILED,
            error_code="worker_lost",
            error_message="The worker stopped during the provider call; not resent.",
        )
        return "failed"
    released = SMSLog.objects.filter(
        id=message.id, status=SMSStatus.PENDING, claimed_at=message.claimed_at
    ).update(claimed_at=None, updated_at=timezone.now())
    if not released:
        return "unresolved"
    # Released, not published: the next sweep publishes it like any other lost task.
    published = publish_delivery(message.id, str(uuid.uuid4()), retries=message.attempts)
    return "republished" if published else "unresolved"
