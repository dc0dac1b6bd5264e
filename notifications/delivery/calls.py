"""Provider calls of a delivery run: each message at its rate slot, from a thread pool.

The pool's threads only talk to the provider and the cache (a bulk's cancel flag): every
database write of a run is the run's own (notifications.delivery.engine), in one transaction.
"""

import logging
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from redis.exceptions import RedisError

from notifications import conf
from notifications.backends import OutboundSMS, SendResult, get_backend
from notifications.delivery.leases import Lease
from notifications.exceptions import ProviderError
from notifications.models import SMSLog, canceled_flag_key
from notifications.redis_client import get_redis

logger = logging.getLogger(__name__)


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
    fenced: bool = False  # not called: the run's lease could have run out during the call


def call_provider(calls: list[Call], lease: Lease) -> None:
    """Every call of the run, concurrently, each at its slot; a retried message asks first.

    A call begins only while the run's lease surely outlasts it (`Lease.may_call`)."""
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
        elif call.error is None and not outcome_unknowable(call):
            to_send.append(call)
    futures: list[Future] = [pool.submit(_send, call, lease) for call in to_send]
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


def outcome_unknowable(call: Call) -> bool:
    """An earlier call's outcome was never recorded and the backend cannot look it up."""
    return call.looked_up and call.candidates is None and call.message.call_started_at is not None


def _send(call: Call, lease: Lease) -> None:
    wait = call.slot - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    if call.message.bulk_id and _bulk_canceled(call.message.bulk_id):
        call.canceled = True
        return
    if not lease.may_call():
        call.fenced = True
        return
    try:
        call.result = get_backend().send(_outbound(call.message))
    except ProviderError as exc:
        call.error = exc


# What each bulk's cancel flag said, and when it was read: the send threads of a process
# share one read per CANCEL_CHECK_INTERVAL instead of one per message.
_canceled: dict[object, tuple[bool, float]] = {}
CANCEL_CHECK_INTERVAL = 0.1  # seconds


def _bulk_canceled(bulk_id) -> bool:
    known = _canceled.get(bulk_id)
    if known is not None and time.monotonic() - known[1] < CANCEL_CHECK_INTERVAL:
        return known[0]
    try:
        canceled = bool(get_redis().exists(canceled_flag_key(bulk_id)))
    except RedisError:
        return False  # the database check at the next claim still stops the rest
    if len(_canceled) > 1000:
        _canceled.clear()
    _canceled[bulk_id] = (canceled, time.monotonic())
    return canceled


def _outbound(message: SMSLog) -> OutboundSMS:
    return OutboundSMS(
        to=message.to,
        body=message.body,
        sender=message.sender,
        status_callback=conf.status_callback_url(),
        reference=str(message.id),
    )


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
