"""Status and inbound webhooks: signatures, dedup, forward-only statuses, opt-out keywords."""

import json
import random
import threading
from collections import Counter
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.utils.datastructures import MultiValueDict
from twilio.request_validator import RequestValidator

from notifications import delivery, services
from notifications.backends import BaseSMSBackend, SendResult
from notifications.models import SMSLog, Suppression, WebhookEvent
from notifications.signals import sms_status_changed
from notifications.status import SMSStatus
from tests.notifications.test_api import assert_envelope

STATUS_PATH = "/webhooks/sms/status/"
INBOUND_PATH = "/webhooks/sms/inbound/"
Outcome = WebhookEvent.Outcome


def sign(url: str, params: dict, token: str) -> str:
    return RequestValidator(token).compute_signature(url, params)


def post_signed(client, settings, path, params, *, url=None, token=None, **headers):
    signature = sign(
        url or settings.PUBLIC_BASE_URL + path, params, token or settings.TWILIO_AUTH_TOKEN
    )
    return form_post(client, path, params, HTTP_X_TWILIO_SIGNATURE=signature, **headers)


def form_post(client, path, params, **headers):
    """POST as Twilio does: application/x-www-form-urlencoded."""
    body = urlencode(params, doseq=True)
    return client.post(path, body, content_type="application/x-www-form-urlencoded", **headers)


def callback(sid: str, status: str, **extra) -> dict:
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "AccountSid": "AC" + "0" * 32,
        "From": "+15005550006",
        "To": "+919812345610",
        "ApiVersion": "2010-04-01",
    }
    return {**params, **extra}


def make_message(sid: str, status=SMSStatus.QUEUED) -> SMSLog:
    message = services.send_sms(to="+919812345610", body="hello")
    SMSLog.objects.filter(id=message.id).update(provider_sid=sid, status=status)
    return message


class KnownSidBackend(BaseSMSBackend):
    """Answers with the SID the test chose: its callback could be posted before the answer."""

    sid = ""

    def send(self, message):
        return SendResult(provider_sid=self.sid, status=SMSStatus.QUEUED)


@pytest.fixture
def client():
    return Client()


