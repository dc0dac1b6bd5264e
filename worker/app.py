"""Celery configured from Django settings (CELERY_ namespace), with the project's queues."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("worker")
app.config_from_object("django.conf:settings", namespace="CELERY")
# One queue per kind of work, so that operators can scale and watch each on its own:
# `sms` single sends, `bulk` fan-out of bulk sends, `verify` verification codes (time-critical),
# `default` housekeeping.
app.conf.task_queues = [Queue(name) for name in ("sms", "bulk", "verify", "default")]
app.autodiscover_tasks()
