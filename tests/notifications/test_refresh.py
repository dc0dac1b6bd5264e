"""Missed status callbacks: a status that stopped moving is fetched from the provider by SID.

Messages are sent through the delivery engine to the sandbox over HTTP, with its callback_drop
fault on, so that no status callback ever arrives; then the refresh asks the sandbox.
"""

import json
import socket
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import delivery, refresh, services, tasks, transitions
from notifications.models import SMSLog
from notifications.status import SMSStatus
from notifications.suppression import is_suppressed
from tests.helpers import run_in_environment

pytestmark = pytest.mark.django_db
TO = "+919812345610"
SILENT = 700  # seconds: past the default SMS_REFRESH_AFTER (600)
NOT_FETCHED = {"fetched": 0, "changed": 0, "unchanged": 0, "failed": 0}


@pytest.fixture
def no_callbacks(sandbox):
    """The sandbox, dropping every status callback (as if our webhook had been down)."""
    sandbox.set_faults(callback_drop={"rate": 1.0})
    return sandbox


def taken(sandbox, *, to: str = TO, final: str = "delivered") -> SMSLog:
    """A message the sandbox took (its SID recorded, still `queued` here) and carried on to
    `final` without telling us."""
    message = services.send_sms(to=to, body="Interview at 10:00", publish=False)
    assert delivery.deliver_messages(message_ids=[message.id]) == {"accepted": 1}
    message.refresh_from_db()
    assert message.status == SMSStatus.QUEUED and message.provider_sid
    if final:
        sandbox.wait_for(message.provider_sid, final)
    return message


def silent_for(message: SMSLog, seconds: float, *, accepted: float | None = None) -> None:
    """As if its status had last moved `seconds` ago (and Twilio took it `accepted` ago)."""
    now = timezone.now()
    SMSLog.objects.filter(id=message.id).update(
        updated_at=now - timedelta(seconds=seconds),
        accepted_at=now - timedelta(seconds=seconds if accepted is None else accepted),
    )


def fetches(sandbox, answer: str = "200") -> int:
    """GETs of single messages that reached the sandbox, by the status it answered."""
    return sandbox.stats()["requests"].get("messages.fetch", {}).get(answer, 0)


def status_of(message: SMSLog) -> str:
    return SMSLog.objects.get(id=message.id).status


def test_messages_whose_callbacks_were_lost_reach_their_final_status(no_callbacks, settings):
    no_callbacks.configure(fail_numbers={"+919812345611": 30003})
    delivered = taken(no_callbacks)
    undelivered = taken(no_callbacks, to="+919812345611", final="undelivered")
    for message in (delivered, undelivered):
        assert status_of(message) == SMSStatus.QUEUED  # no callback came
        silent_for(message, SILENT)
    assert no_callbacks.stats()["callbacks_dropped_by_fault"] >= 6

    assert tasks.refresh_stale_messages.apply().get() == {
        "fetched": 2, "changed": 2, "unchanged": 0, "failed": 0
    }  # fmt: skip
    assert fetches(no_callbacks) == 2
    delivered.refresh_from_db()
    assert delivered.status == SMSStatus.DELIVERED and delivered.delivered_at is not None
    assert delivered.provider_payload["status"] == "delivered"  # the fetched resource, kept
    undelivered.refresh_from_db()
    assert (undelivered.status, undelivered.error_code) == (SMSStatus.UNDELIVERED, "30003")
    assert undelivered.failed_at is not None
    assert refresh.refresh_stale_messages() == NOT_FETCHED  # final: never asked again
    assert fetches(no_callbacks) == 2


def test_a_21610_found_by_the_refresh_suppresses_the_number_as_the_webhook_would(no_callbacks):
    no_callbacks.configure(fail_numbers={TO: {"error_code": 21610, "status": "failed"}})
    message = taken(no_callbacks, final="failed")
    silent_for(message, SILENT)
    assert refresh.refresh_stale_messages()["changed"] == 1
    message.refresh_from_db()
    assert (message.status, message.error_code) == (SMSStatus.FAILED, "21610")
    assert is_suppressed(TO)