@pytest.mark.django_db
class TestSignatures:
    def test_a_signed_callback_is_applied(self, client, settings):
        message = make_message("SM" + "a" * 32)
        response = post_signed(
            client, settings, STATUS_PATH, callback(message.provider_sid or "SM" + "a" * 32, "sent")
        )
        assert response.status_code == 200
        assert SMSLog.objects.get(id=message.id).status == SMSStatus.SENT

    @pytest.mark.parametrize(
        "tamper",
        [
            lambda p, s: (p, ""),  # missing
            lambda p, s: (p, "bm90LWEtc2lnbmF0dXJl"),  # forged
            lambda p, s: ({**p, "MessageStatus": "delivered"}, s),  # tampered parameter
            lambda p, s: ({**p, "Extra": "x"}, s),  # added parameter
        ],
    )
    def test_a_bad_signature_is_403_and_changes_nothing(self, client, settings, tamper):
        sid = "SM" + "b" * 32
        message = make_message(sid)
        params = callback(sid, "sent")
        good = sign(settings.PUBLIC_BASE_URL + STATUS_PATH, params, settings.TWILIO_AUTH_TOKEN)
        params, signature = tamper(params, good)
        response = form_post(client, STATUS_PATH, params, HTTP_X_TWILIO_SIGNATURE=signature)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"
        assert SMSLog.objects.get(id=message.id).status == SMSStatus.QUEUED
        assert WebhookEvent.objects.get().outcome == Outcome.REJECTED

    def test_a_signature_for_another_host_is_refused(self, client, settings):
        sid = "SM" + "c" * 32
        make_message(sid)
        response = post_signed(
            client,
            settings,
            STATUS_PATH,
            callback(sid, "sent"),
            url="https://evil.example" + STATUS_PATH,
        )
        assert response.status_code == 403

    def test_a_signature_made_with_another_token_is_refused(self, client, settings):
        response = post_signed(
            client, settings, STATUS_PATH, callback("SM" + "d" * 32, "sent"), token="x" * 32
        )
        assert response.status_code == 403

    def test_behind_a_tls_proxy_the_public_url_is_what_counts(self, client, settings):
        """Twilio signed https://sms.example.com/...; the app sees http on another host and port."""
        settings.PUBLIC_BASE_URL = "https://sms.example.com"
        settings.ALLOWED_HOSTS = ["*"]
        sid = "SM" + "e" * 32
        message = make_message(sid)
        response = post_signed(
            client,
            settings,
            STATUS_PATH,
            callback(sid, "delivered"),
            HTTP_HOST="10.0.0.5:8000",
            HTTP_X_FORWARDED_PROTO="https",
            HTTP_X_FORWARDED_HOST="sms.example.com",
        )
        assert response.status_code == 200
        assert SMSLog.objects.get(id=message.id).status == SMSStatus.DELIVERED

    def test_a_signature_with_the_default_port_spelled_out_is_accepted(self, client, settings):
        settings.PUBLIC_BASE_URL = "https://sms.example.com"
        sid = "SM" + "f" * 32
        make_message(sid)
        url = "https://sms.example.com:443" + STATUS_PATH
        assert (
            post_signed(client, settings, STATUS_PATH, callback(sid, "sent"), url=url).status_code
            == 200
        )

    def test_repeated_keys_are_part_of_the_signature(self, client, settings):
        url = settings.PUBLIC_BASE_URL + INBOUND_PATH
        params = {"From": "+919812345610", "Body": "hi", "MediaUrl": ["https://a/1", "https://a/2"]}
        signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(
            url, MultiValueDict(params | {"From": [params["From"]], "Body": [params["Body"]]})
        )
        response = form_post(client, INBOUND_PATH, params, HTTP_X_TWILIO_SIGNATURE=signature)
        assert response.status_code == 200
        params["MediaUrl"] = ["https://a/1"]
        response = form_post(client, INBOUND_PATH, params, HTTP_X_TWILIO_SIGNATURE=signature)
        assert response.status_code == 403

    @pytest.mark.parametrize("path", [STATUS_PATH, INBOUND_PATH])
    @pytest.mark.parametrize(
        "method", ["get", "put", "patch", "delete", "options", "trace", "head"]
    )
    def test_other_methods_are_405_before_the_signature_is_checked(self, client, path, method):
        response = getattr(client, method)(path)
        assert response.status_code == 405 and response["Allow"] == "POST"
        if method != "head":
            assert_envelope(response, 405, "method_not_allowed")
        assert not WebhookEvent.objects.exists()

    @pytest.mark.parametrize("accept", ["text/xml", "application/xml", "text/html", "image/*"])
    def test_no_accept_header_refuses_a_callback(self, client, settings, accept):
        """What Twilio reads back is TwiML or nothing; a 406 would only lose the callback."""
        sid = "SM" + "9" * 32
        message = make_message(sid)
        status = post_signed(
            client, settings, STATUS_PATH, callback(sid, "sent"), HTTP_ACCEPT=accept
        )
        assert status.status_code == 200
        assert SMSLog.objects.get(id=message.id).status == SMSStatus.SENT
        params = {"MessageSid": "SM" + "8" * 32, "From": "+919812345610", "Body": "HELP"}
        inbound = post_signed(client, settings, INBOUND_PATH, params, HTTP_ACCEPT=accept)
        assert inbound.status_code == 200 and inbound["Content-Type"] == "text/xml"
        assert b"<Message>" in inbound.content

    def test_with_any_accept_header_an_error_is_the_envelope(self, client):
        response = form_post(
            client, STATUS_PATH, callback("SM" + "7" * 32, "sent"), HTTP_ACCEPT="text/xml"
        )
        assert_envelope(response, 403, "permission_denied")


