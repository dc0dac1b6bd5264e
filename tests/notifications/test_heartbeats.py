"""The heartbeat step on any Celery app, not only this project's: a reusable app's promise.

The app comes from pytest-celery's `celery_app` fixture (its Docker-free part, Celery's own
pytest plugin), on an in-memory broker; the heartbeats go to the suite's real Redis.
"""

import pytest
from celery.contrib.testing.worker import start_worker

from notifications import heartbeats
from notifications.redis_client import get_redis
from tests.helpers import wait_for

QUEUES = ("alpha", "beta")


@pytest.fixture
def app_with_heartbeats(celery_app):
    from kombu import Queue

    celery_app.conf.task_queues = [Queue(name) for name in QUEUES]
    celery_app.steps["consumer"].add(heartbeats.QueueHeartbeat)
    redis = get_redis()
    redis.delete(*(heartbeats.heartbeat_key(q) for q in QUEUES))
    yield celery_app
    redis.delete(*(heartbeats.heartbeat_key(q) for q in QUEUES))


def _up(report: dict) -> dict[str, int]:
    return {queue: part["workers"] for queue, part in report.items()}


@pytest.mark.celery(broker_url="memory://", result_backend="cache+memory://")
def test_a_worker_of_any_app_beats_for_the_queues_it_consumes_and_forgets_them_on_stop(
    app_with_heartbeats, settings
):
    settings.SMS_HEARTBEAT_INTERVAL = 0.2
    with start_worker(
        app_with_heartbeats,
        pool="solo",
        perform_ping_check=False,
        queues=["alpha"],
        hostname="celery@heartbeat-test",
    ):
        report = wait_for(
            lambda: (r := heartbeats.queue_report(QUEUES))["alpha"]["workers"] and r,
            timeout=10,
            what="alpha's heartbeat",
        )
        assert _up(report) == {"alpha": 1, "beta": 0}
        assert report["beta"]["status"] == "down"
        members = get_redis().zrange(heartbeats.heartbeat_key("alpha"), 0, -1)
        assert members == [b"celery@heartbeat-test"]
        first = heartbeats.queue_report(QUEUES)["alpha"]["last_heartbeat_age"]
        assert first is not None and first < 5
    assert _up(heartbeats.queue_report(QUEUES)) == {"alpha": 0, "beta": 0}


@pytest.mark.django_db
def test_heartbeats_are_stamped_with_the_redis_servers_time(settings):
    """Not the worker host's clock (which may be off, or monotonic): every host shares one."""
    settings.SMS_HEARTBEAT_MAX_AGE = 30
    redis = get_redis()
    redis.delete(heartbeats.heartbeat_key("alpha"))
    heartbeats.beat(node="celery@a", queues=["alpha"])
    [(_, written)] = redis.zrange(heartbeats.heartbeat_key("alpha"), 0, -1, withscores=True)
    assert abs(written - heartbeats.server_time(redis)) < 5
    report = heartbeats.queue_report(["alpha"])["alpha"]
    assert report["status"] == "up" and report["workers"] == 1
    redis.delete(heartbeats.heartbeat_key("alpha"))
