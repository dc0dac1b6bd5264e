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

    assert {q.name for q in app.conf.task_queues} == {"sms", "bulk", "verify", "default"}
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.broker_transport_options["visibility_timeout"] > settings.TWILIO_RETRY_DELAY
    route = app.amqp.router.route({}, "notifications.tasks.deliver_sms")
    assert route["queue"].name == "sms"