@pytest.mark.django_db
class TestStatusUpdates:
    def test_sent_then_delivered_both_apply(self, client, settings):
        sid = "SM" + "1" * 32
        message = make_message(sid)
        for status in ("sending", "sent", "delivered"):
            assert (
                post_signed(client, settings, STATUS_PATH, callback(sid, status)).status_code == 200
            )
        message.refresh_from_db()
        assert message.status == SMSStatus.DELIVERED and message.sent_at and message.delivered_at
        assert list(WebhookEvent.objects.values_list("outcome", flat=True)) == [Outcome.APPLIED] * 3

    def test_a_failed_callback_with_21610_suppresses_the_number(self, client, settings):
        """Through a Messaging Service an opted-out recipient fails later, with 21610."""
        sid = "SM" + "d" * 32
        message = make_message(sid)
        params = callback(sid, "failed", ErrorCode="21610")
        assert post_signed(client, settings, STATUS_PATH, params).status_code == 200
        message.refresh_from_db()
        assert (message.status, message.error_code) == (SMSStatus.FAILED, "21610")
        assert Suppression.objects.filter(phone_number=message.to, reason="21610").exists()

    def test_other_error_codes_suppress_nothing(self, client, settings):
        sid = "SM" + "e" * 32
        make_message(sid)
        post_signed(client, settings, STATUS_PATH, callback(sid, "undelivered", ErrorCode="30003"))
        assert not Suppression.objects.exists()

    def test_a_duplicate_answers_200_and_changes_nothing(self, client, settings):
        sid = "SM" + "2" * 32
        make_message(sid)
        for _ in range(3):
            assert (
                post_signed(client, settings, STATUS_PATH, callback(sid, "sent")).status_code == 200
            )
        assert Counter(WebhookEvent.objects.values_list("outcome", flat=True)) == {
            Outcome.APPLIED: 1,
            Outcome.DUPLICATE: 2,
        }

    def test_the_idempotency_token_deduplicates_too(self, client, settings):
        sid = "SM" + "3" * 32
        make_message(sid)
        params = callback(sid, "sent")
        post_signed(client, settings, STATUS_PATH, params, HTTP_I_TWILIO_IDEMPOTENCY_TOKEN="tok-1")
        # the same delivery retried after our dedup key expired is still caught by its token
        from notifications.redis_client import get_redis

        get_redis().delete(f"sms:msg:{sid}:sent")
        post_signed(client, settings, STATUS_PATH, params, HTTP_I_TWILIO_IDEMPOTENCY_TOKEN="tok-1")
        assert WebhookEvent.objects.filter(outcome=Outcome.DUPLICATE).count() == 1

    def test_a_late_sent_never_overwrites_delivered(self, client, settings):
        sid = "SM" + "4" * 32
        message = make_message(sid)
        post_signed(client, settings, STATUS_PATH, callback(sid, "delivered"))
        post_signed(client, settings, STATUS_PATH, callback(sid, "sent"))
        assert SMSLog.objects.get(id=message.id).status == SMSStatus.DELIVERED
        assert WebhookEvent.objects.filter(outcome=Outcome.STALE).count() == 1

    def test_the_first_error_code_is_kept(self, client, settings):
        sid = "SM" + "5" * 32
        message = make_message(sid)
        post_signed(client, settings, STATUS_PATH, callback(sid, "undelivered", ErrorCode="30003"))
        post_signed(client, settings, STATUS_PATH, callback(sid, "failed", ErrorCode="30005"))
        message.refresh_from_db()
        assert (message.status, message.error_code) == (SMSStatus.UNDELIVERED, "30003")

    def test_an_unknown_sid_answers_200_and_is_recorded(self, client, settings):
        response = post_signed(client, settings, STATUS_PATH, callback("SM" + "6" * 32, "sent"))
        assert response.status_code == 200
        event = WebhookEvent.objects.get()
        assert event.outcome == Outcome.UNKNOWN
        assert event.payload["To"] == "+9198******10"  # numbers masked in the audit

    def test_a_callback_that_beat_the_worker_is_replayed_when_the_sid_is_recorded(
        self, client, settings
    ):
        sid = "SM" + "7" * 32
        post_signed(client, settings, STATUS_PATH, callback(sid, "delivered"))
        message = services.send_sms(to="+919812345610", body="hello")
        settings.SMS_BACKEND = f"{__name__}.KnownSidBackend"
        KnownSidBackend.sid = sid
        delivery.deliver_messages(message_ids=[message.id])
        assert SMSLog.objects.get(id=message.id).status == SMSStatus.DELIVERED
        assert WebhookEvent.objects.get().outcome == Outcome.APPLIED

    def test_callbacks_that_beat_the_worker_are_replayed_in_the_order_they_came(
        self, client, settings
    ):
        sid = "SM" + "9" * 32
        for status in ("sent", "delivered"):
            post_signed(client, settings, STATUS_PATH, callback(sid, status))
        message = services.send_sms(to="+919812345610", body="hello")
        settings.SMS_BACKEND = f"{__name__}.KnownSidBackend"
        KnownSidBackend.sid = sid
        delivery.deliver_messages(message_ids=[message.id])
        message.refresh_from_db()
        assert message.status == SMSStatus.DELIVERED and message.sent_at and message.delivered_at
        assert set(WebhookEvent.objects.values_list("outcome", flat=True)) == {Outcome.APPLIED}

    def test_the_status_changed_signal_is_sent_after_commit(
        self, client, settings, django_capture_on_commit_callbacks
    ):
        sid = "SM" + "8" * 32
        message = make_message(sid)
        received = []

        def listener(sender, message_id, status, **kwargs):
            received.append((message_id, status))

        sms_status_changed.connect(listener)
        try:
            with django_capture_on_commit_callbacks(execute=True):
                post_signed(client, settings, STATUS_PATH, callback(sid, "sent"))
                post_signed(client, settings, STATUS_PATH, callback(sid, "sent"))
        finally:
            sms_status_changed.disconnect(listener)
        assert received == [(message.id, "sent")]