def test_a_message_silent_for_less_than_SMS_REFRESH_AFTER_is_not_fetched(no_callbacks, settings):
    settings.SMS_REFRESH_AFTER = 600
    recent, old = taken(no_callbacks), taken(no_callbacks)
    silent_for(recent, 540)
    silent_for(old, 660)
    assert refresh.refresh_stale_messages()["changed"] == 1
    assert fetches(no_callbacks) == 1
    assert (status_of(recent), status_of(old)) == (SMSStatus.QUEUED, SMSStatus.DELIVERED)


def test_a_message_taken_longer_ago_than_SMS_REFRESH_GIVE_UP_AFTER_is_not_fetched(
    no_callbacks, settings
):
    settings.SMS_REFRESH_GIVE_UP_AFTER = 2 * 86400
    given_up, asked_lately, young = (taken(no_callbacks) for _ in range(3))
    silent_for(given_up, 3 * 86400)
    silent_for(asked_lately, SILENT, accepted=2 * 86400 + 60)  # silence is not age
    silent_for(young, SILENT, accepted=86400)
    assert refresh.refresh_stale_messages()["changed"] == 1
    assert fetches(no_callbacks) == 1
    assert [status_of(m) for m in (given_up, asked_lately, young)] == [
        SMSStatus.QUEUED,
        SMSStatus.QUEUED,
        SMSStatus.DELIVERED,
    ]


def test_a_fetch_answered_500_leaves_the_message_for_the_next_run(no_callbacks):
    message = taken(no_callbacks)
    silent_for(message, SILENT)
    silent_since = SMSLog.objects.get(id=message.id).updated_at
    no_callbacks.set_faults(http_500={"rate": 1.0, "scope": "messages", "methods": ["GET"]})
    assert refresh.refresh_stale_messages() == {**NOT_FETCHED, "failed": 1}
    assert fetches(no_callbacks, "500") == 1
    after = SMSLog.objects.get(id=message.id)
    assert (after.status, after.updated_at) == (SMSStatus.QUEUED, silent_since)

    no_callbacks.set_faults(http_500=None)
    assert refresh.refresh_stale_messages()["changed"] == 1
    assert status_of(message) == SMSStatus.DELIVERED


def test_an_outage_ends_the_run_after_a_few_failures_in_a_row(no_callbacks):
    for message in [taken(no_callbacks) for _ in range(refresh.FAILURES_IN_A_ROW_TO_STOP + 2)]:
        silent_for(message, SILENT)
    no_callbacks.set_faults(http_500={"rate": 1.0, "scope": "messages", "methods": ["GET"]})
    assert refresh.refresh_stale_messages()["failed"] == refresh.FAILURES_IN_A_ROW_TO_STOP
    assert fetches(no_callbacks, "500") == refresh.FAILURES_IN_A_ROW_TO_STOP


def test_a_provider_out_of_reach_fails_the_fetch_without_raising(no_callbacks, settings):
    message = taken(no_callbacks)
    silent_for(message, SILENT)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{port}"  # nothing listens: refused
    assert refresh.refresh_stale_messages() == {**NOT_FETCHED, "failed": 1}
    assert status_of(message) == SMSStatus.QUEUED


def test_a_message_the_provider_does_not_know_is_asked_again_only_after_SMS_REFRESH_AFTER(
    no_callbacks,
):
    message = taken(no_callbacks)
    SMSLog.objects.filter(id=message.id).update(provider_sid="SM" + "0" * 32)
    silent_for(message, SILENT)
    assert refresh.refresh_stale_messages() == {**NOT_FETCHED, "failed": 1}  # a 20404
    assert fetches(no_callbacks, "404") == 1
    assert status_of(message) == SMSStatus.QUEUED
    assert refresh.refresh_stale_messages() == NOT_FETCHED
    assert fetches(no_callbacks, "404") == 1


def test_a_status_that_did_not_move_is_asked_again_only_after_SMS_REFRESH_AFTER(no_callbacks):
    no_callbacks.configure(step_delay=3600)  # the provider's copy stays queued
    message = taken(no_callbacks, final="")
    silent_for(message, SILENT)
    assert refresh.refresh_stale_messages() == {**NOT_FETCHED, "fetched": 1, "unchanged": 1}
    assert refresh.refresh_stale_messages() == NOT_FETCHED
    assert fetches(no_callbacks) == 1
    silent_for(message, SILENT)
    assert refresh.refresh_stale_messages()["fetched"] == 1


