"""The worker side of phone verification: send a queued start's code through the backend, and
close the starts that can no longer send one in time.

Called by notifications.tasks only; the request side (notifications.verification) records and
publishes. The code itself is the backend's (Twilio Verify, or local_verify for the console and
locmem backends): nothing here sees one.
"""

import logging
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from notifications import conf
from notifications.backends import MAX_CHECK_ATTEMPTS, get_backend
from notifications.exceptions import (
    PermanentProviderError,
    SMSConfigurationError,
    TransientProviderError,
)
from notifications.models import VerificationAttempt

logger = logging.getLogger(__name__)

Kind = VerificationAttempt.Kind
Outcome = VerificationAttempt.Outcome


def verification_send(*, attempt_id, attempt: int, may_retry: bool) -> VerificationAttempt | None:
    """The task's work: claim the attempt, then ask the backend to send the code.

    Idempotent: the claim is a conditional UPDATE (outcome queued, attempts == attempt), so a
    duplicated or redelivered task returns None without calling the provider. Raises
    TransientProviderError when the call failed transiently and may_retry (the attempt is
    released for the retry); permanent Verify errors (60200, 60202, 60203, 60212, 60410,
    60605, ...) are recorded on the attempt and never retried, and so is a backend that
    lacks a verification setting (`not_configured`, naming it).
    """
    claimed = VerificationAttempt.objects.filter(
        id=attempt_id, kind=Kind.START, outcome=Outcome.QUEUED, attempts=attempt
    ).update(outcome=Outcome.SENDING, attempts=F("attempts") + 1, updated_at=timezone.now())
    if not claimed:
        logger.info("Verification %s attempt %d: already claimed", attempt_id, attempt)
        return None
    row = VerificationAttempt.objects.get(id=attempt_id)
    if not conf.get("SMS_ENABLED"):
        _fail_unsent(
            VerificationAttempt.objects.filter(id=row.id),
            code="sms_disabled",
            message="SMS_ENABLED is false: no code sent.",
        )
        logger.info(
            "Verification %s to %s not sent: SMS_ENABLED is false", row.id, row.masked_phone_number
        )
        row.refresh_from_db()
        return row
    try:
        result = get_backend().start_verification(to=row.phone_number, channel=row.channel)
    except SMSConfigurationError as exc:
        # No retry can fix a setting: said once, now, rather than as a task lost much later.
        _fail_unsent(
            VerificationAttempt.objects.filter(id=row.id),
            code="not_configured",
            message=str(exc)[:255],
        )
        logger.error("Verification %s to %s not sent: %s", row.id, row.masked_phone_number, exc)
        row.refresh_from_db()
        return row
    except TransientProviderError as exc:
        outcome = Outcome.QUEUED if may_retry else Outcome.PROVIDER_UNAVAILABLE
        _record(row, outcome, error=exc)
        logger.warning(
            "Verification %s to %s failed transiently (%s)%s",
            row.id,
            row.masked_phone_number,
            exc.code,
            "; will retry" if may_retry else "; giving up",
        )
        if may_retry:
            raise
        return row
    except PermanentProviderError as exc:
        failed = Outcome.MAX_ATTEMPTS_REACHED if exc.code == MAX_CHECK_ATTEMPTS else Outcome.FAILED
        _record(row, failed, error=exc)
        logger.warning(
            "Verification %s to %s refused by the provider: %s",
            row.id,
            row.masked_phone_number,
            exc.code,
        )
        return row
    _record(row, Outcome.PENDING, sid=result.sid)
    logger.info("Verification %s to %s sent (%s)", row.id, row.masked_phone_number, result.sid)
    return row


def verification_expired(*, task_id: str) -> bool:
    """Record that a start's task expired unsent (the worker revoked it): whether a row moved."""
    changed = _fail_unsent(
        VerificationAttempt.objects.filter(
            task_id=task_id, kind=Kind.START, outcome=Outcome.QUEUED
        ),
        code="task_expired",
        message="The send waited longer than SMS_VERIFY_TASK_EXPIRES: not sent.",
    )
    if changed:
        logger.warning("Verification task %s expired before it ran: no code sent", task_id)
    return bool(changed)


def verification_abandon_stalled() -> int:
    """Close starts that can no longer send a code in time: how many.

    A start still `queued` or `sending` after SMS_VERIFY_TASK_EXPIRES lost its task (the
    broker was down at commit, or the worker died during the call); its code would now be
    stale, so it ends `failed` (`task_lost`) and the user asks again.
    """
    cutoff = timezone.now() - timedelta(seconds=conf.get("SMS_VERIFY_TASK_EXPIRES"))
    changed = _fail_unsent(
        VerificationAttempt.objects.filter(
            kind=Kind.START, outcome__in=[Outcome.QUEUED, Outcome.SENDING], created_at__lt=cutoff
        ),
        code="task_lost",
        message="No worker sent the code in time.",
    )
    if changed:
        logger.warning("%d verification starts lost their task; marked failed", changed)
    return changed


def verification_attempts_purge(*, older_than_days: int | None = None) -> int:
    """Delete audit rows past the retention (SMS_VERIFICATION_RETENTION_DAYS); how many."""
    days = older_than_days
    if days is None:
        days = conf.get("SMS_VERIFICATION_RETENTION_DAYS")
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = VerificationAttempt.objects.filter(created_at__lt=cutoff).delete()
    if deleted:
        logger.info("Purged %d verification attempts older than %d days", deleted, days)
    return deleted


def _fail_unsent(starts, *, code: str, message: str) -> int:
    """End these starts `failed` with why no code went out; how many rows changed."""
    return starts.update(
        outcome=Outcome.FAILED, error_code=code, error_message=message, updated_at=timezone.now()
    )


def _record(row: VerificationAttempt, outcome: str, *, sid: str = "", error=None) -> None:
    fields = {
        "outcome": outcome,
        "updated_at": timezone.now(),
        **VerificationAttempt.error_fields(error),
    }
    if sid:
        fields["verification_sid"] = sid
    VerificationAttempt.objects.filter(id=row.id).update(**fields)
    row.refresh_from_db()
