"""Delivery end to end: the API, a real Celery worker, Redis, PostgreSQL and the Twilio sandbox."""

import time

import pytest
from celery.result import AsyncResult
from django.db import transaction

from notifications import services
from notifications.models import SMSLog, WebhookEvent
from notifications.redis_client import get_redis
from notifications.status import SMSStatus
from tests.helpers import wait_for

pytestmark = pytest.mark.integration
TO = "+919812345610"
FINAL_OR_ACCEPTED = {SMSStatus.QUEUED, SMSStatus.SENDING, SMSStatus.SENT, SMSStatus.DELIVERED}


def accepted(message_id) -> SMSLog | None:
    message = SMSLog.objects.get(id=message_id)
    return message if message.status in FINAL_OR_ACCEPTED and message.provider_sid else None


def settled(message_id) -> SMSLog | None:
    message = SMSLog.objects.get(id=message_id)
    return message if message.status != SMSStatus.PENDING else None


def test_a_message_goes_from_pending_to_queued_with_the_sid_recorded(
    celery_worker, sandbox, staff_client
):
    started = time.monotonic()
    response = staff_client.post(
        "/api/sms/send/", {"to": "98123 45610", "body": "Hello"}, format="json"
    )
    assert response.status_code == 202 and response.json()["status"] == "pending"
    message = wait_for(lambda: accepted(response.json()["id"]), what="accepted by the sandbox")
    assert message.provider_sid.startswith("SM") and len(message.provider_sid) == 34
    assert (
        message.attempts == 1
        and message.queued_at
        and message.provider_payload["sid"] == message.provider_sid
    )
    [received] = sandbox.messages(to=TO)
    assert (received["sid"], received["body"], received["from"]) == (
        message.provider_sid,
        "Hello",
        "+15005550006",
    )
    assert time.monotonic() - started < 15


def test_a_503_then_201_ends_accepted_after_one_retry(celery_worker, sandbox):
    sandbox.set_faults(http_503={"next": 1, "scope": "messages", "methods": ["POST"]})
    message = services.send_sms(to=TO, body="retry me")
    message = wait_for(lambda: accepted(message.id), what="accepted after a retry")
    assert message.attempts == 2
    assert message.error_code == ""  # the transient error is cleared once accepted
    assert len(sandbox.messages(to=TO)) == 1


def test_a_21211_ends_failed_without_retry(celery_worker, sandbox):
    message = services.send_sms(to="+15005550001", body="invalid per Twilio")
    message = wait_for(lambda: settled(message.id), what="settled")
    assert (message.status, message.error_code, message.attempts) == (SMSStatus.FAILED, "21211", 1)
    assert message.failed_at and not message.provider_sid
    assert sandbox.messages(to="+15005550001") == []


def test_a_21610_fails_and_suppresses_the_number(celery_worker, sandbox):
    from notifications.suppression import is_suppressed

    message = services.send_sms(to="+15005550004", body="opted out per Twilio")
    message = wait_for(lambda: settled(message.id), what="settled")
    assert (message.status, message.error_code, message.attempts) == (SMSStatus.FAILED, "21610", 1)
    assert is_suppressed("+15005550004")
    assert services.send_sms(to="+15005550004", body="again").status == SMSStatus.SKIPPED


def test_a_429_with_retry_after_is_honoured(celery_worker, sandbox):
    """Retries wait ~0.1 s in tests; a Retry-After of 1 s must hold the retry back that long."""
    sandbox.set_faults(
        http_429={"next": 1, "scope": "messages", "methods": ["POST"], "retry_after": 1}
    )
    started = time.monotonic()
    message = services.send_sms(to=TO, body="slow down")
    message = wait_for(lambda: accepted(message.id), what="accepted after the 429")
    assert time.monotonic() - started >= 1.0
    assert message.attempts == 2 and len(sandbox.messages(to=TO)) == 1


def test_when_retries_run_out_the_message_ends_failed(celery_worker, sandbox, settings):
    settings.SMS_RETRY_ATTEMPTS = 2
    sandbox.set_faults(http_500={"next": 10, "scope": "messages", "methods": ["POST"]})
    message = services.send_sms(to=TO, body="never")
    message = wait_for(lambda: settled(message.id), what="settled")
    assert (message.status, message.attempts) == (SMSStatus.FAILED, 3)
    assert message.error_code and message.error_code.startswith("20")
    assert sandbox.messages(to=TO) == []


def test_a_timeout_then_retry_adopts_the_message_instead_of_sending_twice(
    celery_worker, sandbox, settings
):
    """The sandbox accepts the message, then drops the connection: the retry adopts it."""
    sandbox.set_faults(accept_then_drop={"next": 1, "scope": "messages", "methods": ["POST"]})
    message = services.send_sms(to=TO, body="accepted, answer lost")
    message = wait_for(lambda: accepted(message.id), what="accepted")
    [received] = sandbox.messages(to=TO)
    assert message.provider_sid == received["sid"] and message.attempts == 2


