"""Celery tasks: thin, idempotent, taking ids; the work is in notifications.services."""

from celery import Task, shared_task
from celery.signals import task_revoked
from django.db import close_old_connections

from notifications import callbacks, conf, services, verification
from notifications.exceptions import TransientProviderError
from notifications.retry import retry_delay


class SMSDeliveryTask(Task):
    """Autoretries transient provider errors with our backoff, read from settings at call time."""

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


@shared_task(bind=True, base=SMSDeliveryTask, name="notifications.tasks.deliver_sms")
def deliver_sms(self: SMSDeliveryTask, message_id: str) -> str | None:
    message = services.deliver_sms_message(
        message_id=message_id,
        attempt=self.request.retries,
        may_retry=self.request.retries < self.max_retries,
    )
    return message.status if message is not None else None


@shared_task(name="notifications.tasks.requeue_stalled_messages")
def requeue_stalled_messages() -> dict[str, int]:
    return services.requeue_stalled_messages()


@shared_task(name="notifications.tasks.purge_webhook_events")
def purge_webhook_events() -> int:
    return callbacks.webhook_events_purge()


@shared_task(name="notifications.tasks.abandon_stalled_verifications")
def abandon_stalled_verifications() -> int:
    return verification.verification_abandon_stalled()


@shared_task(name="notifications.tasks.purge_verification_attempts")
def purge_verification_attempts() -> int:
    return verification.verification_attempts_purge()


# Published with `expires` (verification.publish_start); retries keep that deadline.
@shared_task(bind=True, base=SMSDeliveryTask, name="notifications.tasks.start_verification")
def start_verification(self: SMSDeliveryTask, attempt_id: str) -> str | None:
    attempt = verification.verification_send(
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
            verification.verification_expired(task_id=request.id)
        finally:
            # This runs in the worker's consumer thread, where no task hook tidies connections.
            close_old_connections()
