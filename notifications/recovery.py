"""Work no task carries yet: the dispatcher publishes what is due or lost, the pump feeds bulks.

The database is the outbox. A message's `next_attempt_at` says when it may next be tried and
`published_at` when a task for it was put on the broker (or is counted down to), so the
dispatcher can tell "waiting its turn" (published for its due time, or not due yet) from
"lost" (due and never published for it, published long ago and never taken, or held by a
worker whose lease ran out), and publishes only the latter.

A bulk's messages are handed to workers by its pump, paced: with a sender rate limit, only a
few seconds' worth of them are out at a time, so that waiting messages sit in the database,
not in task queues, and single messages are not stuck behind a whole bulk.
"""

import logging
import math
import time
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from redis.exceptions import LockError, RedisError

from notifications import conf, publishing, ratelimit
from notifications.delivery import finish_bulk_if_done
from notifications.models import BrokerRun, BulkSend, SMSLog
from notifications.redis_client import broker_redis, get_redis
from notifications.status import SMSStatus

logger = logging.getLogger(__name__)

DISPATCH_LOCK = "sms:lock:dispatch"


def dispatch_due_messages() -> dict[str, int]:
    """Publish the messages that are due and that no task carries; revive stalled bulk pumps.

    One run at a time (a Redis lock), for at most SMS_DISPATCH_TIME_LIMIT seconds and
    SMS_DISPATCH_BATCH messages; counts by what was done.
    """
    time_limit = float(conf.get("SMS_DISPATCH_TIME_LIMIT"))
    try:
        lock = get_redis().lock(DISPATCH_LOCK, timeout=time_limit + 5)
        if not lock.acquire(blocking=False):
            return {"busy": 1}
    except RedisError as exc:
        logger.warning("The dispatcher's lock is unreachable (%s): not dispatching", exc)
        return {"unavailable": 1}
    try:
        counts = {"unpublished_by_broker_restart": _forget_what_a_new_broker_lost()}
        counts.update(_dispatch(deadline=time.monotonic() + time_limit))
        counts["pumps"] = _revive_pumps()
    finally:
        try:
            lock.release()
        except (LockError, RedisError):
            pass  # expired, or Redis went away: the timeout frees it
    if any(counts.values()):
        logger.info("Dispatched: %s", counts)
    return counts


def due_for_publishing(now=None):
    """Pending messages due now that no task carries: never published (a single message whose
    publish failed), parked until now, published but not taken within SMS_STALLED_AFTER, or
    left by a worker whose lease ran out. A bulk's unpublished messages are its pump's."""
    now = now or timezone.now()
    stalled = now - timedelta(seconds=float(conf.get("SMS_STALLED_AFTER")))
    return (
        SMSLog.objects.filter(status=SMSStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(lease_owner="") | Q(lease_expires_at__lt=now))
        .filter(
            Q(published_at__isnull=True, bulk__isnull=True)
            | Q(published_at__lt=F("next_attempt_at"))
            | Q(published_at__lt=stalled)
            | Q(lease_expires_at__lt=now)
        )
    )


def _forget_what_a_new_broker_lost() -> int:
    """After the broker's Redis restarted, every message it may have held is unpublished.

    Redis gets a new run id at each start. When it differs from the one the last dispatch saw
    (kept in the database, which outlives the broker), the tasks queued or counted down before
    the restart may be gone (all of them without persistence, the last second's with AOF
    `everysec`): each pending message that no run holds is marked unpublished, so that this
    dispatch (a single message) or its bulk's pump publishes it again now rather than after
    SMS_STALLED_AFTER. A task that did survive finds its message claimed or done: claims make
    the extra task harmless. Brokers that keep their queues through a restart (RabbitMQ's
    quorum queues) are left alone. How many were unpublished.
    """
    client = broker_redis()
    if client is None:
        return 0
    try:
        run_id = client.info("server")["run_id"]
    except RedisError as exc:
        logger.warning("Could not read the broker's run id (%s)", exc)
        return 0
    last = BrokerRun.objects.order_by("-seen_at", "-id").first()
    if last is not None and last.run_id == run_id:
        return 0
    with transaction.atomic():
        _, new = BrokerRun.objects.get_or_create(run_id=run_id)
        if last is None or not new:
            return 0  # the first run seen, or one seen already by a concurrent dispatch
        now = timezone.now()
        unpublished = (
            SMSLog.objects.filter(status=SMSStatus.PENDING, published_at__isnull=False)
            .filter(Q(lease_owner="") | Q(lease_expires_at__lt=now))
            .update(published_at=None, updated_at=now)
        )
    logger.warning(
        "The broker restarted (Redis run id %s, was %s): %d pending messages to publish again",
        run_id,
        last.run_id,
        unpublished,
    )
    return unpublished


