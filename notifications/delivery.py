"""The worker side of delivery: claim messages with a lease, pace them, send, record outcomes.

One engine for single and bulk messages, run by the delivery tasks on a list of ids:

1. Claim: one conditional UPDATE takes the due, pending messages nobody holds (or whose
   holder's lease ran out) for this run: `lease_owner`, `lease_expires_at`. How the task got
   here (first publish, a deferral, the dispatcher, a redelivery) does not matter.
2. Pace: each message reserves a slot of its sender's shared rate (notifications.ratelimit,
   charged by segment) at most SMS_PACING_HORIZON seconds ahead. A message that would wait
   longer is released and deferred (`next_attempt_at`): no provider call, no attempt counted.
3. Send: `attempts` is counted and `call_started_at` set before the provider call, so that a
   worker dying during the call leaves a mark; a message with an earlier attempt first asks
   the provider whether that attempt got through (never a second send). The calls of a run go
   out concurrently from a thread pool, each at its slot.
4. Record: every outcome of the run in one transaction, forward-only. Transient failures are
   scheduled again (`next_attempt_at`, backoff) until SMS_RETRY_ATTEMPTS retries are used.

What is deferred is published again with a countdown when it is due within
SMS_DEFER_COUNTDOWN_MAX seconds (far below the broker's visibility timeout); later ones stay in
the database, where notifications.recovery's dispatcher publishes them when due.
"""

import logging
import os
import socket
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from redis.exceptions import RedisError

from notifications import conf, publishing, ratelimit, suppression
from notifications.backends import OutboundSMS, SendResult, get_backend
from notifications.exceptions import PermanentProviderError, ProviderError, TransientProviderError
from notifications.models import BulkSend, SMSLog, WebhookEvent, canceled_flag_key
from notifications.retry import retry_delay
from notifications.status import SMSStatus
from notifications.transitions import replay_unmatched_callbacks, transition

logger = logging.getLogger(__name__)

# A task may arrive this early for a message's next_attempt_at (clocks of hosts differ a little).
CLOCK_TOLERANCE = timedelta(seconds=1)
# How long the delivery waits when the rate limiter cannot be asked (Redis unreachable).
LIMITER_DOWN_DELAY = 5.0


@dataclass
class Call:
    """One message of a run on its way to the provider, and what came back."""

    message: SMSLog
    slot: float  # time.monotonic() at which its rate slot begins
    result: SendResult | None = None
    error: ProviderError | None = None
    candidates: list[SendResult] | None = None  # the provider's copies, for a retried message
    looked_up: bool = False  # whether the provider was asked for its copies
    canceled: bool = False


def deliver_messages(*, message_ids: Sequence, bulk: bool = False) -> dict[str, int]:
    """Deliver what can go now of these messages; counts by what happened to them.

    Idempotent: a message another run holds, or that is no longer pending or not yet due, is
    left alone. `bulk` says which queue deferred messages go back to.
    """
    owner = _new_owner()
    messages = _claim(message_ids, owner)
    counts: dict[str, int] = defaultdict(int)
    if not messages:
        return dict(counts)
    messages = _drop_unsendable(messages, counts)
    calls, deferred = _pace(messages)
    if deferred:
        counts["deferred"] += len(deferred)
    _start_attempts(calls, owner)
    _call_provider(calls)
    retrying = []
    with transaction.atomic():
        for call in calls:
            outcome = _record(call, owner)
            counts[outcome] += 1
            if outcome == "retrying":
                retrying.append((call.message.id, call.message.next_attempt_at))
        _replay_early_callbacks(calls)
    _defer(deferred, owner, bulk=bulk)
    _publish_when_due(retrying, bulk)
    _finish_bulks({m.bulk_id for m in messages if m.bulk_id})
    return dict(counts)


def _new_owner() -> str:
    """Who holds a lease: host and process (for people), and a unique id for this run."""
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{uuid.uuid4().hex[:16]}"


