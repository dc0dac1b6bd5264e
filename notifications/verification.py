"""Phone verification through Twilio Verify: start (a queued send) and check (synchronous).

Twilio generates, sends and checks the codes; nothing here stores or logs one. Every request
is recorded as a VerificationAttempt (number stored in E.164, shown masked) for abuse review.
Order of defences, cheapest first: number and code format, allowed country, then the Redis
throttles (notifications.throttling), and only then the provider.
"""

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from notifications import conf, publishing, throttling, twilio_client
from notifications.exceptions import (
    CountryNotAllowed,
    InvalidPhoneNumber,
    InvalidVerificationChannel,
    InvalidVerificationCode,
    PermanentProviderError,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    TransientProviderError,
    VerificationProviderError,
)
from notifications.models import VerificationAttempt
from notifications.phone import (
    mask_phone_number,
    mask_phone_numbers_in,
    normalize_phone_number,
    region_of,
)

logger = logging.getLogger(__name__)

Kind = VerificationAttempt.Kind
Outcome = VerificationAttempt.Outcome
CHANNELS = ("sms",)
CODE_FORMAT = re.compile(r"[0-9]{4,10}")
# Twilio's check statuses, normalized; anything else is reported as pending (not valid).
CHECK_STATUSES = {
    "approved": Outcome.APPROVED,
    "pending": Outcome.PENDING,
    "canceled": Outcome.CANCELED,
    "expired": Outcome.EXPIRED,
    "max_attempts_reached": Outcome.MAX_ATTEMPTS_REACHED,
}
NOT_FOUND = "20404"  # no pending verification: expired, approved or canceled
MAX_CHECKS = "60202"


@dataclass(frozen=True)
class VerificationResult:
    """A check's outcome: `status` is approved, pending, expired, max_attempts_reached or
    canceled; `valid` is true only when approved."""

    status: str
    valid: bool
    phone_number: str
    attempt: VerificationAttempt


def verification_start(
    *, phone_number: str, channel: str = "sms", client_ip: str | None = None
) -> VerificationAttempt:
    """Record a verification request and queue the send once the caller's transaction commits.

    Returns the attempt (outcome `queued`; the worker moves it to `pending` when Twilio sent
    the code, or to `failed` / `provider_unavailable`). The send task expires after
    SMS_VERIFY_TASK_EXPIRES seconds, so a code is never delivered late. A broker that cannot
    take the task does not undo the recorded attempt (see publish_start).
    Raises InvalidPhoneNumber, InvalidVerificationChannel, CountryNotAllowed or RateLimited,
    each before the provider is asked (the latter two are recorded).
    """
    number = _normalize(phone_number)
    if channel not in CHANNELS:
        raise InvalidVerificationChannel(f"Codes can only be sent by: {', '.join(CHANNELS)}.")
    _guard(
        kind=Kind.START,
        number=number,
        channel=channel,
        client_ip=client_ip,
        limits=throttling.start_limits(phone_number=number, client_ip=client_ip),
    )
    attempt = VerificationAttempt(
        kind=Kind.START,
        phone_number=number,
        channel=channel,
        outcome=Outcome.QUEUED,
        client_ip=client_ip,
        task_id=str(uuid.uuid4()),
    )
    with transaction.atomic():
        attempt.save(force_insert=True)
        logger.info("Verification %s to %s queued", attempt.id, attempt.masked_phone_number)
        # Not functools.partial: Django's robust on_commit logs a failure with the callback's
        # __qualname__, which a partial lacks (the request would then answer 500).
        transaction.on_commit(lambda: publish_start(attempt.id, attempt.task_id), robust=True)
    return attempt


def publish_start(attempt_id, task_id: str) -> bool:
    """Queue the send; when the broker cannot take it, the attempt stays `queued` until
    abandon_stalled_verifications ends it `failed` (task_lost) and the user asks again."""
    return publishing.publish_verification_start(
        attempt_id, task_id, expires=float(conf.get("SMS_VERIFY_TASK_EXPIRES"))
    )


