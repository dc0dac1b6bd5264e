"""Bulk delivery end to end: every recipient once, paced by one shared rate, cancelable,
never ahead of a verification code, and whole after a worker is killed.

The pacing and crash tests run two real worker processes; the others an in-process worker.
What reached "Twilio" is read from the sandbox's own records (request times included).
"""

import json
import time

import pytest
from django_celery_results.models import TaskResult

from notifications import publishing, recovery, services, verification
from notifications.backends import locmem
from notifications.models import BulkSend, SMSLog
from notifications.status import SMSStatus
from tests.helpers import wait_for
from tests.processes import WORKER, running, worker_environment

pytestmark = pytest.mark.integration

BODY = "Placement drive on Friday at 10:00, main hall."


def recipients(count: int, start: int = 0) -> list[str]:
    return [f"+91981{i:07d}" for i in range(start, start + count)]


def state_of(bulk) -> str:
    return BulkSend.objects.get(id=bulk.id).state


def pending(bulk) -> int:
    return SMSLog.objects.filter(bulk_id=bulk.id, status=SMSStatus.PENDING).count()


def request_times(sandbox, count: int) -> list[float]:
    """When each message reached the sandbox (its first status), oldest first."""
    return sorted(m["history"][0]["ts"] for m in sandbox.messages(limit=count + 100))


def busiest_window(times: list[float], seconds: float) -> int:
    """The most requests in any window of this many seconds (each starting at a request)."""
    busiest, end = 0, 0
    for start, first in enumerate(times):
        while end < len(times) and times[end] < first + seconds:
            end += 1
        busiest = max(busiest, end - start)
    return busiest


def limited(settings, *, per_second: float, burst: int = 1, horizon: float = 0.5) -> None:
    settings.TWILIO_RATE_LIMIT = int(per_second * 60)
    settings.TWILIO_RATE_BURST = burst
    settings.SMS_PACING_HORIZON = horizon


# --- one in-process worker ---------------------------------------------------------------


def test_every_recipient_of_a_bulk_gets_one_message(celery_worker, settings):
    settings.SMS_BATCH_SIZE = 40
    numbers = recipients(300)
    bulk = services.send_bulk(recipients=numbers + numbers[:10], body=BODY)
    wait_for(lambda: state_of(bulk) == BulkSend.State.COMPLETED, timeout=60, what="completed")
    assert sorted(m.to for m in locmem.outbox) == numbers
    messages = SMSLog.objects.filter(bulk_id=bulk.id)
    assert messages.count() == 300 and set(messages.values_list("attempts", flat=True)) == {1}
    assert set(messages.values_list("status", flat=True)) == {SMSStatus.SENT}


def test_a_deferral_by_the_limiter_never_consumes_a_retry(celery_worker, settings):
    limited(settings, per_second=4, horizon=0.3)
    settings.SMS_RETRY_ATTEMPTS = 0  # one attempt each: a deferral counted as one would fail
    bulk = services.send_bulk(recipients=recipients(12), body=BODY)
    wait_for(lambda: state_of(bulk) == BulkSend.State.COMPLETED, timeout=60, what="completed")
    messages = SMSLog.objects.filter(bulk_id=bulk.id)
    assert set(messages.values_list("status", "attempts")) == {(SMSStatus.SENT, 1)}
    runs = [
        json.loads(r.result)
        for r in TaskResult.objects.filter(task_name=publishing.DELIVER_BULK, status="SUCCESS")
    ]
    assert sum(run.get("deferred", 0) for run in runs) > 0  # the limiter did hold some back
    assert len(locmem.outbox) == 12


def test_cancel_stops_every_provider_call_not_yet_made(celery_worker, sandbox, settings):
    sandbox.configure(step_delay=3600)  # no status callbacks: only the creates matter here
    limited(settings, per_second=20)
    bulk = services.send_bulk(recipients=recipients(200), body=BODY)
    wait_for(lambda: len(sandbox.messages(limit=300)) >= 10, timeout=30, what="under way")
    services.cancel_bulk(bulk_id=bulk.id)
    at_cancel = len(sandbox.messages(limit=300))
    wait_for(lambda: pending(bulk) == 0, timeout=30, what="nothing pending")
    time.sleep(1)  # long enough for any stray call to show up at the sandbox
    reached = len(sandbox.messages(limit=300))
    # Calls already on the wire when the cancel returned may land; no new one starts.
    assert reached - at_cancel <= settings.SMS_SEND_CONCURRENCY
    messages = SMSLog.objects.filter(bulk_id=bulk.id)
    assert messages.exclude(provider_sid=None).count() == reached < 200
    assert messages.filter(status=SMSStatus.CANCELED).count() == 200 - reached
    assert state_of(bulk) == BulkSend.State.CANCELED