def _claim(message_ids: Sequence, owner: str) -> list[SMSLog]:
    """Take the due, pending messages that nobody holds, with a lease of SMS_LEASE_SECONDS."""
    now = timezone.now()
    lease = timedelta(seconds=float(conf.get("SMS_LEASE_SECONDS")))
    claimed = (
        SMSLog.objects.filter(
            id__in=list(message_ids),
            status=SMSStatus.PENDING,
            next_attempt_at__lte=now + CLOCK_TOLERANCE,
        )
        .filter(Q(lease_owner="") | Q(lease_expires_at__lt=now))
        .update(lease_owner=owner, lease_expires_at=now + lease, updated_at=now)
    )
    if not claimed:
        logger.info("SMS %s: nothing to claim (held, done or not due)", _ids(message_ids))
        return []
    # In the order they were recorded, so that a bulk goes out in its recipients' order.
    return list(SMSLog.objects.filter(lease_owner=owner).order_by("bulk_index", "created_at"))


def _drop_unsendable(messages: list[SMSLog], counts: dict) -> list[SMSLog]:
    """Cancel the messages of canceled bulks and skip opted-out recipients; the rest."""
    canceled_bulks = set(
        BulkSend.objects.filter(
            id__in={m.bulk_id for m in messages if m.bulk_id}, state=BulkSend.State.CANCELED
        ).values_list("id", flat=True)
    )
    skip = suppression.skip_reasons(m.to for m in messages)
    sendable = []
    for message in messages:
        if message.bulk_id in canceled_bulks:
            transition(message.id, SMSStatus.CANCELED, **_released())
            counts["canceled"] += 1
        elif message.to in skip:
            reason = skip[message.to]
            logger.info("SMS %s to %s skipped: %s", message.id, message.masked_to, reason)
            transition(message.id, SMSStatus.SKIPPED, error_message=reason, **_released())
            counts["skipped"] += 1
        else:
            sendable.append(message)
    return sendable


def _pace(messages: list[SMSLog]) -> tuple[list[Call], list[tuple[SMSLog, float]]]:
    """Reserve each message's rate slot; (calls to make, (message, delay) pairs to defer).

    A message whose slot is further than SMS_PACING_HORIZON ahead is deferred, and so is every
    later message of the same sender, so that the order of a bulk is kept.
    """
    horizon = float(conf.get("SMS_PACING_HORIZON"))
    start = time.monotonic()
    calls: list[Call] = []
    deferred: list[tuple[SMSLog, float]] = []
    held_back: dict[str, float] = {}  # sender -> delay for the rest of its messages
    for message in messages:
        if message.sender in held_back:
            deferred.append((message, held_back[message.sender]))
            continue
        limit = ratelimit.sender_limit(message.sender)
        if limit is None:
            calls.append(Call(message, slot=start))
            continue
        try:
            reservation = ratelimit.reserve(
                limit.key,
                cost=message.segments,
                rate=limit.rate,
                burst=limit.burst,
                max_wait=horizon,
            )
        except RedisError as exc:
            logger.warning("The rate limiter is unreachable (%s): deferring sends", exc)
            held_back[message.sender] = LIMITER_DOWN_DELAY
            deferred.append((message, LIMITER_DOWN_DELAY))
            continue
        if reservation.granted:
            calls.append(Call(message, slot=start + reservation.wait))
        else:
            # Back when the slot it would get is within the horizon.
            delay = max(reservation.wait - horizon, 0.05)
            held_back[message.sender] = delay
            deferred.append((message, delay))
    return calls, deferred


def _start_attempts(calls: list[Call], owner: str) -> None:
    """Count the attempt and mark the call begun, before any provider call (one UPDATE)."""
    if calls:
        now = timezone.now()
        SMSLog.objects.filter(id__in=[c.message.id for c in calls], lease_owner=owner).update(
            attempts=F("attempts") + 1, call_started_at=now, updated_at=now
        )