def verification_send(*, attempt_id, attempt: int, may_retry: bool) -> VerificationAttempt | None:
    """The task's work: claim the attempt, then ask Twilio to send the code.

    Idempotent: the claim is a conditional UPDATE (outcome queued, attempts == attempt), so a
    duplicated or redelivered task returns None without calling Twilio. Raises
    TransientProviderError when the call failed transiently and may_retry (the attempt is
    released for the retry); permanent Verify errors (60200, 60202, 60203, 60212, 60410,
    60605, ...) are recorded on the attempt and never retried.
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
        result = twilio_client.start_verification(to=row.phone_number, channel=row.channel)
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
        outcome = Outcome.MAX_ATTEMPTS_REACHED if exc.code == MAX_CHECKS else Outcome.FAILED
        _record(row, outcome, error=exc)
        logger.warning(
            "Verification %s to %s refused by the provider: %s",
            row.id,
            row.masked_phone_number,
            exc.code,
        )
        return row
    _record(row, Outcome.PENDING, sid=result["sid"])
    logger.info("Verification %s to %s sent (%s)", row.id, row.masked_phone_number, result["sid"])
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


def verification_check(
    *, phone_number: str, code: str, client_ip: str | None = None
) -> VerificationResult:
    """Check a code with Twilio, synchronously (read timeout SMS_VERIFY_CHECK_TIMEOUT).

    Returns the normalized result: a wrong code is `pending`, no pending verification (it
    expired, or was already approved) is `expired`, too many checks `max_attempts_reached`.
    Raises InvalidPhoneNumber, InvalidVerificationCode, CountryNotAllowed or RateLimited
    before Twilio is asked; ProviderUnavailable when Twilio failed transiently;
    VerificationProviderError when it refused the request otherwise. Every call that
    reaches the throttles is recorded; the code never is.
    """
    number = _normalize(phone_number)
    if not isinstance(code, str) or not CODE_FORMAT.fullmatch(code):
        raise InvalidVerificationCode("The code must be 4 to 10 digits.")
    _guard(
        kind=Kind.CHECK,
        number=number,
        channel="sms",
        client_ip=client_ip,
        limits=throttling.check_limits(phone_number=number),
    )
    attempt = VerificationAttempt(
        kind=Kind.CHECK, phone_number=number, client_ip=client_ip, attempts=1
    )
    try:
        result = twilio_client.check_verification(
            to=number, code=code, timeout=float(conf.get("SMS_VERIFY_CHECK_TIMEOUT"))
        )
    except TransientProviderError as exc:
        _save(attempt, Outcome.PROVIDER_UNAVAILABLE, error=exc)
        logger.warning(
            "Verification check for %s: provider unavailable (%s)",
            attempt.masked_phone_number,
            exc.code,
        )
        retry_after = exc.retry_after
        raise ProviderUnavailable(
            "The verification provider is unavailable; try again shortly.",
            retry_after=int(retry_after) if retry_after else None,
        ) from exc
    except PermanentProviderError as exc:
        if exc.code == NOT_FOUND or exc.http_status == 404:
            outcome = Outcome.EXPIRED
        elif exc.code == MAX_CHECKS:
            outcome = Outcome.MAX_ATTEMPTS_REACHED
        else:
            _save(attempt, Outcome.FAILED, error=exc)
            logger.warning(
                "Verification check for %s refused: %s", attempt.masked_phone_number, exc.code
            )
            raise VerificationProviderError("The verification provider refused the check.") from exc
        _save(attempt, outcome, error=exc)
    else:
        outcome = CHECK_STATUSES.get(result["status"], Outcome.PENDING)
        _save(attempt, outcome, sid=result["sid"] or "")
    logger.info("Verification check for %s: %s", attempt.masked_phone_number, outcome)
    return VerificationResult(
        status=str(outcome),
        valid=outcome == Outcome.APPROVED,
        phone_number=number,
        attempt=attempt,
    )


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


def _normalize(phone_number: str) -> str:
    try:
        return normalize_phone_number(phone_number)
    except InvalidPhoneNumber as exc:
        raise InvalidPhoneNumber(exc.message, details={"phone_number": [exc.message]}) from exc


def _guard(*, kind: str, number: str, channel: str, client_ip: str | None, limits: list) -> None:
    """Refuse (and record) a number outside the allowed countries, then apply the throttles."""
    allowed = {c.upper() for c in conf.get("SMS_VERIFY_ALLOWED_COUNTRIES")}
    fields = {"kind": kind, "phone_number": number, "channel": channel, "client_ip": client_ip}
    if region_of(number) not in allowed:
        VerificationAttempt.objects.create(outcome=Outcome.COUNTRY_NOT_ALLOWED, **fields)
        logger.warning(
            "Verification %s for %s refused: country not allowed", kind, mask_phone_number(number)
        )
        raise CountryNotAllowed("Verification codes are not sent to this country.")
    try:
        throttling.hit(limits)
    except RateLimited as exc:
        VerificationAttempt.objects.create(outcome=Outcome.THROTTLED, throttle=exc.limit, **fields)
        logger.info(
            "Verification %s for %s throttled (%s, retry after %ss)",
            kind,
            mask_phone_number(number),
            exc.limit,
            exc.retry_after,
        )
        raise


def _record(row: VerificationAttempt, outcome: str, *, sid: str = "", error=None) -> None:
    fields = {"outcome": outcome, "updated_at": timezone.now(), **_error_fields(error)}
    if sid:
        fields["verification_sid"] = sid
    VerificationAttempt.objects.filter(id=row.id).update(**fields)
    row.refresh_from_db()


def _save(attempt: VerificationAttempt, outcome: str, *, sid: str = "", error=None) -> None:
    attempt.outcome, attempt.verification_sid = outcome, sid
    for name, value in _error_fields(error).items():
        setattr(attempt, name, value)
    attempt.save(force_insert=True)


def _error_fields(error: ProviderError | None) -> dict:
    if error is None:
        return {"error_code": "", "error_message": ""}
    # Provider messages may quote the number ("Invalid 'To' Phone Number: +91..."): masked.
    message = mask_phone_numbers_in(error.message or "")
    return {"error_code": error.code[:32], "error_message": message[:255]}
