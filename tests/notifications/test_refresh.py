"""Missed status callbacks: a status that stopped moving is fetched from the provider by SID.

The sandbox holds real messages (created through the twilio library, with no status callback,
as if every callback had been lost); refresh_stale_messages asks it over HTTP.
"""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from notifications import refresh
from notifications.models import SMSLog
from notifications.status import SMSStatus

pytestmark = pytest.mark.django_db
TO = "+919812345610"


def provider_message(sandbox, final: str = "delivered") -> str:
    """A message the sandbox took and carried to `final`; no callback was asked for."""
    created = sandbox.client().messages.create(
        to=TO, from_=django_settings.TWILIO_PHONE_NUMBER, body="Interview at 10:00"
    )
    sandbox.wait_for(created.sid, final)
    return created.sid


def recorded(sid: str, *, status=SMSStatus.QUEUED, idle: float = 700, age: float = 700):
    message = SMSLog.objects.create(to=TO, body="Interview at 10:00", provider_sid=sid)
    now = timezone.now()
    SMSLog.objects.filter(id=message.id).update(
        status=status,
        updated_at=now - timedelta(seconds=idle),
        created_at=now - timedelta(seconds=age),
    )
    return message


def test_a_status_whose_callbacks_were_lost_is_fetched_and_applied(sandbox):
    message = recorded(provider_message(sandbox))
    assert refresh.refresh_stale_messages() == {
        "fetched": 1, "changed": 1, "unchanged": 0, "failed": 0
    }  # fmt: skip
    message.refresh_from_db()
    assert message.status == SMSStatus.DELIVERED and message.delivered_at is not None


def test_a_status_that_moved_recently_is_not_fetched(sandbox, settings):
    settings.SMS_REFRESH_AFTER = 600
    message = recorded(provider_message(sandbox), idle=60)
    assert refresh.refresh_stale_messages()["fetched"] == 0
    message.refresh_from_db()
    assert message.status == SMSStatus.QUEUED


def test_a_message_past_the_give_up_age_is_left_alone(sandbox, settings):
    settings.SMS_REFRESH_GIVE_UP_AFTER = 86400
    message = recorded(provider_message(sandbox), age=2 * 86400)
    assert refresh.refresh_stale_messages()["fetched"] == 0
    assert SMSLog.objects.get(id=message.id).status == SMSStatus.QUEUED


def test_a_failing_fetch_leaves_the_row_for_a_later_run(sandbox):
    message = recorded(provider_message(sandbox))
    sandbox.set_faults(http_500={"rate": 1.0, "scope": "messages", "methods": ["GET"]})
    assert refresh.refresh_stale_messages()["failed"] == 1
    message.refresh_from_db()
    assert message.status == SMSStatus.QUEUED
    # Asked: not again before SMS_REFRESH_AFTER.
    assert timezone.now() - message.updated_at < timedelta(seconds=30)
    assert refresh.refresh_stale_messages()["failed"] == 0
    sandbox.clear_faults()


def test_the_providers_older_status_never_moves_a_row_back(sandbox):
    sandbox.configure(step_delay=3600)  # the provider's copy stays queued
    created = sandbox.client().messages.create(
        to=TO, from_=django_settings.TWILIO_PHONE_NUMBER, body="Interview at 10:00"
    )
    message = recorded(created.sid, status=SMSStatus.SENT)
    counts = refresh.refresh_stale_messages()
    assert (counts["fetched"], counts["changed"]) == (1, 0)
    assert SMSLog.objects.get(id=message.id).status == SMSStatus.SENT


def test_beat_refreshes_every_interval_on_the_housekeeping_queue():
    entry = django_settings.CELERY_BEAT_SCHEDULE["refresh-stale-messages"]
    assert entry["task"] == "notifications.tasks.refresh_stale_messages"
    assert entry["schedule"] == django_settings.SMS_REFRESH_INTERVAL
    route = django_settings.CELERY_TASK_ROUTES["notifications.tasks.refresh_stale_messages"]
    assert route == {"queue": "housekeeping"}
