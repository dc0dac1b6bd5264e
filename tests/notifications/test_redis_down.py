"""Redis down (in production the cache and the broker are one Redis): no request answers 500.

Sends go on unthrottled and wait for the broker; verifications are refused with a 503; status
callbacks are applied without their de-duplication keys; a bulk's cancel is recorded in the
database. The cache and the broker really point at ports where nothing listens (no mocks), and
once they are back everything works as before.
"""

import logging
from contextlib import contextmanager

import pytest
from celery import current_app
from django.conf import settings as django_settings
from django.test import Client, override_settings
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications.backends import locmem
from notifications.models import BulkSend, SMSLog, VerificationAttempt, WebhookEvent
from notifications.redis_client import get_redis
from notifications.status import SMSStatus
from tests.notifications.test_api import assert_envelope
from tests.notifications.test_broker_down import _unused_port, broker_at, warnings_from
from tests.notifications.test_webhooks import STATUS_PATH, callback, post_signed

pytestmark = pytest.mark.django_db(transaction=True)  # publishes run on a real commit
TO = "+919812345610"
SID = "SM" + "1" * 32
Outcome = WebhookEvent.Outcome


@contextmanager
def redis_gone():
    """The cache's Redis and the broker at ports where nothing listens until the block ends.

    Changing CACHES makes Django drop its cache connections (and their pools); the raw client
    of notifications.redis_client is one per URL, so it follows.
    """
    cache = {**django_settings.CACHES["default"]}
    cache["LOCATION"] = f"redis://127.0.0.1:{_unused_port()}/0"
    with broker_at(_unused_port()), override_settings(CACHES={"default": cache}):
        yield


@pytest.fixture
def redis_down():
    with redis_gone():
        yield


@pytest.fixture
def send_rate_of_one():
    """The send throttle at 1/min (DRF binds the rates to the class when it is defined)."""
    from rest_framework.settings import api_settings

    from notifications.api.views import SendThrottle

    SendThrottle.THROTTLE_RATES = {**api_settings.DEFAULT_THROTTLE_RATES, "sms_send": "1/min"}
    yield
    SendThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES


def send(client):
    return client.post("/api/sms/send/", {"to": TO, "body": "hello"}, format="json")


def start(client):
    return client.post("/api/sms/verify/start/", {"phone_number": TO}, format="json")


def tracebacks(caplog) -> list[logging.LogRecord]:
    """Errors logged with a traceback: what a 500 leaves (Django logs every 5xx at ERROR, a
    503 too, with its status line only)."""
    return [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]


# --- Sends: the throttle fails open --------------------------------------------------------


def test_a_send_and_a_bulk_are_recorded_unthrottled_and_answer_202(
    redis_down, send_rate_of_one, staff_client, caplog
):
    single, again = send(staff_client), send(staff_client)  # over the 1/min: not counted
    bulk = staff_client.post(
        "/api/sms/bulk/", {"recipients": [TO, "+919812345611"], "body": "hi"}, format="json"
    )
    assert [r.status_code for r in (single, again, bulk)] == [202, 202, 202], bulk.content
    assert SMSLog.objects.filter(status=SMSStatus.PENDING).count() == 4
    assert SMSLog.objects.get(id=single.json()["id"]).published_at is None  # the outbox
    skipped = warnings_from(caplog, "notifications.api.views")
    assert len(skipped) == 3 and all("throttle skipped" in r.getMessage() for r in skipped)
    assert tracebacks(caplog) == []


