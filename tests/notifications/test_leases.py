"""Short leases, renewed while their run lives; a run that cannot renew stops calling; a
message that stops every worker taking it is parked."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.delivery import deliver_messages, leases
from notifications.models import SMSLog
from notifications.status import SMSStatus

pytestmark = pytest.mark.integration
TO = "+919812345610"


def message(**fields) -> SMSLog:
    row = SMSLog.objects.create(to=TO, body="lease", sender="+15005550006")
    SMSLog.objects.filter(id=row.id).update(**fields)
    return SMSLog.objects.get(id=row.id)


def test_the_keeper_renews_what_its_runs_hold_and_nothing_else(transactional_db, settings):
    settings.SMS_LEASE_SECONDS = 30
    soon = timezone.now() + timedelta(seconds=2)
    mine = message(lease_owner="here:1:run", lease_expires_at=soon)
    other = message(lease_owner="there:2:run", lease_expires_at=soon)
    keeper = leases.LeaseKeeper()
    lease = keeper.hold("here:1:run", claimed_at=time.monotonic() - 25)
    assert not lease.may_call()  # 5 s left of 30: less than a call's 14.05 s budget
    assert keeper.renew()
    renewed = SMSLog.objects.get(id=mine.id).lease_expires_at
    assert renewed >= timezone.now() + timedelta(seconds=29)
    assert SMSLog.objects.get(id=other.id).lease_expires_at == soon
    assert lease.may_call()
    keeper.release(lease)
    assert keeper.renew()
    assert SMSLog.objects.get(id=mine.id).lease_expires_at == renewed


def test_a_run_renews_its_lease_while_it_waits_on_the_provider(celery_worker, sandbox, settings):
    from notifications import services

    settings.SMS_LEASE_SECONDS, settings.SMS_LEASE_RENEW_INTERVAL = 3, 0.2
    settings.TWILIO_READ_TIMEOUT, settings.TWILIO_CONNECT_TIMEOUT = 1.5, 0.2
    sandbox.set_faults(latency={"ms": 1200, "scope": "messages", "methods": ["POST"]})
    sms = services.send_sms(to=TO, body="a slow provider")
    seen = set()
    deadline = time.monotonic() + 15
    while SMSLog.objects.get(id=sms.id).status == SMSStatus.PENDING:
        assert time.monotonic() < deadline
        expires = SMSLog.objects.get(id=sms.id).lease_expires_at
        if expires:
            seen.add(expires)
        time.sleep(0.05)
    assert len(seen) >= 3  # set by the claim, then renewed while the call was in flight
    assert SMSLog.objects.get(id=sms.id).status != SMSStatus.FAILED
    assert len(sandbox.messages(to=TO)) == 1


def test_a_run_whose_lease_could_run_out_during_the_call_does_not_call(
    transactional_db, sandbox, settings
):
    # A call may take 0.5 + 40 + 1 s, longer than the whole lease: no call may start.
    settings.SMS_LEASE_SECONDS, settings.TWILIO_READ_TIMEOUT = 30, 40.0
    row = message()
    assert deliver_messages(message_ids=[row.id]) == {"fenced": 1}
    row = SMSLog.objects.get(id=row.id)
    assert row.status == SMSStatus.PENDING and row.lease_owner == "" and row.attempts == 0
    assert row.next_attempt_at <= timezone.now()
    assert sandbox.messages(to=TO) == []


def test_a_message_left_by_a_stopped_run_counts_it_and_is_sent(transactional_db, sandbox):
    gone = timezone.now() - timedelta(minutes=5)
    row = message(lease_owner="gone:1:run", lease_expires_at=gone)
    assert deliver_messages(message_ids=[row.id]) == {"accepted": 1}
    row = SMSLog.objects.get(id=row.id)
    assert row.abandoned_runs == 1 and row.provider_sid
    assert len(sandbox.messages(to=TO)) == 1
    # A message given back in order (no lease) is not counted.
    again = message()
    deliver_messages(message_ids=[again.id])
    assert SMSLog.objects.get(id=again.id).abandoned_runs == 0


def test_a_message_that_stops_every_worker_is_parked_failed(transactional_db, sandbox, settings):
    settings.SMS_MAX_ABANDONED_RUNS = 3
    gone = timezone.now() - timedelta(minutes=5)
    row = message(
        lease_owner="gone:1:run", lease_expires_at=gone, abandoned_runs=3, attempts=1,
        call_started_at=gone,
    )  # fmt: skip
    assert deliver_messages(message_ids=[row.id]) == {"parked": 1}
    row = SMSLog.objects.get(id=row.id)
    assert row.status == SMSStatus.FAILED and row.error_code == "worker_lost_repeatedly"
    assert "4 workers stopped" in row.error_message and "may have been sent" in row.error_message
    assert row.lease_owner == ""
    assert sandbox.messages(to=TO) == []
