"""Celery tasks: thin, taking ids; the work is in the worker-side modules they call.

Publishing goes through notifications.publishing by task name, so nothing imports this module
but Celery's autodiscovery: imports go one way.
"""

from celery import Task, shared_task
from celery.signals import task_revoked
from django.db import InterfaceError, OperationalError, close_old_connections

from notifications import (
    callbacks,
    conf,
    delivery,
    publishing,
    recovery,
    refresh,
    verification_worker,
)
from notifications.exceptions import TransientProviderError
from notifications.retry import retry_delay

# Time limits (s), so that a hung task never holds a worker slot for good: a delivery run
# is killed after SMS_DELIVERY_TIME_LIMIT (a hard limit only, since a run interrupted between
# its provider calls and their recording is exactly what recovery resolves, by asking the
# provider; its lease, no longer renewed, then runs out), the dispatcher by the time its lock
# expires, a verification well past the provider's read timeout, a refresh of stale statuses
# once its last fetch has had its timeouts after its SMS_REFRESH_INTERVAL of fetching.
# Housekeeping keeps CELERY_TASK_TIME_LIMIT.
DELIVERY_TIME_LIMIT = int(conf.get("SMS_DELIVERY_TIME_LIMIT"))
DISPATCH_TIME_LIMIT = int(float(conf.get("SMS_DISPATCH_TIME_LIMIT"))) + 5
PUMP_TIME_LIMIT = 60
VERIFICATION_TIME_LIMIT = 60
REFRESH_TIME_LIMIT = (
    int(
        float(conf.get("SMS_REFRESH_INTERVAL"))
        + float(conf.get("TWILIO_CONNECT_TIMEOUT"))
        + float(conf.get("TWILIO_READ_TIMEOUT"))
    )
    + 5
)
# The delivery tasks' (deliver_sms, deliver_bulk) Celery options, for when the database is
# gone: they retry on the connection's errors, with backoff, and do not write STARTED.
# A run that lost the database took nothing (its claim is one statement) or holds what it
# claimed under a lease that then runs out: its task comes back within seconds, with backoff,
# rather than leave messages it never claimed to the stalled sweep (SMS_STALLED_AFTER).
# Only the connection's errors: a query the database refuses would fail again at once.
DELIVERY_TASK_OPTIONS = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 1,
    "retry_backoff_max": 30,
    "max_retries": 20,
    # Celery writes STARTED to the result backend (the database) before the task body runs,
    # outside its autoretry: with the database gone that write fails the task for good.
    "track_started": False,
}


@shared_task(name=publishing.DELIVER_SMS, time_limit=DELIVERY_TIME_LIMIT, **DELIVERY_TASK_OPTIONS)
def deliver_sms(message_ids: list[str]) -> dict[str, int]:
    if isinstance(message_ids, str):  # a task published by a version that sent one id
        message_ids = [message_ids]
    return delivery.deliver_messages(message_ids=message_ids)


@shared_task(name=publishing.DELIVER_BULK, time_limit=DELIVERY_TIME_LIMIT, **DELIVERY_TASK_OPTIONS)
def deliver_bulk(message_ids: list[str]) -> dict[str, int]:
    return delivery.deliver_messages(message_ids=message_ids, bulk=True)


@shared_task(name=publishing.PUMP_BULK, time_limit=PUMP_TIME_LIMIT)
def pump_bulk(bulk_id: str) -> int:
    return recovery.pump_bulk(bulk_id=bulk_id)


@shared_task(name=publishing.DISPATCH_DUE, time_limit=DISPATCH_TIME_LIMIT)
def dispatch_due_messages() -> dict[str, int]:
    return recovery.dispatch_due_messages()


@shared_task(name="notifications.tasks.refresh_stale_messages", time_limit=REFRESH_TIME_LIMIT)
def refresh_stale_messages() -> dict[str, int]:
    return refresh.refresh_stale_messages()


# The beat entry of earlier versions: a database scheduler keeps it until someone deletes it.
@shared_task(name="notifications.tasks.requeue_stalled_messages", time_limit=DISPATCH_TIME_LIMIT)
def requeue_stalled_messages() -> dict[str, int]:
    return recovery.dispatch_due_messages()


@shared_task(name="notifications.tasks.purge_webhook_events")
def purge_webhook_events() -> int:
    return callbacks.webhook_events_purge()


@shared_task(name="notifications.tasks.abandon_stalled_verifications")
def abandon_stalled_verifications() -> int:
    return verification_worker.verification_abandon_stalled()


@shared_task(name="notifications.tasks.purge_verification_attempts")
def purge_verification_attempts() -> int:
    return verification_worker.verification_attempts_purge()


class VerificationTask(Task):
    """Autoretries transient provider errors with our backoff, read from settings at call time.

    A verification is one call the user waits for, published with `expires`: Celery's own
    retries fit it (unlike messages, whose retries are scheduled in the database).
    """

    autoretry_for = (TransientProviderError,)
    acks_late = True

    @property
    def max_retries(self) -> int:  # type: ignore[override]
        return int(conf.get("SMS_RETRY_ATTEMPTS"))

    def retry(self, *args, exc=None, countdown=None, eta=None, **kwargs):
        if countdown is None and eta is None:
            countdown = retry_delay(
                self.request.retries, retry_after=getattr(exc, "retry_after", None)
            )
        return super().retry(*args, exc=exc, countdown=countdown, eta=eta, **kwargs)


# Published with `expires` (publishing.publish_verification_start); retries keep that deadline.
@shared_task(
    bind=True,
    base=VerificationTask,
    name=publishing.START_VERIFICATION,
    time_limit=VERIFICATION_TIME_LIMIT,
)
def start_verification(self: VerificationTask, attempt_id: str) -> str | None:
    attempt = verification_worker.verification_send(
        attempt_id=attempt_id,
        attempt=self.request.retries,
        may_retry=self.request.retries < self.max_retries,
    )
    return attempt.outcome if attempt is not None else None


@task_revoked.connect
def _record_expired_verification(sender=None, request=None, expired=False, **kwargs) -> None:
    """An expired send is revoked by the worker without running: say so on the attempt."""
    if expired and getattr(sender, "name", "") == start_verification.name and request:
        try:
            verification_worker.verification_expired(task_id=request.id)
        finally:
            # This runs in the worker's consumer thread, where no task hook tidies connections.
            close_old_connections()
