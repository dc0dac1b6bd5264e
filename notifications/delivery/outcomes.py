"""What a delivery run records for each message it called the provider for, forward only."""

import logging
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from notifications import conf, suppression
from notifications.delivery.calls import Call, outcome_unknowable
from notifications.exceptions import PermanentProviderError, ProviderError, TransientProviderError
from notifications.models import SMSLog, WebhookEvent
from notifications.retry import retry_delay
from notifications.status import SMSStatus
from notifications.transitions import (
    Acceptance,
    accept_held,
    replay_unmatched_callbacks,
    transition,
)

logger = logging.getLogger(__name__)


def record_acceptances(calls: list[Call], owner: str) -> dict[str, int]:
    """The provider's answers for the calls it took (one UPDATE): SID, status, its error when
    the message already failed (an earlier attempt's transient error is cleared). A 21610
    (opted out) in an answer suppresses the number, as the same code raised as an error does.
    Counts by outcome: accepted, or lease_lost when this run's lease ran out meanwhile."""
    for call in calls:
        if call.result.error_code == suppression.OPTED_OUT_ERROR:
            suppression.suppress(call.message.to, reason=call.result.error_code)
    recorded = accept_held(
        [
            Acceptance(
                message_id=call.message.id,
                status=call.result.status,
                provider_sid=call.result.provider_sid,
                payload=call.result.raw,
                error_code=call.result.error_code,
                error_message=call.result.error_message,
            )
            for call in calls
        ],
        held_by=owner,
    )
    counts = {"accepted": 0, "lease_lost": 0}
    for call in calls:
        message, result = call.message, call.result
        if message.id not in recorded:
            logger.error(
                "SMS %s: accepted by the provider as %s after this worker's lease ran out",
                message.id,
                result.provider_sid,
            )
            counts["lease_lost"] += 1
            continue
        counts["accepted"] += 1
        logger.info(
            "SMS %s to %s accepted by the provider as %s (%s%s)",
            message.id,
            message.masked_to,
            result.provider_sid,
            result.status,
            f" {result.error_code}" if result.error_code else "",
        )
    return {outcome: n for outcome, n in counts.items() if n}


def record(call: Call, owner: str) -> str:
    """What became of a call the provider did not take: canceled, failed or to be retried."""
    message = call.message
    if call.canceled:
        transition(message.id, SMSStatus.CANCELED, **released())
        return "canceled"
    if call.fenced:
        # Never called: given back, due now, for the run that can hold a lease.
        now = timezone.now()
        SMSLog.objects.filter(id=message.id, lease_owner=owner).update(
            attempts=F("attempts") - 1, next_attempt_at=now, updated_at=now, **released()
        )
        message.next_attempt_at = now
        logger.warning("SMS %s not sent: this run could not renew its lease", message.id)
        return "fenced"
    if isinstance(call.error, PermanentProviderError):
        _record_failure(message, call.error, "permanent error")
        return "failed"
    if isinstance(call.error, TransientProviderError):
        if message.attempts + 1 > int(conf.get("SMS_RETRY_ATTEMPTS")):
            _record_failure(message, call.error, "retries exhausted")
            return "failed"
        return _schedule_retry(call, owner)
    if outcome_unknowable(call):
        transition(
            message.id,
            SMSStatus.FAILED,
            error_code="worker_lost",
            error_message="The worker stopped during the provider call; not resent.",
            **released(),
        )
        return "failed"
    raise AssertionError(f"no outcome for SMS {message.id}")  # pragma: no cover


def _record_failure(message: SMSLog, exc: ProviderError, why: str) -> None:
    if exc.code == suppression.OPTED_OUT_ERROR:
        suppression.suppress(message.to, reason=exc.code)
    transition(
        message.id,
        SMSStatus.FAILED,
        error_code=exc.code,
        error_message=exc.message[:1000],
        provider_payload=exc.raw,
        accepted_at=timezone.now(),
        **released(),
    )
    logger.warning(
        "SMS %s to %s failed (%s): %s %s", message.id, message.masked_to, why, exc.code, exc.message
    )


def _schedule_retry(call: Call, owner: str) -> str:
    message, exc = call.message, call.error
    delay = retry_delay(message.attempts, retry_after=exc.retry_after)
    next_attempt_at = timezone.now() + timedelta(seconds=delay)
    SMSLog.objects.filter(id=message.id, lease_owner=owner).update(
        error_code=exc.code,
        error_message=exc.message[:1000],
        next_attempt_at=next_attempt_at,
        updated_at=timezone.now(),
        **released(),
    )
    message.next_attempt_at = next_attempt_at
    logger.warning(
        "SMS %s to %s attempt %d failed transiently (%s %s); retry in %.1f s",
        message.id,
        message.masked_to,
        message.attempts + 1,
        exc.code,
        exc.message,
        delay,
    )
    return "retrying"


def released() -> dict:
    """Fields that give a message back: nobody holds it, no call is in flight."""
    return {"lease_owner": "", "lease_expires_at": None, "call_started_at": None}


def replay_early_callbacks(calls: list[Call]) -> None:
    """Callbacks that arrived before this run recorded their SID (stored as `unknown`)."""
    sids = {c.result.provider_sid: c.message.id for c in calls if c.result is not None}
    if not sids:
        return
    early = WebhookEvent.objects.filter(
        kind=WebhookEvent.Kind.STATUS,
        outcome=WebhookEvent.Outcome.UNKNOWN,
        provider_sid__in=list(sids),
    ).values_list("provider_sid", flat=True)
    for sid in set(early):
        replay_unmatched_callbacks(message_id=sids[sid], provider_sid=sid)