def _dispatch(*, deadline: float) -> dict[str, int]:
    counts = {"published": 0, "unpublished": 0}
    batch = int(conf.get("SMS_BATCH_SIZE"))
    rows = list(
        due_for_publishing()
        .order_by("next_attempt_at")
        .values_list("id", "bulk_id", "lease_owner")[: int(conf.get("SMS_DISPATCH_BATCH"))]
    )
    # A message a stopped run left (its lease ran out) goes in a task of its own: if it is
    # what stops workers, it takes none of its neighbours down with it.
    abandoned = [(message_id, bulk_id) for message_id, bulk_id, owner in rows if owner]
    singles = [message_id for message_id, bulk_id, owner in rows if bulk_id is None and not owner]
    bulks = [message_id for message_id, bulk_id, owner in rows if bulk_id is not None and not owner]
    batches = [(singles[i : i + batch], False) for i in range(0, len(singles), batch)]
    batches += [(bulks[i : i + batch], True) for i in range(0, len(bulks), batch)]
    batches += [([message_id], bulk_id is not None) for message_id, bulk_id in abandoned]
    for done, (chunk, bulk) in enumerate(batches):
        if time.monotonic() > deadline or not publishing.publish_delivery(chunk, bulk=bulk):
            counts["unpublished"] += sum(len(ids) for ids, _ in batches[done:])
            break  # a broker that refuses one refuses the next: the next dispatch tries again
        SMSLog.objects.filter(id__in=chunk).update(published_at=timezone.now())
        counts["published"] += len(chunk)
    return counts


def _revive_pumps() -> int:
    """Bulks still handing out messages whose pump has not run for a while (its task lost)."""
    now = timezone.now()
    quiet = now - timedelta(seconds=3 * float(conf.get("SMS_BULK_PUMP_INTERVAL")) + 5)
    stalled = BulkSend.objects.filter(
        state__in=[BulkSend.State.ACCEPTED, BulkSend.State.SENDING],
        created_at__lt=quiet,
    ).filter(Q(pumped_at__isnull=True) | Q(pumped_at__lt=quiet))
    revived = 0
    for bulk_id in stalled.values_list("id", flat=True)[:100]:
        if publishing.publish_bulk_pump(bulk_id):
            revived += 1
    return revived


def pump_bulk(*, bulk_id) -> int:
    """Hand the bulk's next messages to workers, as many as its pace allows; how many.

    Runs again every SMS_BULK_PUMP_INTERVAL seconds while messages are left to hand out.
    """
    bulk = BulkSend.objects.filter(id=bulk_id).first()
    if bulk is None or bulk.state in (BulkSend.State.COMPLETED, BulkSend.State.CANCELED):
        return 0
    now = timezone.now()
    BulkSend.objects.filter(id=bulk.id, state=BulkSend.State.ACCEPTED).update(
        state=BulkSend.State.SENDING, started_at=now
    )
    BulkSend.objects.filter(id=bulk.id).update(pumped_at=now, updated_at=now)
    pending = SMSLog.objects.filter(bulk_id=bulk.id, status=SMSStatus.PENDING)
    room = _room(bulk, pending)
    ids = list(
        pending.filter(published_at__isnull=True)
        .order_by("bulk_index")
        .values_list("id", flat=True)[: max(room, 0)]
    )
    batch = int(conf.get("SMS_BATCH_SIZE"))
    handed = 0
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        if not publishing.publish_delivery(chunk, bulk=True):
            break  # the dispatcher revives this pump
        SMSLog.objects.filter(id__in=chunk).update(published_at=timezone.now())
        handed += len(chunk)
    if pending.filter(published_at__isnull=True).exists():
        publishing.publish_bulk_pump(bulk.id, countdown=float(conf.get("SMS_BULK_PUMP_INTERVAL")))
    else:
        finish_bulk_if_done(bulk.id)
    return handed


def _room(bulk: BulkSend, pending) -> int:
    """How many more of the bulk's messages may be out with workers now.

    Without a rate limit, as many as one dispatch batch. With one, a few seconds' worth
    (SMS_BULK_LOOKAHEAD) beyond what is out already, and at least one batch.
    """
    cap = int(conf.get("SMS_DISPATCH_BATCH"))
    limit = ratelimit.sender_limit(bulk.sender)
    if limit is None:
        return cap
    per_second = limit.rate / max(bulk.segments, 1)
    budget = max(
        int(conf.get("SMS_BATCH_SIZE")),
        math.ceil(per_second * float(conf.get("SMS_BULK_LOOKAHEAD"))),
    )
    out = pending.filter(published_at__isnull=False).count()
    return min(budget - out, cap)