def test_a_verification_code_goes_out_while_a_bulk_is_still_running(
    celery_worker, sandbox, settings
):
    sandbox.configure(step_delay=3600)
    limited(settings, per_second=10)
    bulk = services.send_bulk(recipients=recipients(80), body=BODY)
    wait_for(lambda: len(sandbox.messages(limit=300)) >= 5, timeout=30, what="under way")
    verification.verification_start(phone_number="+12015550123")
    wait_for(lambda: sandbox.messages(to="+12015550123"), timeout=30, what="the code")
    assert pending(bulk) > 0  # the bulk was not done: the code did not wait for it
    wait_for(lambda: state_of(bulk) == BulkSend.State.COMPLETED, timeout=60, what="completed")


# --- two worker processes -----------------------------------------------------------------


@pytest.fixture
def two_workers(tmp_path, sandbox, transactional_db, settings):
    """Two worker processes (threads pool) sharing the suite's database, Redis and sandbox,
    configured like this test's settings; yields a function that starts them."""
    from worker import app

    sandbox.configure(step_delay=3600)
    app.control.purge()

    def start(**overrides):
        for name, value in overrides.items():
            setattr(settings, name, value)
        env = worker_environment(tmp_path, sandbox, **overrides)
        command = f"{WORKER} -Q sms,bulk,verify,housekeeping --pool threads -c 4"
        return running(f"{command} -n first@%h", env), running(f"{command} -n second@%h", env)

    yield start
    app.control.purge()


def test_two_workers_keep_to_one_shared_rate(two_workers, sandbox):
    rate, burst, count = 10, 1, 650  # a little over 60 s of sending at 10 a second
    first, second = two_workers(
        TWILIO_RATE_LIMIT=rate * 60, TWILIO_RATE_BURST=burst, SMS_PACING_HORIZON=1.0
    )
    with first, second:
        bulk = services.send_bulk(recipients=recipients(count), body=BODY)
        wait_for(lambda: state_of(bulk) == BulkSend.State.COMPLETED, timeout=150, what="done")
    times = request_times(sandbox, count)
    assert len(times) == count
    assert busiest_window(times, 60) <= rate * 60 + burst
    achieved = (count - burst) / (times[-1] - times[0])
    assert 0.95 * rate <= achieved <= rate, achieved


def test_a_worker_killed_mid_bulk_leaves_every_recipient_exactly_one_message(two_workers, sandbox):
    count = 300
    first, second = two_workers(
        TWILIO_RATE_LIMIT=20 * 60,
        TWILIO_RATE_BURST=1,
        SMS_PACING_HORIZON=1.0,
        # A short lease, renewed often; a provider call fits in it (system check E006).
        SMS_LEASE_SECONDS=6,
        SMS_LEASE_RENEW_INTERVAL=0.5,
        TWILIO_CONNECT_TIMEOUT=1.0,
        TWILIO_READ_TIMEOUT=3.0,
        SMS_STALLED_AFTER=8,
    )
    with first as doomed, second:
        bulk = services.send_bulk(recipients=recipients(count), body=BODY)
        wait_for(lambda: len(sandbox.messages(limit=500)) >= 60, timeout=60, what="under way")
        doomed.kill()
        # The dispatcher (beat's job) takes over what the dead worker held or had queued.
        deadline = time.monotonic() + 120
        while state_of(bulk) != BulkSend.State.COMPLETED:
            assert time.monotonic() < deadline, f"{pending(bulk)} still pending"
            recovery.dispatch_due_messages()
            time.sleep(1)
    received = sandbox.messages(limit=count + 100)
    per_number: dict[str, int] = {}
    for message in received:
        per_number[message["to"]] = per_number.get(message["to"], 0) + 1
    assert per_number == dict.fromkeys(recipients(count), 1)
    recorded = SMSLog.objects.filter(bulk_id=bulk.id).values_list("provider_sid", flat=True)
    assert sorted(recorded) == sorted(m["sid"] for m in received)
