"""Health for load balancers and container healthchecks.

GET /healthz (readiness): 200 when the database, Redis, the broker and a worker for every
queue answer, else 503; a report per part. GET /healthz/live (liveness): 200 whenever the
process serves requests, touching nothing, so that a database outage does not get every web
container restarted.
"""

import time

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from notifications import heartbeats


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {}


def _redis() -> dict:
    cache.set("healthz", "ok", timeout=5)
    if cache.get("healthz") != "ok":
        raise RuntimeError("Redis did not return what was written")
    return {}


def _broker() -> dict:
    from worker import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return {}


class NoWorker(Exception):
    """Some queue has no worker with a recent heartbeat."""


def _workers() -> dict:
    """The newest heartbeat per queue (notifications.heartbeats): down when any queue has none
    within SMS_HEARTBEAT_MAX_AGE."""
    from worker.app import QUEUES

    queues = heartbeats.queue_report(QUEUES)
    down = [name for name, queue in queues.items() if queue["status"] != "up"]
    if down:
        raise NoWorker(queues)
    return {"queues": queues}


CHECKS = {"database": _database, "redis": _redis, "broker": _broker, "workers": _workers}


@never_cache
@require_GET
def healthz(request):
    report, healthy = {}, True
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            report[name] = {"status": "up", **check()}
        except NoWorker as exc:
            healthy = False
            report[name] = {"status": "down", "error": "NoWorker", "queues": exc.args[0]}
        except Exception as exc:  # noqa: BLE001 - any failure is the answer
            healthy = False
            report[name] = {"status": "down", "error": type(exc).__name__}
        report[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": report},
        status=200 if healthy else 503,
    )


@never_cache
@require_GET
def healthz_live(request):
    return JsonResponse({"status": "ok"})
