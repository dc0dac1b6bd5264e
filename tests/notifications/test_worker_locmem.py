"""A real Celery worker delivers through the locmem backend (the plumbing, without a provider)."""

import pytest
from django.db import transaction

from notifications import services
from notifications.backends import locmem
from notifications.models import SMSLog
from notifications.status import SMSStatus
from tests.helpers import wait_for

pytestmark = pytest.mark.integration


def test_the_worker_delivers_a_message_recorded_by_the_service(celery_worker):
    message = services.send_sms(to="+919812345610", body="through a real worker")
    wait_for(lambda: SMSLog.objects.get(id=message.id).status == SMSStatus.SENT, what="sent")
    message.refresh_from_db()
    assert message.attempts == 1 and message.provider_sid.startswith("LOCMEM")
    assert [m.to for m in locmem.outbox] == ["+919812345610"]


def test_nothing_is_published_before_the_callers_transaction_commits(celery_worker):
    with transaction.atomic():
        message = services.send_sms(to="+919812345610", body="after commit")
        assert not locmem.outbox
    wait_for(lambda: SMSLog.objects.get(id=message.id).status == SMSStatus.SENT, what="sent")
