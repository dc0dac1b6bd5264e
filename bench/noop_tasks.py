"""The baseline of bench/bulk_delivery.py: raw Celery, one no-op task per message.

Loaded only by the benchmark's workers (CELERY_IMPORTS of its generated settings). Each run is
counted in Redis, with the time of the latest, so that the benchmark reads when the last of N
ran without polling the result backend; results are not stored (ignore_result), so the
baseline is Celery's own cost per task: publish, deliver, run, acknowledge.
"""

import time

from celery import shared_task

from notifications.redis_client import get_redis

NOOP = "bench.noop_tasks.noop"
DONE = "bench:noop:done"
LAST = "bench:noop:last"


@shared_task(name=NOOP, ignore_result=True)
def noop() -> None:
    get_redis().pipeline(transaction=False).incr(DONE).set(LAST, repr(time.time())).execute()
