"""Celery configured from Django settings (CELERY_ namespace), with the project's queues."""

import os

from celery import Celery
from kombu import Queue

from notifications.heartbeats import QueueHeartbeat

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("worker")
app.config_from_object("django.conf:settings", namespace="CELERY")
# One queue per kind of work, so that operators can scale and watch each on its own, listed in
# the order a worker serves them (the broker's `queue_order_strategy` is "priority"): `verify`
# verification codes (a person is waiting), `sms` single sends, `housekeeping` the dispatcher
# and the purges, `bulk` bulk fan-out and delivery, which never delays the others. Every task
# is routed explicitly (CELERY_TASK_ROUTES); an unrouted one lands in `housekeeping`.
QUEUES = ("verify", "sms", "housekeeping", "bulk")
app.conf.task_queues = [Queue(name) for name in QUEUES]
# Each worker says which of these queues it consumes, for /healthz (notifications.heartbeats).
app.steps["consumer"].add(QueueHeartbeat)
app.autodiscover_tasks()
