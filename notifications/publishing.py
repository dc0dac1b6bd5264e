"""Putting tasks on the broker, by task name: the one module both sides of delivery publish with.

The request side (services, verification) publishes after commit and the worker side (delivery,
recovery) publishes deferrals and recoveries; naming the tasks here instead of importing
notifications.tasks keeps imports going one way (tasks import the worker side, never back).
Task messages carry ids only. A broker that cannot take a task is logged once and answered
False: the database row is the outbox, and what it says is published again later.
"""

import logging
from collections.abc import Sequence

from amqp.exceptions import ChannelError
from celery import current_app
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

DELIVER_SMS = "notifications.tasks.deliver_sms"
DELIVER_BULK = "notifications.tasks.deliver_bulk"
PUMP_BULK = "notifications.tasks.pump_bulk"
DISPATCH_DUE = "notifications.tasks.dispatch_due_messages"
START_VERIFICATION = "notifications.tasks.start_verification"


def publish_delivery(
    message_ids: Sequence, *, bulk: bool = False, countdown: float | None = None
) -> bool:
    """Queue the delivery of these messages (queue `bulk` for a bulk's, else `sms`)."""
    ids = [str(message_id) for message_id in message_ids]
    if not ids:
        return True
    shown = ids[0] if len(ids) == 1 else f"{ids[0]} and {len(ids) - 1} more"
    return _publish(
        DELIVER_BULK if bulk else DELIVER_SMS,
        args=[ids],
        countdown=countdown,
        argsrepr=f"([{shown}],)",
        what=f"the delivery of SMS {shown}",
        recovery="the dispatcher publishes it again",
    )


def publish_bulk_pump(bulk_id, *, countdown: float | None = None) -> bool:
    """Queue the fan-out step of a bulk: it hands the bulk's messages to workers, paced."""
    return _publish(
        PUMP_BULK,
        args=[str(bulk_id)],
        countdown=countdown,
        argsrepr=f"('{bulk_id}',)",
        what=f"the fan-out of bulk {bulk_id}",
        recovery="the dispatcher revives it",
    )


def publish_verification_start(attempt_id, task_id: str, *, expires: float) -> bool:
    """Queue a verification code's send: the attempt's id, never the number."""
    return _publish(
        START_VERIFICATION,
        args=[str(attempt_id)],
        task_id=task_id,
        expires=expires,
        argsrepr=f"('{attempt_id}',)",
        what=f"the send of verification {attempt_id}",
        recovery="abandon_stalled_verifications closes it",
    )


def _publish(name: str, *, what: str, recovery: str, **options) -> bool:
    try:
        current_app.send_task(name, **options)
    # ChannelError: RabbitMQ refused the message (publisher confirms), e.g. a countdown's
    # delayed-delivery exchange that no worker has declared yet on a new virtual host.
    except (OperationalError, ChannelError) as exc:
        logger.warning("The broker did not take %s (%s); %s", what, exc, recovery)
        return False
    return True
