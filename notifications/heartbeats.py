"""Worker heartbeats per queue, in Redis: which queues some worker is consuming right now.

Every SMS_HEARTBEAT_INTERVAL seconds each worker's consumer writes its node name, at the Redis
server's time (one clock for every host), into one sorted set per queue it consumes. A queue
whose newest heartbeat is older than SMS_HEARTBEAT_MAX_AGE has no worker: every worker of it
stopped, crashed, lost the broker, or had its consumer cancelled (`celery control
cancel_consumer`). /healthz reports it. Celery's own heartbeats travel as events on the broker
and say nothing about queues; these are read with one Redis round trip per queue.
"""

import logging
from collections.abc import Iterable

from celery import bootsteps
from redis.exceptions import RedisError

from notifications import conf
from notifications.redis_client import get_redis

logger = logging.getLogger(__name__)

# Entries older than this are pruned as workers beat: a node gone for good leaves no trace.
FORGET_AFTER = 24 * 3600


def heartbeat_key(queue: str) -> str:
    return f"sms:heartbeat:{queue}"


def server_time(client) -> float:
    seconds, microseconds = client.time()
    return seconds + microseconds / 1_000_000


def beat(*, node: str, queues: Iterable[str]) -> None:
    """Record that `node` consumes `queues` now."""
    client = get_redis()
    now = server_time(client)
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        pipe.zadd(heartbeat_key(queue), {node: now})
        pipe.zremrangebyscore(heartbeat_key(queue), "-inf", now - FORGET_AFTER)
        pipe.expire(heartbeat_key(queue), FORGET_AFTER)
    pipe.execute()


def forget(*, node: str, queues: Iterable[str]) -> None:
    """A node that stops cleanly says so at once instead of ageing out."""
    client = get_redis()
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        pipe.zrem(heartbeat_key(queue), node)
    pipe.execute()


def queue_report(queues: Iterable[str]) -> dict[str, dict]:
    """Per queue: `up` with the number of live workers and the newest heartbeat's age, or
    `down` (no heartbeat within SMS_HEARTBEAT_MAX_AGE). Raises RedisError when Redis is."""
    client = get_redis()
    now = server_time(client)
    max_age = float(conf.get("SMS_HEARTBEAT_MAX_AGE"))
    queues = list(queues)
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        pipe.zrangebyscore(heartbeat_key(queue), now - max_age, "+inf", withscores=True)
        pipe.zrevrange(heartbeat_key(queue), 0, 0, withscores=True)
    answers = pipe.execute()
    report = {}
    for queue, live, newest in zip(queues, answers[::2], answers[1::2], strict=True):
        age = round(now - newest[0][1], 1) if newest else None
        report[queue] = {
            "status": "up" if live else "down",
            "workers": len(live),
            "last_heartbeat_age": age,
        }
    return report


class QueueHeartbeat(bootsteps.StartStopStep):
    """A consumer step: beats for the queues the worker's task consumer holds at each tick, so
    a cancelled queue stops beating and a consumer restarting after a broker outage beats
    again only once it consumes."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        self.timer_ref = None
        self.queues: set[str] = set()

    def start(self, parent) -> None:
        self.tick(parent)
        interval = float(conf.get("SMS_HEARTBEAT_INTERVAL"))
        self.timer_ref = parent.timer.call_repeatedly(interval, self.tick, (parent,), priority=10)

    def stop(self, parent) -> None:
        if self.timer_ref is not None:
            self.timer_ref.cancel()
            self.timer_ref = None
        if self.queues:
            try:
                forget(node=parent.hostname, queues=self.queues)
            except RedisError:
                pass  # they age out
            self.queues = set()

    shutdown = stop

    def tick(self, parent) -> None:
        consumer = parent.task_consumer
        queues = {queue.name for queue in consumer.queues} if consumer is not None else set()
        try:
            if self.queues - queues:
                forget(node=parent.hostname, queues=self.queues - queues)
            if queues:
                beat(node=parent.hostname, queues=queues)
        except RedisError as exc:
            logger.warning("Worker heartbeat not written (%s)", exc)
            return
        self.queues = queues
