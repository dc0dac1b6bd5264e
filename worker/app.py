"""Celery configured from Django settings (CELERY_ namespace), with the project's queues."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("worker")
app.config_from_object("django.conf:settings", namespace="CELERY")
# One queue per kind of work, so that operators can scale and watch each on its own, listed in
# the order a worker serves them (the broker's `queue_order_strategy` is "priority"): `verify`
# verification codes (a person is waiting), `sms` single sends, `default` housekeeping (the
# dispatcher), `bulk` bulk fan-out and delivery, which never delays the others.
QUEUES = ("verify", "sms", "default", "bulk")
app.conf.task_queues = [Queue(name) for name in QUEUES]
app.autodiscover_tasks()