def _call_provider(calls: list[Call]) -> None:
    """Every call of the run, concurrently, each at its slot; a retried message asks first."""
    if not calls:
        return
    pool = _pool()
    for future in [pool.submit(_look_up, c) for c in calls if c.message.attempts]:
        future.result()
    # A copy the provider has of an earlier attempt is adopted unless another row holds it.
    held = set(
        SMSLog.objects.filter(
            provider_sid__in=[s.provider_sid for c in calls for s in (c.candidates or [])]
        ).values_list("provider_sid", flat=True)
    )
    to_send = []
    for call in calls:
        mine = [s for s in (call.candidates or []) if s.provider_sid not in held]
        if mine:
            call.result = mine[0]
            logger.warning(
                "SMS %s to %s: an earlier attempt reached the provider (%s); not sending again",
                call.message.id,
                call.message.masked_to,
                call.result.provider_sid,
            )
        elif call.error is None and not _unknown_and_untellable(call):
            to_send.append(call)
    futures: list[Future] = [pool.submit(_send, call) for call in to_send]
    for future in futures:
        future.result()


def _look_up(call: Call) -> None:
    message = call.message
    since = message.created_at - timedelta(seconds=conf.get("SMS_PROVIDER_CLOCK_SKEW"))
    try:
        call.candidates = get_backend().find_sent(_outbound(message), since=since)
        call.looked_up = True
    except ProviderError as exc:
        call.error = exc


def _unknown_and_untellable(call: Call) -> bool:
    """An earlier call's outcome was never recorded and the backend cannot look it up."""
    return call.looked_up and call.candidates is None and call.message.call_started_at is not None


def _send(call: Call) -> None:
    wait = call.slot - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    if call.message.bulk_id and _bulk_canceled(call.message.bulk_id):
        call.canceled = True
        return
    try:
        call.result = get_backend().send(_outbound(call.message))
    except ProviderError as exc:
        call.error = exc


def _bulk_canceled(bulk_id) -> bool:
    try:
        return bool(cache.get(canceled_flag_key(bulk_id)))
    except RedisError:
        return False  # the database check at the next claim still stops the rest


def _outbound(message: SMSLog) -> OutboundSMS:
    return OutboundSMS(
        to=message.to,
        body=message.body,
        sender=message.sender,
        status_callback=conf.status_callback_url(),
        reference=str(message.id),
    )


# --- recording ---------------------------------------------------------------------------


def _record(call: Call, owner: str) -> str:
    message = call.message
    if call.canceled:
        transition(message.id, SMSStatus.CANCELED, **_released())
        return "canceled"
    if call.result is not None:
        return _record_acceptance(message, call.result, owner)
    if isinstance(call.error, PermanentProviderError):
        _record_failure(message, call.error, "permanent error")
        return "failed"
    if isinstance(call.error, TransientProviderError):
        if message.attempts + 1 > int(conf.get("SMS_RETRY_ATTEMPTS")):
            _record_failure(message, call.error, "retries exhausted")
            return "failed"
        return _schedule_retry(call, owner)
    if _unknown_and_untellable(call):
        transition(
            message.id,
            SMSStatus.FAILED,
            error_code="worker_lost",
            error_message="The worker stopped during the provider call; not resent.",
            **_released(),
        )
        return "failed"
    raise AssertionError(f"no outcome for SMS {message.id}")  # pragma: no cover


def _record_acceptance(message: SMSLog, result: SendResult, owner: str) -> str:
    """The provider's SID and status, and its error when the message already failed.

    An earlier attempt's transient error is cleared. A 21610 (opted out) in the answer
    suppresses the number, as the same code raised as an error does.
    """
    if result.error_code == suppression.OPTED_OUT_ERROR:
        suppression.suppress(message.to, reason=result.error_code)
    now = timezone.now()
    recorded = SMSLog.objects.filter(
        id=message.id, lease_owner=owner, status=SMSStatus.PENDING
    ).update(
        provider_sid=result.provider_sid,
        provider_payload=result.raw,
        error_code=result.error_code,
        error_message=result.error_message[:1000],
        accepted_at=now,
        updated_at=now,
        **_released(),
    )
    if not recorded:
        logger.error(
            "SMS %s: accepted by the provider as %s after this worker's lease ran out",
            message.id,
            result.provider_sid,
        )
        return "lease_lost"
    transition(message.id, result.status)
    logger.info(
        "SMS %s to %s accepted by the provider as %s (%s%s)",
        message.id,
        message.masked_to,
        result.provider_sid,
        result.status,
        f" {result.error_code}" if result.error_code else "",
    )
    return "accepted"


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
        **_released(),
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
        **_released(),
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


