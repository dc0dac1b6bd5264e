"""Stalled messages: a lost publish is republished; a claim lost with its worker is resolved by
asking the provider whether the message got there."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import services
from notifications.backends import locmem
from notifications.models import SMSLog
from notifications.status import SMSStatus
from tests.helpers import wait_for

pytestmark = pytest.mark.integration
TO = "+919812345610"
NOTHING = {"republished": 0, "adopted": 0, "failed": 0, "unresolved": 0}


def make_stalled(*, claimed: bool, attempts: int = 0, body: str = "stalled") -> SMSLog:
    message = SMSLog.objects.create(to=TO, body=body, sender="+15005550006", task_id="lost-task")
    long_ago = timezone.now() - timedelta(hours=1)
    SMSLog.objects.filter(id=message.id).update(
        updated_at=long_ago, attempts=attempts, claimed_at=long_ago if claimed else None
    )
    return message


def accepted(message_id) -> SMSLog | None:
    message = SMSLog.objects.get(id=message_id)
    return message if message.provider_sid and message.status != SMSStatus.PENDING else None


def test_a_message_whose_publish_was_lost_is_delivered_after_the_sweep(celery_worker):
    message = make_stalled(claimed=False, attempts=1)  # e.g. its retry was lost with the broker
    assert services.requeue_stalled_messages() == {**NOTHING, "republished": 1}
    wait_for(lambda: SMSLog.objects.get(id=message.id).status == SMSStatus.SENT, what="sent")
    assert SMSLog.objects.get(id=message.id).attempts == 2
    assert len(locmem.outbox) == 1


def test_a_lost_claim_that_reached_twilio_is_adopted_not_resent(celery_worker, sandbox):
    message = make_stalled(claimed=True, attempts=1, body="got there before the worker died")
    sent = sandbox.client().messages.create(to=TO, from_="+15005550006", body=message.body)
    assert services.requeue_stalled_messages() == {**NOTHING, "adopted": 1}
    message.refresh_from_db()
    assert message.provider_sid == sent.sid and message.status != SMSStatus.PENDING
    assert len(sandbox.messages(to=TO)) == 1


def test_a_lost_claim_that_never_reached_twilio_is_sent_again_once(celery_worker, sandbox):
    message = make_stalled(claimed=True, attempts=1, body="never got there")
    assert services.requeue_stalled_messages() == {**NOTHING, "republished": 1}
    message = wait_for(lambda: accepted(message.id), what="accepted")
    assert message.attempts == 2
    [received] = sandbox.messages(to=TO)
    assert received["sid"] == message.provider_sid


def test_a_lost_claim_stays_for_the_next_sweep_while_twilio_is_down(celery_worker, sandbox):
    message = make_stalled(claimed=True, attempts=1)
    sandbox.set_faults(http_503={"next": 1, "scope": "messages", "methods": ["GET"]})
    assert services.requeue_stalled_messages() == {**NOTHING, "unresolved": 1}
    message.refresh_from_db()
    assert message.status == SMSStatus.PENDING and message.claimed_at is not None


def test_with_a_backend_that_cannot_tell_a_lost_claim_fails_rather_than_risk_a_duplicate(
    celery_worker,
):
    message = make_stalled(claimed=True, attempts=1)
    assert services.requeue_stalled_messages() == {**NOTHING, "failed": 1}
    message.refresh_from_db()
    assert (message.status, message.error_code) == (SMSStatus.FAILED, "worker_lost")
    assert locmem.outbox == []


def test_recent_pending_messages_are_left_alone(transactional_db):
    SMSLog.objects.create(to=TO, body="fresh")
    assert services.requeue_stalled_messages() == NOTHING