def test_the_providers_older_status_never_moves_a_message_back(no_callbacks):
    no_callbacks.configure(step_delay=3600)  # the provider's copy stays queued
    message = taken(no_callbacks, final="")
    # The `sent` callback came; the provider still says `queued` to a fetch.
    assert transitions.transition(message.id, SMSStatus.SENT)
    silent_for(message, SILENT)
    assert refresh.refresh_stale_messages() == {**NOT_FETCHED, "fetched": 1, "unchanged": 1}
    assert fetches(no_callbacks) == 1
    after = SMSLog.objects.get(id=message.id)
    assert after.status == SMSStatus.SENT and after.sent_at is not None


def test_a_backend_that_cannot_fetch_is_not_asked(settings):
    settings.SMS_BACKEND = "notifications.backends.console.ConsoleBackend"
    message = SMSLog.objects.create(to=TO, body="hello", provider_sid="CONSOLE" + "0" * 32)
    SMSLog.objects.filter(id=message.id).update(status=SMSStatus.SENT)
    silent_for(message, SILENT)
    silent_since = SMSLog.objects.get(id=message.id).updated_at
    assert refresh.refresh_stale_messages() == NOT_FETCHED
    assert SMSLog.objects.get(id=message.id).updated_at == silent_since


def test_the_locmem_backend_answers_a_fetch_with_what_it_sent():
    message = services.send_sms(to=TO, body="hello", publish=False)
    delivery.deliver_messages(message_ids=[message.id])
    silent_for(message, SILENT)
    assert refresh.refresh_stale_messages() == {**NOT_FETCHED, "fetched": 1, "unchanged": 1}
    assert status_of(message) == SMSStatus.SENT


def test_a_run_stops_fetching_once_the_next_one_is_due(no_callbacks, settings):
    settings.SMS_REFRESH_INTERVAL = 0.3
    for message in [taken(no_callbacks) for _ in range(3)]:
        silent_for(message, SILENT)
    no_callbacks.set_faults(latency={"ms": 400, "scope": "messages", "methods": ["GET"]})
    started = time.monotonic()
    assert refresh.refresh_stale_messages()["changed"] == 1
    assert time.monotonic() - started < 1.2


def beat_and_route(**env) -> dict:
    """The refresh's beat entry and route as config/settings/base.py builds them from `env`."""
    code = (
        "import json; from config.settings import base;"
        "entry = base.CELERY_BEAT_SCHEDULE['refresh-stale-messages'];"
        "print(json.dumps({'task': entry['task'], 'schedule': entry['schedule'],"
        " 'route': base.CELERY_TASK_ROUTES[entry['task']]}))"
    )
    result = run_in_environment(code, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize(("env", "interval"), [({}, 60.0), ({"SMS_REFRESH_INTERVAL": "17"}, 17.0)])
def test_beat_refreshes_every_SMS_REFRESH_INTERVAL_on_the_housekeeping_queue(env, interval):
    assert beat_and_route(**env) == {
        "task": tasks.refresh_stale_messages.name,
        "schedule": interval,
        "route": {"queue": "housekeeping"},
    }


def test_the_worker_routes_the_refresh_to_housekeeping_and_limits_its_time(settings):
    from worker import app

    route = app.amqp.router.route({}, tasks.refresh_stale_messages.name)
    assert route["queue"].name == "housekeeping"
    assert tasks.refresh_stale_messages.time_limit == tasks.REFRESH_TIME_LIMIT
    # A run fetches for SMS_REFRESH_INTERVAL; its last fetch may then take its timeouts.
    last_fetch_ends = sum(
        float(getattr(settings, name))
        for name in ("SMS_REFRESH_INTERVAL", "TWILIO_CONNECT_TIMEOUT", "TWILIO_READ_TIMEOUT")
    )
    assert tasks.REFRESH_TIME_LIMIT > last_fetch_ends