def _released() -> dict:
    """Fields that give a message back: nobody holds it, no call is in flight."""
    return {"lease_owner": "", "lease_expires_at": None, "call_started_at": None}


def _replay_early_callbacks(calls: list[Call]) -> None:
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


# --- deferring ---------------------------------------------------------------------------


def _defer(deferred: list[tuple[SMSLog, float]], owner: str, *, bulk: bool) -> None:
    """Give the messages back, due after their delays, and publish them again for then."""
    now = timezone.now()
    by_delay: dict[float, list] = defaultdict(list)
    for message, delay in deferred:
        by_delay[delay].append(message.id)
    for delay, ids in by_delay.items():
        SMSLog.objects.filter(id__in=ids, lease_owner=owner).update(
            next_attempt_at=now + timedelta(seconds=delay), updated_at=now, **_released()
        )
    _publish_when_due([(message.id, now + timedelta(seconds=d)) for message, d in deferred], bulk)


def _publish_when_due(due: Iterable[tuple[object, datetime]], bulk: bool) -> None:
    """One task for the messages, counted down to the earliest due time when it is near.

    A later due time is left to the dispatcher, which reads `next_attempt_at`: the broker
    never holds a countdown longer than SMS_DEFER_COUNTDOWN_MAX.
    """
    due = list(due)
    if not due:
        return
    earliest = min(when for _, when in due)
    countdown = max((earliest - timezone.now()).total_seconds(), 0.0)
    if countdown > float(conf.get("SMS_DEFER_COUNTDOWN_MAX")):
        return
    ids = [message_id for message_id, _ in due]
    if publishing.publish_delivery(ids, bulk=bulk, countdown=countdown):
        SMSLog.objects.filter(id__in=ids, status=SMSStatus.PENDING).update(published_at=earliest)


def _finish_bulks(bulk_ids: set) -> None:
    """A sending bulk with nothing left pending is completed."""
    for bulk_id in bulk_ids:
        finish_bulk_if_done(bulk_id)


def finish_bulk_if_done(bulk_id) -> bool:
    """Mark the bulk completed when none of its messages is pending; whether it was."""
    if SMSLog.objects.filter(bulk_id=bulk_id, status=SMSStatus.PENDING).exists():
        return False
    now = timezone.now()
    return bool(
        BulkSend.objects.filter(
            id=bulk_id, state__in=[BulkSend.State.ACCEPTED, BulkSend.State.SENDING]
        ).update(state=BulkSend.State.COMPLETED, finished_at=now, updated_at=now)
    )


# --- the thread pool ----------------------------------------------------------------------

_pool_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_executor_pid = 0


def _pool() -> ThreadPoolExecutor:
    """This process's pool of SMS_SEND_CONCURRENCY threads (made after a fork, not before).

    Its threads only talk to the provider and the cache: every database write of a run is the
    task's own, in one transaction.
    """
    global _executor, _executor_pid
    with _pool_lock:
        if _executor is None or _executor_pid != os.getpid():
            _executor = ThreadPoolExecutor(
                max_workers=int(conf.get("SMS_SEND_CONCURRENCY")), thread_name_prefix="sms-send"
            )
            _executor_pid = os.getpid()
        return _executor


def _ids(message_ids: Sequence) -> str:
    ids = [str(i) for i in message_ids]
    return ids[0] if len(ids) == 1 else f"{ids[0]} and {len(ids) - 1} more"
