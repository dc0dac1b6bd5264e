"""A broker that is down when a request commits: the recorded message or start still answers 202.

The Celery app really publishes to a port where nothing listens (no mocks); the row stays for
the dispatcher (or abandon_stalled_verifications for a verification start).
"""

import logging
import socket
import threading
import time
from contextlib import contextmanager

import pytest

from notifications import recovery
from notifications.backends import locmem
from notifications.models import SMSLog, VerificationAttempt
from notifications.status import SMSStatus
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)  # publishes run on a real commit
TO = "+919812345610"
# What a request may wait for the publish retries when the broker is down (nothing listens:
# about 0.1 s) or silent (2 attempts of the 2 s socket timeout); bounded in base.py.
BROKER_DOWN_BUDGET = 2.0  # seconds
SILENT_BROKER_BUDGET = 6.0


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def broker_at(port: int):
    """The project's Celery app publishes to this port until the block ends, then as before."""
    from worker import app

    saved = app.conf.broker_url

    def use(url: str) -> None:
        if app._pool is not None and app.conf.broker_url != saved:
            app._pool.force_close_all()  # the connections to the port that was not the broker
        app.conf.broker_url = url
        # The app caches its connection and producer pools; Celery resets both after a fork.
        app._pool = None
        app.amqp._producer_pool = None

    use(f"redis://127.0.0.1:{port}/0")
    try:
        yield app
    finally:
        use(saved)


@pytest.fixture
def broker_down():
    """Nothing listens where the broker should be: the publish is refused."""
    with broker_at(_unused_port()) as app:
        yield app


@pytest.fixture
def silent_broker():
    """A broker that accepts connections and never answers (hung, or gone behind a proxy).

    The kernel completes the handshakes of a listening socket that never accepts; it hangs
    up after 15 s, so that a publish without socket timeouts ends too (and fails the test).
    """
    listener = socket.create_server(("127.0.0.1", 0), backlog=16)
    hang_up = threading.Timer(15, listener.close)
    hang_up.start()
    try:
        with broker_at(listener.getsockname()[1]) as app:
            yield app
    finally:
        hang_up.cancel()
        listener.close()


def warnings_from(caplog, logger: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == logger and r.levelno >= logging.WARNING]


def test_a_recorded_message_answers_202_when_the_publish_fails(broker_down, staff_client, caplog):
    started = time.monotonic()
    response = staff_client.post("/api/sms/send/", {"to": TO, "body": "hello"}, format="json")
    elapsed = time.monotonic() - started
    assert response.status_code == 202, response.content
    message = SMSLog.objects.get(id=response.json()["id"])
    assert message.status == SMSStatus.PENDING and message.lease_owner == ""
    assert message.published_at is None  # never published: the dispatcher's next run takes it
    [line] = warnings_from(caplog, "notifications.publishing")
    assert str(message.id) in line.getMessage() and "dispatcher" in line.getMessage()
    assert line.exc_info is None and TO not in line.getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert elapsed < BROKER_DOWN_BUDGET, f"the request took {elapsed:.2f} s with the broker down"


def test_a_retry_with_the_same_key_finds_the_recorded_message(broker_down, staff_client):
    payload = {"to": TO, "body": "hello", "idempotency_key": "broker-down-1"}
    first = staff_client.post("/api/sms/send/", payload, format="json")
    second = staff_client.post("/api/sms/send/", payload, format="json")
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["id"] == second.json()["id"] and SMSLog.objects.count() == 1


def test_what_the_broker_did_not_take_the_sweeper_delivers_once_it_is_back(
    celery_worker, staff_client, settings
):
    with broker_at(_unused_port()):
        response = staff_client.post("/api/sms/send/", {"to": TO, "body": "late"}, format="json")
    assert response.status_code == 202 and locmem.outbox == []
    assert recovery.dispatch_due_messages()["published"] == 1
    message = wait_for(
        lambda: SMSLog.objects.filter(id=response.json()["id"], status=SMSStatus.SENT).first(),
        what="sent after the sweep",
    )
    assert message.attempts == 1 and [m.body for m in locmem.outbox] == ["late"]


def test_a_sweep_while_the_broker_is_still_down_republishes_nothing_and_says_so(
    broker_down, staff_client, settings
):
    response = staff_client.post("/api/sms/send/", {"to": TO, "body": "still"}, format="json")
    assert response.status_code == 202
    counts = recovery.dispatch_due_messages()
    assert (counts["published"], counts["unpublished"]) == (0, 1)
    message = SMSLog.objects.get(id=response.json()["id"])
    assert message.status == SMSStatus.PENDING and message.published_at is None


def test_a_recorded_verification_start_answers_202_when_the_publish_fails(
    broker_down, api_client, caplog
):
    started = time.monotonic()
    response = api_client.post(
        "/api/sms/verify/start/", {"phone_number": TO, "channel": "sms"}, format="json"
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 202, response.content
    [attempt] = VerificationAttempt.objects.all()
    assert attempt.outcome == VerificationAttempt.Outcome.QUEUED
    [line] = warnings_from(caplog, "notifications.publishing")
    assert str(attempt.id) in line.getMessage()
    assert "abandon_stalled_verifications" in line.getMessage()
    assert line.exc_info is None and TO not in line.getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert elapsed < BROKER_DOWN_BUDGET, f"the request took {elapsed:.2f} s with the broker down"


def test_a_broker_that_never_answers_holds_a_request_a_few_seconds_only(
    silent_broker, staff_client, caplog
):
    started = time.monotonic()
    response = staff_client.post("/api/sms/send/", {"to": TO, "body": "hello"}, format="json")
    elapsed = time.monotonic() - started
    assert response.status_code == 202, response.content
    assert SMSLog.objects.get().status == SMSStatus.PENDING
    [line] = warnings_from(caplog, "notifications.publishing")
    assert "dispatcher" in line.getMessage()
    assert elapsed < SILENT_BROKER_BUDGET, f"the request took {elapsed:.2f} s"