@pytest.mark.django_db(transaction=True)
def test_shuffled_duplicated_callbacks_end_in_the_right_state_applied_once(settings):
    """1,000 callbacks for 200 messages, duplicated and shuffled: each transition applied once."""
    rng = random.Random(4)
    client = Client()
    finals = {}
    callbacks_to_send = []
    for i in range(200):
        sid = f"SM{i:032x}"
        make_message(sid)
        final = rng.choice(["delivered", "undelivered", "failed"])
        finals[sid] = final
        callbacks_to_send += [callback(sid, s) for s in ("sending", "sent", final)]
    callbacks_to_send += [
        rng.choice(callbacks_to_send) for _ in range(1000 - len(callbacks_to_send))
    ]
    rng.shuffle(callbacks_to_send)
    for params in callbacks_to_send:
        assert post_signed(client, settings, STATUS_PATH, params).status_code == 200

    statuses = dict(SMSLog.objects.values_list("provider_sid", "status"))
    assert statuses == finals
    applied = Counter(
        (e.provider_sid, e.provider_status)
        for e in WebhookEvent.objects.filter(outcome=Outcome.APPLIED)
    )
    assert max(applied.values()) == 1  # no (message, status) applied twice
    assert WebhookEvent.objects.count() == 1000
    assert WebhookEvent.objects.filter(outcome=Outcome.DUPLICATE).count() == 1000 - 600


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_callbacks_apply_once(settings):
    sid = "SM" + "9" * 32
    message = make_message(sid)
    barrier = threading.Barrier(8)
    codes = []

    def deliver():
        barrier.wait()
        codes.append(
            post_signed(Client(), settings, STATUS_PATH, callback(sid, "delivered")).status_code
        )
        connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * 8
    assert Counter(WebhookEvent.objects.values_list("outcome", flat=True)) == {
        Outcome.APPLIED: 1,
        Outcome.DUPLICATE: 7,
    }
    assert SMSLog.objects.get(id=message.id).status == SMSStatus.DELIVERED


@pytest.mark.django_db
class TestInbound:
    @pytest.mark.parametrize("keyword", ["STOP", "stop", "Unsubscribe", "QUIT please", "OPTOUT"])
    def test_opt_out_keywords_suppress_the_number(self, client, settings, keyword):
        response = post_signed(
            client, settings, INBOUND_PATH, {"From": "+919812345610", "Body": keyword}
        )
        assert response.status_code == 200 and response["Content-Type"].startswith("text/xml")
        assert Suppression.objects.filter(phone_number="+919812345610").exists()

    def test_a_send_to_a_suppressed_number_is_skipped_until_start(
        self, client, settings, django_capture_on_commit_callbacks
    ):
        post_signed(client, settings, INBOUND_PATH, {"From": "+919812345610", "Body": "STOP"})
        with django_capture_on_commit_callbacks() as published:
            skipped = services.send_sms(to="+919812345610", body="hello")
        assert skipped.status == SMSStatus.SKIPPED and published == []
        post_signed(client, settings, INBOUND_PATH, {"From": "+919812345610", "Body": "START"})
        with django_capture_on_commit_callbacks() as published:
            again = services.send_sms(to="+919812345610", body="hello")
        assert again.status == SMSStatus.PENDING and len(published) == 1

    def test_help_is_answered_with_the_help_text(self, client, settings):
        settings.SMS_HELP_TEXT = "Placement cell: reply STOP to opt out."
        response = post_signed(
            client, settings, INBOUND_PATH, {"From": "+919812345610", "Body": "HELP"}
        )
        assert b"<Message>Placement cell: reply STOP to opt out.</Message>" in response.content
        assert not Suppression.objects.exists()

    def test_other_replies_get_an_empty_response(self, client, settings):
        response = post_signed(
            client, settings, INBOUND_PATH, {"From": "+919812345610", "Body": "thanks!"}
        )
        assert b"<Message>" not in response.content and b"<Response" in response.content
        assert WebhookEvent.objects.get().kind == WebhookEvent.Kind.INBOUND


