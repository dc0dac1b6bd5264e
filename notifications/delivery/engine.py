"""A delivery run: claim, drop what must not go, pace, call, record, defer the rest."""

import logging
import os
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from redis.exceptions import RedisError

from notifications import conf, publishing, ratelimit, suppression
from notifications.delivery import leases
from notifications.delivery.calls import Call, call_provider
from notifications.delivery.outcomes import (
    record,
    record_acceptances,
    released,
    replay_early_callbacks,
)
from notifications.models import BulkSend, SMSLog
from notifications.status import SMSStatus
from notifications.transitions import transition

logger = logging.getLogger(__name__)

# A task may arrive this early for a message's next_attempt_at (clocks of hosts differ a little).
CLOCK_TOLERANCE = timedelta(seconds=1)
# How long the delivery waits when the rate limiter cannot be asked (Redis unreachable).
LIMITER_DOWN_DELAY = 5.0


def deliver_messages(*, message_ids: Sequence, bulk: bool = False) -> dict[str, int]:
    """Deliver what can go now of these messages; counts by what happened to them.

    Idempotent: a message another run holds, or that is no longer pending or not yet due, is
    left alone. `bulk` says which queue deferred messages go back to.
    """
    owner = _new_owner()
    claimed_at = time.monotonic()
    messages = _claim(message_ids, owner)
    counts: dict[str, int] = defaultdict(int)
    if not messages:
        return dict(counts)
    lease = leases.keeper().hold(owner, claimed_at=claimed_at)
    try:
        return _deliver(messages, lease, bulk=bulk, counts=counts)
    finally:
        leases.keeper().release(lease)


def _deliver(messages: list[SMSLog], lease: leases.Lease, *, bulk: bool, counts) -> dict:
    owner = lease.owner
    messages = _park_abandoned(messages, counts)
    messages = _drop_unsendable(messages, counts)
    calls, deferred = _pace(messages)
    if deferred:
        counts["deferred"] += len(deferred)
    _start_attempts(calls, owner)
    call_provider(calls, lease)
    taken = [call for call in calls if call.result is not None and not call.canceled]
    retrying = []
    with transaction.atomic():
        for outcome, count in record_acceptances(taken, owner).items():
            counts[outcome] += count
        for call in calls:
            if call.result is not None and not call.canceled:
                continue  # recorded above
            outcome = record(call, owner)
            counts[outcome] += 1
            if outcome in ("retrying", "fenced"):
                retrying.append((call.message.id, call.message.next_attempt_at))
    # After the commit: callbacks stored as unknown before it are replayed here; one stored
    # while it was open is replayed by its own webhook, which then finds the SID.
    replay_early_callbacks(calls)
    _defer(deferred, owner, bulk=bulk)
    _publish_when_due(retrying, bulk)
    _finish_bulks({m.bulk_id for m in messages if m.bulk_id})
    return dict(counts)


def _new_owner() -> str:
    """Who holds a lease: host and process (for people), and a unique id for this run."""
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{uuid.uuid4().hex[:16]}"


def _claim(message_ids: Sequence, owner: str) -> list[SMSLog]:
    """Take the due, pending messages that nobody holds, with a lease of SMS_LEASE_SECONDS.

    A message whose lease ran out while held was abandoned by a run that stopped (a worker
    died): that is counted, so that one that kills every worker taking it is parked at last.
    """
    now = timezone.now()
    lease = timedelta(seconds=leases.lease_seconds())
    claimed = (
        SMSLog.objects.filter(
            id__in=list(message_ids),
            status=SMSStatus.PENDING,
            next_attempt_at__lte=now + CLOCK_TOLERANCE,
        )
        .filter(Q(lease_owner="") | Q(lease_expires_at__lt=now))
        .update(
            lease_owner=owner,
            lease_expires_at=now + lease,
            updated_at=now,
            abandoned_runs=F("abandoned_runs")
            + Case(When(~Q(lease_owner=""), then=Value(1)), default=Value(0)),
        )
    )
    if not claimed:
        logger.info("SMS %s: nothing to claim (held, done or not due)", _ids(message_ids))
        return []
    # In the order they were recorded, so that a bulk goes out in its recipients' order.
    return list(
        SMSLog.objects.filter(id__in=list(message_ids), lease_owner=owner).order_by(
            "bulk_index", "created_at"
        )
    )


def _park_abandoned(messages: list[SMSLog], counts: dict) -> list[SMSLog]:
    """Fail, before any provider call, the messages that runs abandoned too often: whatever
    in them stops a worker (a poison message) must not stop every worker in turn."""
    limit = int(conf.get("SMS_MAX_ABANDONED_RUNS"))
    sendable = []
    for message in messages:
        if limit and message.abandoned_runs > limit:
            logger.error(
                "SMS %s to %s parked: %d runs that took it stopped without an outcome",
                message.id,
                message.masked_to,
                message.abandoned_runs,
            )
            transition(
                message.id,
                SMSStatus.FAILED,
                error_code="worker_lost_repeatedly",
                error_message=(
                    f"{message.abandoned_runs} workers stopped while delivering it; parked. "
                    + (
                        "A provider call had begun: it may have been sent."
                        if message.call_started_at
                        else "No provider call had begun."
                    )
                ),
                **released(),
            )
            counts["parked"] += 1
        else:
            sendable.append(message)
    return sendable


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
            transition(message.id, SMSStatus.CANCELED, **released())
            counts["canceled"] += 1
        elif message.to in skip:
            reason = skip[message.to]
            logger.info("SMS %s to %s skipped: %s", message.id, message.masked_to, reason)
            transition(message.id, SMSStatus.SKIPPED, error_message=reason, **released())
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
            # The slot counts from now: the reservation's wait is from when Redis answered.
            calls.append(Call(message, slot=time.monotonic() + reservation.wait))
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


def _defer(deferred: list[tuple[SMSLog, float]], owner: str, *, bulk: bool) -> None:
    """Give the messages back, due after their delays, and publish them again for then."""
    now = timezone.now()
    by_delay: dict[float, list] = defaultdict(list)
    for message, delay in deferred:
        by_delay[delay].append(message.id)
    for delay, ids in by_delay.items():
        SMSLog.objects.filter(id__in=ids, lease_owner=owner).update(
            next_attempt_at=now + timedelta(seconds=delay), updated_at=now, **released()
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


def _ids(message_ids: Sequence) -> str:
    ids = [str(i) for i in message_ids]
    return ids[0] if len(ids) == 1 else f"{ids[0]} and {len(ids) - 1} more"