def test_a_redelivered_task_does_not_send_twice(celery_worker, sandbox):
    message = services.send_sms(to=TO, body="once")
    message = wait_for(lambda: accepted(message.id), what="accepted")
    # The broker hands the same task message out again (a lost ack, a restarted worker).
    redelivery = celery_worker.tasks["notifications.tasks.deliver_sms"].apply_async(
        args=[str(message.id)], retries=0
    )
    assert AsyncResult(redelivery.id).get(timeout=15) == {}  # nothing to claim: did nothing
    message.refresh_from_db()
    assert message.attempts == 1
    assert len(sandbox.messages(to=TO)) == 1


def test_the_same_idempotency_key_twice_gives_one_message(celery_worker, sandbox, staff_client):
    payload = {"to": TO, "body": "once only", "idempotency_key": "order-17-shipped"}
    first = staff_client.post("/api/sms/send/", payload, format="json").json()
    second = staff_client.post("/api/sms/send/", payload, format="json").json()
    assert first["id"] == second["id"]
    wait_for(lambda: accepted(first["id"]), what="accepted")
    assert SMSLog.objects.count() == 1 and len(sandbox.messages(to=TO)) == 1


def test_a_rolled_back_caller_publishes_nothing(celery_worker, sandbox):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.send_sms(to="+919812345611", body="rolled back")
        raise RuntimeError("the caller's transaction fails")
    assert get_redis().llen("sms") == 0
    # A later message goes through the same queue; by the time it is delivered, anything
    # published before it would have been too.
    later = services.send_sms(to=TO, body="committed")
    wait_for(lambda: accepted(later.id), what="accepted")
    assert sandbox.messages(to="+919812345611") == []
    assert not SMSLog.objects.filter(to="+919812345611").exists()


def test_status_callbacks_move_the_message_to_delivered(
    celery_worker, sandbox, live_server, settings
):
    """The sandbox posts signed callbacks to our live webhook: queued → … → delivered."""
    settings.PUBLIC_BASE_URL = live_server.url
    message = services.send_sms(to=TO, body="all the way")
    message = wait_for(
        lambda: SMSLog.objects.filter(id=message.id, status=SMSStatus.DELIVERED).first(),
        what="delivered through the webhook",
    )
    assert message.sent_at and message.delivered_at
    outcomes = set(
        WebhookEvent.objects.filter(provider_sid=message.provider_sid).values_list(
            "outcome", flat=True
        )
    )
    assert outcomes <= {"applied", "duplicate", "stale"} and "applied" in outcomes
    assert sandbox.messages(to=TO)[0]["status"] == "delivered"


def test_callbacks_racing_the_recording_of_their_sid_are_never_left_unknown(
    celery_worker, sandbox, live_server, settings
):
    """Callbacks come within milliseconds of each create, while the run records its SIDs."""
    settings.PUBLIC_BASE_URL = live_server.url
    sandbox.configure(step_delay=0.001)
    ids = [services.send_sms(to=f"+91981{i:07d}", body="race").id for i in range(40)]
    wait_for(
        lambda: SMSLog.objects.filter(id__in=ids, status=SMSStatus.DELIVERED).count() == 40,
        timeout=60,
        what="all delivered through the webhook",
    )
    # Out of order, a `sent` after `delivered` is stale; none may stay unknown.
    assert not WebhookEvent.objects.filter(outcome=WebhookEvent.Outcome.UNKNOWN).exists()


def test_a_number_configured_to_fail_ends_undelivered_with_its_error(
    celery_worker, sandbox, live_server, settings
):
    settings.PUBLIC_BASE_URL = live_server.url
    sandbox.configure(fail_numbers={TO: {"status": "undelivered", "error_code": 30003}})
    message = services.send_sms(to=TO, body="unreachable handset")
    message = wait_for(
        lambda: SMSLog.objects.filter(id=message.id, status=SMSStatus.UNDELIVERED).first(),
        what="undelivered",
    )
    assert message.error_code == "30003"


def test_inbound_stop_then_send_is_skipped_and_start_sends_again(
    celery_worker, sandbox, live_server, settings
):
    settings.PUBLIC_BASE_URL = live_server.url
    sandbox.configure(inbound_url=live_server.url + "/webhooks/sms/inbound/")
    sandbox.inbound(TO, "STOP")
    assert services.send_sms(to=TO, body="after stop").status == SMSStatus.SKIPPED
    sandbox.inbound(TO, "START")
    message = services.send_sms(to=TO, body="after start")
    wait_for(lambda: accepted(message.id), what="accepted")
    assert [
        m["body"] for m in sandbox.messages(to=TO) if m.get("direction", "").startswith("outbound")
    ] == ["after start"]