@pytest.mark.django_db
def test_old_webhook_events_are_purged(settings):
    from datetime import timedelta

    from django.utils import timezone

    from notifications.callbacks import webhook_events_purge

    old = WebhookEvent.objects.create(outcome=Outcome.APPLIED)
    WebhookEvent.objects.filter(id=old.id).update(received_at=timezone.now() - timedelta(days=31))
    recent = WebhookEvent.objects.create(outcome=Outcome.APPLIED)
    assert webhook_events_purge() == 1
    assert list(WebhookEvent.objects.values_list("id", flat=True)) == [recent.id]


@pytest.mark.django_db
class TestHostileInput:
    """Whatever is posted, the answer is a 4xx in the envelope and the audit row is written."""

    @pytest.mark.parametrize("path", [STATUS_PATH, INBOUND_PATH])
    @pytest.mark.parametrize(
        "poison",
        [
            {"MessageSid": "SM\x00" + "1" * 31},
            {"To": "+9198\x0012345610"},
            {"Body": "STOP\x00"},
            {"Na\x00me": "value"},
        ],
        ids=["sid", "number", "body", "field-name"],
    )
    def test_a_nul_byte_in_a_signed_webhook_is_a_recorded_rejection(
        self, client, settings, path, poison
    ):
        params = {**callback("SM" + "1" * 32, "sent"), "Body": "hi", **poison}
        error = assert_envelope(
            post_signed(client, settings, path, params), 400, "validation_error"
        )
        assert "\x00" not in json.dumps(error)
        event = WebhookEvent.objects.get()
        assert event.outcome == Outcome.REJECTED
        stored = json.dumps(event.payload, ensure_ascii=False) + event.provider_sid
        assert "\x00" not in stored
        if "To" not in poison:  # a number is masked, the replaced NUL along with its digits
            assert "\ufffd" in stored
        assert not Suppression.objects.exists()

    @pytest.mark.parametrize("path", [STATUS_PATH, INBOUND_PATH])
    @pytest.mark.parametrize(
        "poison", [{"MessageSid": "SM\x00"}, {"Body": "\x00"}, {"\x00": "\x00"}]
    )
    def test_a_nul_byte_in_an_unsigned_webhook_is_a_recorded_rejection(self, client, path, poison):
        params = {**callback("SM" + "2" * 32, "sent"), **poison}
        response = form_post(client, path, params, HTTP_X_TWILIO_SIGNATURE="bm90LWEtc2lnbmF0dXJl")
        assert_envelope(response, 403, "permission_denied")
        event = WebhookEvent.objects.get()
        assert event.outcome == Outcome.REJECTED and "\x00" not in json.dumps(event.payload)

    def test_a_nul_byte_in_the_idempotency_token_is_made_harmless(self, client, settings):
        sid = "SM" + "3" * 32
        make_message(sid)
        response = post_signed(
            client,
            settings,
            STATUS_PATH,
            callback(sid, "sent"),
            HTTP_I_TWILIO_IDEMPOTENCY_TOKEN="token\x00",
        )
        assert response.status_code == 200
        assert WebhookEvent.objects.get().idempotency_token == "token\ufffd"

    @pytest.mark.parametrize("path", [STATUS_PATH, INBOUND_PATH])
    @pytest.mark.parametrize("signed", [True, False])
    def test_two_thousand_fields_are_a_400_in_the_envelope(self, client, settings, path, signed):
        params = {f"Field{i}": "x" for i in range(2000)}
        if signed:
            response = post_signed(client, settings, path, params)
        else:
            response = form_post(client, path, params)
        error = assert_envelope(response, 400, "bad_request")
        assert "1000" in error["message"]

    @pytest.mark.parametrize("path", [STATUS_PATH, INBOUND_PATH])
    @pytest.mark.parametrize("megabytes", [3, 20])
    def test_an_oversized_form_body_is_413_in_the_envelope(self, client, path, megabytes):
        params = {**callback("SM" + "4" * 32, "sent"), "Body": "x" * (megabytes * 1024 * 1024)}
        response = form_post(client, path, params, HTTP_X_TWILIO_SIGNATURE="c2ln")
        assert_envelope(response, 413, "payload_too_large")
        assert not WebhookEvent.objects.exists()

    @pytest.mark.parametrize("path", [STATUS_PATH, INBOUND_PATH])
    def test_a_json_body_is_415_in_the_envelope(self, client, path):
        response = client.post(path, {"MessageSid": "SM1"}, content_type="application/json")
        assert_envelope(response, 415, "unsupported_media_type")
