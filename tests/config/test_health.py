"""/healthz and /healthz/live against real PostgreSQL, Redis, the broker and a real worker."""

import pytest
from django.conf import settings

from notifications import heartbeats
from notifications.redis_client import get_redis
from tests.helpers import wait_for
from worker.app import QUEUES


def _parts(body: dict) -> dict[str, str]:
    return {name: part["status"] for name, part in body["checks"].items()}


@pytest.fixture
def no_heartbeats():
    """Forget what workers of earlier tests wrote."""
    get_redis().delete(*(heartbeats.heartbeat_key(q) for q in QUEUES))
    yield
    get_redis().delete(*(heartbeats.heartbeat_key(q) for q in QUEUES))


def _worker_name(app) -> str:
    [reply] = app.control.ping(timeout=2)
    return next(iter(reply))


def test_healthz_reports_each_part_up_with_a_worker_on_every_queue(
    no_heartbeats, celery_worker, client
):
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert _parts(body) == dict.fromkeys(["database", "redis", "broker", "workers"], "up")
    queues = body["checks"]["workers"]["queues"]
    assert set(queues) == set(QUEUES)
    for queue in queues.values():
        assert queue["status"] == "up" and queue["workers"] == 1
        assert 0 <= queue["last_heartbeat_age"] < settings.SMS_HEARTBEAT_MAX_AGE


@pytest.mark.django_db
def test_healthz_is_503_naming_every_queue_when_no_worker_ever_beat(no_heartbeats, client):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert _parts(body) == {"database": "up", "redis": "up", "broker": "up", "workers": "down"}
    queues = body["checks"]["workers"]["queues"]
    assert {name: q["status"] for name, q in queues.items()} == dict.fromkeys(QUEUES, "down")
    assert all(q["last_heartbeat_age"] is None for q in queues.values())


def test_a_worker_that_stops_consuming_verify_fails_the_check_for_verify_only(
    no_heartbeats, celery_worker, client
):
    node = _worker_name(celery_worker)
    celery_worker.control.cancel_consumer("verify", destination=[node], reply=True)

    def verify_down():
        body = client.get("/healthz").json()
        return body if body["checks"]["workers"]["status"] == "down" else None

    body = wait_for(verify_down, timeout=10, what="verify reported without a worker")
    queues = body["checks"]["workers"]["queues"]
    assert {name: q["status"] for name, q in queues.items()} == {
        **dict.fromkeys(QUEUES, "up"),
        "verify": "down",
    }
    assert client.get("/healthz").status_code == 503

    celery_worker.control.add_consumer("verify", destination=[node], reply=True)
    try:
        wait_for(
            lambda: client.get("/healthz").status_code == 200,
            timeout=10,
            what="verify consumed again",
        )
    finally:
        # The in-process worker shares the app: its queue selection (and their priority
        # order, verify first) would carry over to the next test's worker.
        celery_worker.amqp.queues.select(QUEUES)


def test_a_worker_stopped_cleanly_is_gone_from_the_report_at_once(
    no_heartbeats, transactional_db, client
):
    from celery.contrib.testing.worker import start_worker

    from worker import app

    app.control.purge()
    with start_worker(app, pool="threads", perform_ping_check=False, shutdown_timeout=10):
        wait_for(lambda: client.get("/healthz").status_code == 200, timeout=10, what="a beat")
    body = client.get("/healthz").json()
    assert all(q["workers"] == 0 for q in body["checks"]["workers"]["queues"].values())


@pytest.mark.django_db
def test_a_heartbeat_older_than_the_maximum_age_counts_as_no_worker(no_heartbeats, client):
    redis = get_redis()
    now = heartbeats.server_time(redis)
    for queue in QUEUES:
        redis.zadd(heartbeats.heartbeat_key(queue), {"celery@gone": now - 1000})
    redis.zadd(heartbeats.heartbeat_key("sms"), {"celery@alive": now - 1})

    queues = client.get("/healthz").json()["checks"]["workers"]["queues"]
    assert queues["sms"]["status"] == "up" and queues["sms"]["workers"] == 1
    assert queues["verify"] == {"status": "down", "workers": 0, "last_heartbeat_age": 1000.0}


@pytest.mark.django_db
def test_healthz_is_503_when_redis_is_down(client, settings):
    """Point the cache at a port where nothing listens: the report names the part that failed."""
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["redis"]["status"] == "down"
    assert body["checks"]["workers"]["status"] == "down"
    assert body["checks"]["database"]["status"] == "up"


def test_liveness_answers_without_touching_redis_or_the_database(client, settings):
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}
    }
    response = client.get("/healthz/live")  # no database access is allowed in this test
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"].startswith("max-age=0")
