"""The Celery application: configured from Django settings in every Django process."""

import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def test_a_django_process_publishes_through_the_configured_app():
    """A web process never imports `worker` itself; tasks must still use its broker, not
    Celery's unconfigured default app (which would publish to amqp://localhost)."""
    code = (
        "import django; django.setup();"
        "from notifications.tasks import deliver_sms;"
        "print(deliver_sms.app.main, deliver_sms.app.conf.broker_url)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True,
        env={"DJANGO_SETTINGS_MODULE": "config.settings.test", "PATH": "/usr/bin:/bin",
             "TEST_REDIS_URL": settings.REDIS_URL},
    ).stdout.split()  # fmt: skip
    assert out == ["worker", settings.CELERY_BROKER_URL]


def test_each_kind_of_work_has_its_own_queue():
    from worker import app

    assert [q.name for q in app.conf.task_queues] == ["verify", "sms", "housekeeping", "bulk"]
    assert app.conf.broker_transport_options["queue_order_strategy"] == "priority"
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.broker_transport_options["visibility_timeout"] > settings.TWILIO_RETRY_DELAY
    route = app.amqp.router.route({}, "notifications.tasks.deliver_sms")
    assert route["queue"].name == "sms"


def test_bulk_work_goes_to_the_bulk_queue_and_housekeeping_to_its_own():
    from worker import app

    route = app.amqp.router.route
    assert route({}, "notifications.tasks.deliver_bulk")["queue"].name == "bulk"
    assert route({}, "notifications.tasks.pump_bulk")["queue"].name == "bulk"
    assert route({}, "notifications.tasks.start_verification")["queue"].name == "verify"
    assert route({}, "notifications.tasks.dispatch_due_messages")["queue"].name == "housekeeping"


def test_a_worker_serves_a_verification_before_the_bulk_work_queued_ahead_of_it(
    transactional_db,
):
    """One worker slot; a verification, 30 bulk tasks, another verification: both
    verifications run first (taking queues in turn, the second would follow a bulk task)."""
    import uuid

    from celery.contrib.testing.worker import start_worker
    from django_celery_results.models import TaskResult

    from notifications import publishing
    from worker import app

    app.control.purge()
    publishing.publish_verification_start(uuid.uuid4(), str(uuid.uuid4()), expires=60)
    for _ in range(30):  # ids of no message: each run claims nothing and ends
        publishing.publish_delivery([uuid.uuid4()], bulk=True)
    publishing.publish_verification_start(uuid.uuid4(), str(uuid.uuid4()), expires=60)
    with start_worker(
        app, pool="solo", concurrency=1, perform_ping_check=False, shutdown_timeout=10
    ):
        from tests.helpers import wait_for

        wait_for(lambda: TaskResult.objects.count() == 32, timeout=30, what="all 32 tasks")
    order = list(TaskResult.objects.order_by("date_done").values_list("task_name", flat=True))
    assert [i for i, name in enumerate(order) if name == publishing.START_VERIFICATION] == [0, 1]


def test_every_task_of_the_project_is_routed_and_has_a_time_limit():
    """A hung call never holds a worker for good, and no task lands on a queue by accident."""
    from worker import app

    app.loader.import_default_modules()
    tasks = {name: task for name, task in app.tasks.items() if name.startswith("notifications.")}
    assert len(tasks) >= 9
    assert set(tasks) <= set(settings.CELERY_TASK_ROUTES)
    from worker.app import QUEUES

    routed_to = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert routed_to | {settings.CELERY_TASK_DEFAULT_QUEUE} <= set(QUEUES)
    unlimited = [n for n, t in tasks.items() if not (t.time_limit or app.conf.task_time_limit)]
    assert unlimited == []
    deliver = tasks["notifications.tasks.deliver_bulk"]
    assert deliver.time_limit == settings.SMS_DELIVERY_TIME_LIMIT
    assert app.conf.task_time_limit <= 300


def test_a_delivery_task_that_lost_the_database_comes_back_with_backoff():
    """Not left to the stalled sweep (tests/reliability cuts the database off the workers)."""
    from django.db import OperationalError

    from worker import app

    app.loader.import_default_modules()
    for name in ("notifications.tasks.deliver_sms", "notifications.tasks.deliver_bulk"):
        task = app.tasks[name]
        assert OperationalError in task.autoretry_for, name
        assert task.retry_backoff and task.retry_backoff_max <= 30 and task.max_retries >= 10
        assert not task.track_started, "its STARTED write would fail the task outside the retry"
