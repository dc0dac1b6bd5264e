"""The request side of phone verification: start (recorded, then a queued send) and check
(synchronous), both through the configured SMS backend (Twilio Verify, or local codes with the
console and locmem backends).

The backend generates, sends and checks the codes; nothing here stores or logs one. Every request
is recorded as a VerificationAttempt (number stored in E.164, shown masked) for abuse review.
Order of defences, cheapest first: number and code format, allowed country, then the Redis
throttles (notifications.throttling), and only then the provider. The send itself is the worker
side's (notifications.verification_worker).
"""

import logging
import re
import uuid
from dataclasses import dataclass

from django.db import transaction

from notifications import conf, publishing, throttling
from notifications.backends import MAX_CHECK_ATTEMPTS, NO_PENDING_VERIFICATION, get_backend
from notifications.exceptions import (
    CountryNotAllowed,
    InvalidPhoneNumber,
    InvalidVerificationChannel,
    InvalidVerificationCode,
    PermanentProviderError,
    ProviderUnavailable,
    RateLimited,
    SMSConfigurationError,
    TransientProviderError,
    VerificationProviderError,
)
from notifications.models import VerificationAttempt
from notifications.phone import mask_phone_number, normalize_phone_number, region_of

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

    Returns the attempt (outcome `queued`; the worker moves it to `pending` when the backend
    sent the code, or to `failed` (the provider's code, or `not_configured`) or
    `provider_unavailable`). The send task expires after SMS_VERIFY_TASK_EXPIRES seconds, so a
    code is never delivered late. A broker that cannot take the task does not undo the
    recorded attempt (see publish_start).
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


def verification_check(
    *, phone_number: str, code: str, client_ip: str | None = None
) -> VerificationResult:
    """Check a code with the backend, synchronously (read timeout SMS_VERIFY_CHECK_TIMEOUT).

    Returns the normalized result: a wrong code is `pending`, no pending verification (it
    expired, or was already approved) is `expired`, too many checks `max_attempts_reached`.
    Raises InvalidPhoneNumber, InvalidVerificationCode, CountryNotAllowed or RateLimited
    before the provider is asked; ProviderUnavailable when it failed transiently or the
    backend lacks a verification setting (recorded `not_configured`);
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
        result = get_backend().check_verification(
            to=number, code=code, timeout=float(conf.get("SMS_VERIFY_CHECK_TIMEOUT"))
        )
    except SMSConfigurationError as exc:
        attempt.error_code, attempt.error_message = "not_configured", str(exc)[:255]
        _save(attempt, Outcome.PROVIDER_UNAVAILABLE)
        logger.error("Verification check for %s: %s", attempt.masked_phone_number, exc)
        raise ProviderUnavailable("Phone verification is not configured on this server.") from exc
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
        if exc.code == NO_PENDING_VERIFICATION or exc.http_status == 404:
            outcome = Outcome.EXPIRED
        elif exc.code == MAX_CHECK_ATTEMPTS:
            outcome = Outcome.MAX_ATTEMPTS_REACHED
        else:
            _save(attempt, Outcome.FAILED, error=exc)
            logger.warning(
                "Verification check for %s refused: %s", attempt.masked_phone_number, exc.code
            )
            raise VerificationProviderError("The verification provider refused the check.") from exc
        _save(attempt, outcome, error=exc)
    else:
        outcome = CHECK_STATUSES.get(result.status, Outcome.PENDING)
        _save(attempt, outcome, sid=result.sid)
    logger.info("Verification check for %s: %s", attempt.masked_phone_number, outcome)
    return VerificationResult(
        status=str(outcome),
        valid=outcome == Outcome.APPROVED,
        phone_number=number,
        attempt=attempt,
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


def _save(attempt: VerificationAttempt, outcome: str, *, sid: str = "", error=None) -> None:
    attempt.outcome, attempt.verification_sid = outcome, sid
    if error is not None:
        for name, value in VerificationAttempt.error_fields(error).items():
            setattr(attempt, name, value)
    attempt.save(force_insert=True)
