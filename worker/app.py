"""Celery configured from Django settings (CELERY_ namespace), with the project's queues."""

import math
import os

from celery import Celery
from kombu import Queue

from notifications.heartbeats import QueueHeartbeat

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")


class App(Celery):
    def send_task(self, name, args=None, kwargs=None, countdown=None, eta=None, **options):
        # RabbitMQ's native delayed delivery (quorum queues) counts whole seconds: Celery 5.7
        # truncates a countdown to them (1.9 s goes out after 1 s) and raises ValueError for
        # one under a second. Rounded up instead: late by under a second, never early.
        if countdown and countdown > 0 and self.conf.task_default_queue_type == "quorum":
            countdown = math.ceil(countdown)
        return super().send_task(name, args, kwargs, countdown=countdown, eta=eta, **options)


app = App("worker")
app.config_from_object("django.conf:settings", namespace="CELERY")
# One queue per kind of work, so that operators can scale and watch each on its own, listed in
# the order a worker serves them (the broker's `queue_order_strategy` is "priority"): `verify`
# verification codes (a person is waiting), `sms` single sends, `housekeeping` the dispatcher
# and the purges, `bulk` bulk fan-out and delivery, which never delays the others. Every task
# is routed explicitly (CELERY_TASK_ROUTES); an unrouted one lands in `housekeeping`.
# On RabbitMQ there is no such order (a worker takes from all its queues at once): run
# dedicated `verify` workers there (docker-compose.yml's worker-verify).
QUEUES = ("verify", "sms", "housekeeping", "bulk")


def declared_queues(conf) -> list[Queue]:
    """The project's queues; quorum queues when CELERY_TASK_DEFAULT_QUEUE_TYPE says so (a
    RabbitMQ broker, config/settings/base.py), which Celery itself applies to its default
    queue only. There, each is bound to the (topic) exchange by its own name: by default all
    would share the default queue's routing key, and every task would reach every queue."""
    if conf.task_default_queue_type != "quorum":
        return [Queue(name) for name in QUEUES]
    arguments = {"x-queue-type": "quorum"}
    return [Queue(name, routing_key=name, queue_arguments=arguments) for name in QUEUES]


@app.on_after_configure.connect
def _declare_queues(sender, **kwargs) -> None:
    # The settings are read lazily (this module is imported while Django configures itself),
    # so the queue type is known only now.
    sender.conf.task_queues = declared_queues(sender.conf)


# Each worker says which of these queues it consumes, for /healthz (notifications.heartbeats).
app.steps["consumer"].add(QueueHeartbeat)
app.autodiscover_tasks()