def test_with_redis_back_sends_are_throttled_again(send_rate_of_one, staff_client):
    with redis_gone():
        assert send(staff_client).status_code == 202
    assert send(staff_client).status_code == 202
    response = send(staff_client)
    error = assert_envelope(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0 and error["details"]["retry_after"] > 0
    assert SMSLog.objects.count() == 2


# --- Verifications: the throttles fail closed ----------------------------------------------


def test_a_verification_start_and_check_answer_a_503_envelope_and_send_nothing(
    redis_down, api_client, caplog
):
    checked = api_client.post(
        "/api/sms/verify/check/", {"phone_number": TO, "code": "123456"}, format="json"
    )
    for response in (start(api_client), checked):
        error = assert_envelope(response, 503, "service_unavailable")
        assert response["Retry-After"] == "5" and error["details"] == {"retry_after": 5}
    assert VerificationAttempt.objects.count() == 0 and locmem.verification_outbox == []
    refused = warnings_from(caplog, "notifications.throttling")
    assert len(refused) == 2 and TO not in refused[0].getMessage()
    assert tracebacks(caplog) == []


def test_with_redis_back_a_verification_start_is_queued_and_throttled_again(api_client):
    with redis_gone():
        assert_envelope(start(api_client), 503, "service_unavailable")
    assert start(api_client).status_code == 202
    error = assert_envelope(start(api_client), 429, "throttled")
    assert error["details"]["limit"] == "resend_cooldown"
    outcomes = VerificationAttempt.objects.values_list("outcome", flat=True)
    assert sorted(outcomes) == [VerificationAttempt.Outcome.QUEUED, "throttled"]


# --- Status callbacks: applied without their de-duplication keys ---------------------------


def sent_message() -> SMSLog:
    message = SMSLog.objects.create(to=TO, body="hello", provider_sid=SID)
    SMSLog.objects.filter(id=message.id).update(status=SMSStatus.SENT)
    return message


def post_callback(settings, status: str, **headers):
    return post_signed(Client(), settings, STATUS_PATH, callback(SID, status), **headers)


def test_a_status_callback_is_applied_forward_only_and_answers_200(redis_down, settings, caplog):
    message = sent_message()
    # A late `sent`, and a repeat of `delivered`, are stale: the conditional UPDATE dedups.
    for status in ("delivered", "sent", "delivered"):
        answer = post_callback(settings, status, HTTP_I_TWILIO_IDEMPOTENCY_TOKEN=status)
        assert answer.status_code == 200, answer.content
    message.refresh_from_db()
    assert message.status == SMSStatus.DELIVERED and message.delivered_at is not None
    outcomes = WebhookEvent.objects.order_by("received_at").values_list("outcome", flat=True)
    assert list(outcomes) == [Outcome.APPLIED, Outcome.STALE, Outcome.STALE]
    assert len(warnings_from(caplog, "notifications.callbacks")) == 3
    assert tracebacks(caplog) == []


def test_with_redis_back_a_repeated_callback_is_a_duplicate_again(settings):
    sent_message()
    with redis_gone():
        assert post_callback(settings, "delivered").status_code == 200
    assert post_callback(settings, "delivered").status_code == 200  # its first key
    assert post_callback(settings, "delivered").status_code == 200
    outcomes = WebhookEvent.objects.order_by("received_at").values_list("outcome", flat=True)
    assert list(outcomes) == [Outcome.APPLIED, Outcome.STALE, Outcome.DUPLICATE]


# --- A bulk's cancel: recorded in the database, its cache flag skipped ---------------------


def test_a_bulk_cancel_is_recorded_in_the_database(redis_down, staff_client, caplog):
    bulk = staff_client.post(
        "/api/sms/bulk/", {"recipients": [TO, "+919812345611"], "body": "hi"}, format="json"
    )
    assert bulk.status_code == 202, bulk.content
    response = staff_client.post(f"/api/sms/bulk/{bulk.json()['id']}/cancel/")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "canceled" and response.json()["counts"]["canceled"] == 2
    assert BulkSend.objects.get().state == BulkSend.State.CANCELED
    assert set(SMSLog.objects.values_list("status", flat=True)) == {SMSStatus.CANCELED}
    [flag] = warnings_from(caplog, "notifications.services")
    assert "cache flag could not be set" in flag.getMessage()


def test_with_redis_back_a_repeated_cancel_sets_the_workers_flag(staff_client):
    bulk = staff_client.post("/api/sms/bulk/", {"recipients": [TO], "body": "hi"}, format="json")
    cancel = f"/api/sms/bulk/{bulk.json()['id']}/cancel/"
    with redis_gone():
        assert staff_client.post(cancel).status_code == 200
    flag = BulkSend.objects.get().canceled_flag_key
    assert not get_redis().exists(flag)
    again = staff_client.post(cancel)
    assert again.status_code == 200 and again.json()["state"] == "canceled"
    assert get_redis().exists(flag)


# --- The backstop: what no service foresaw is a 503 envelope, never a 500 ------------------


class RedisProbe(APIView):
    """An API view that needs Redis and handles none of its errors."""

    permission_classes: list = []

    def get(self, request):
        get_redis().ping()
        return Response({})


class BrokerProbe(APIView):
    """An API view that publishes without notifications.publishing's guard."""

    permission_classes: list = []

    def post(self, request):
        current_app.send_task("tests.redis_down.probe")
        return Response({})


urlpatterns = [
    path("api/probe/redis/", RedisProbe.as_view()),
    path("api/probe/broker/", BrokerProbe.as_view()),
]


@pytest.mark.urls(__name__)
def test_an_unhandled_redis_or_broker_error_in_an_api_view_is_a_503_envelope(
    redis_down, api_client, caplog
):
    # An in-process Celery worker of an earlier test may have left the root logger at ERROR.
    caplog.set_level(logging.WARNING, logger="config.exceptions")
    for response in (api_client.get("/api/probe/redis/"), api_client.post("/api/probe/broker/")):
        error = assert_envelope(response, 503, "service_unavailable")
        assert response["Retry-After"] == "5" and error["details"] == {"retry_after": 5}
    assert len(warnings_from(caplog, "config.exceptions")) == 2
    assert tracebacks(caplog) == []


@pytest.mark.urls(__name__)
def test_with_redis_back_the_redis_probe_answers_200(api_client):
    with redis_gone():
        assert api_client.get("/api/probe/redis/").status_code == 503
    assert api_client.get("/api/probe/redis/").status_code == 200
