"""GET /healthz: 200 when the database, Redis and the broker answer, else 503; a report per part."""

import time

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _redis() -> None:
    cache.set("healthz", "ok", timeout=5)
    if cache.get("healthz") != "ok":
        raise RuntimeError("Redis did not return what was written")


def _broker() -> None:
    from worker import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


CHECKS = {"database": _database, "redis": _redis, "broker": _broker}


@never_cache
@require_GET
def healthz(request):
    report, healthy = {}, True
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - any failure is the answer
            healthy = False
            report[name] = {"status": "down", "error": type(exc).__name__}
        else:
            report[name] = {"status": "up"}
        report[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": report},
        status=200 if healthy else 503,
    )
