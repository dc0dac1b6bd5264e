"""Provider answers the core must not mishandle: a create already final, unknown statuses."""

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from notifications import delivery, services
from notifications.models import SMSLog, WebhookEvent
from notifications.status import TWILIO_UNKNOWN, SMSStatus
from notifications.suppression import is_suppressed
from tests.helpers import wait_for
from tests.notifications.test_webhooks import STATUS_PATH, callback, make_message, post_signed
from twilio_sandbox.records import Message, new_sid

TO = "+919812345610"


def settled(message_id) -> SMSLog | None:
    message = SMSLog.objects.get(id=message_id)
    return message if message.status != SMSStatus.PENDING else None


@pytest.mark.integration
@pytest.mark.parametrize(
    ("twilio_status", "code", "status", "error_message"),
    [
        ("failed", 30007, SMSStatus.FAILED, "Message filtered"),
        ("undelivered", 30003, SMSStatus.UNDELIVERED, "Unreachable destination handset"),
    ],
)
def test_a_create_answered_final_keeps_twilios_error_code_and_message(
    celery_worker, sandbox, twilio_status, code, status, error_message
):
    sandbox.configure(
        fail_numbers={TO: {"error_code": code, "status": twilio_status, "on_create": True}}
    )
    message = services.send_sms(to=TO, body="filtered at once")
    message = wait_for(lambda: settled(message.id), what="settled")
    [received] = sandbox.messages(to=TO)
    assert (message.status, message.error_code, message.error_message) == (
        status, str(code), error_message,
    )  # fmt: skip
    assert message.provider_sid == received["sid"] and message.attempts == 1
    assert message.provider_payload["error_code"] == code and message.failed_at
    assert not is_suppressed(TO)


@pytest.mark.integration
def test_a_retry_that_adopts_an_accepted_but_failed_copy_keeps_its_error_code(
    celery_worker, sandbox
):
    """The create was taken (already failed) but the answer was lost: the retry finds the
    provider's copy in its list and records it with Twilio's code, without sending again."""
    sandbox.configure(
        fail_numbers={TO: {"error_code": 30007, "status": "failed", "on_create": True}}
    )
    sandbox.set_faults(accept_then_drop={"next": 1, "scope": "messages", "methods": ["POST"]})
    message = services.send_sms(to=TO, body="filtered, answer lost")
    message = wait_for(lambda: settled(message.id), what="settled")
    [received] = sandbox.messages(to=TO)
    assert (message.status, message.error_code) == (SMSStatus.FAILED, "30007")
    assert message.error_message == "Message filtered"
    assert message.provider_sid == received["sid"] and message.attempts == 2


@pytest.mark.integration
def test_a_create_answered_failed_with_21610_suppresses_the_number(celery_worker, sandbox):
    """A Messaging Service reports an opted-out recipient on the failed message, not as a 400."""
    sandbox.configure(fail_numbers={TO: {"error_code": 21610, "on_create": True}})
    message = services.send_sms(to=TO, body="opted out")
    message = wait_for(lambda: settled(message.id), what="settled")
    assert (message.status, message.error_code) == (SMSStatus.FAILED, "21610")
    assert is_suppressed(TO)
    assert services.send_sms(to=TO, body="again").status == SMSStatus.SKIPPED


class TwilioDouble:
    """Answers every create with a Twilio message resource whose status Twilio's spec lacks.

    The sandbox keeps to the spec, so this status (one Twilio might add) needs its own double.
    """

    def __init__(self, status: str) -> None:
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                now = time.time()
                resource = Message(
                    sid=double.sid, account_sid="AC" + "0" * 31 + "1", to=TO,
                    from_="+15005550006", body="hello", date_created=now, date_updated=now,
                ).to_api()  # fmt: skip
                payload = json.dumps({**resource, "status": status}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.sid = new_sid("SM")
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def unknown_status() -> str:
    return f"teleported-{uuid.uuid4().hex[:8]}"  # logged once per process: new in every test


@pytest.fixture
def twilio_double(settings, unknown_status) -> Iterator[TwilioDouble]:
    double = TwilioDouble(unknown_status)
    settings.SMS_BACKEND = "notifications.backends.twilio.TwilioBackend"
    settings.TWILIO_API_BASE_URL = double.base_url
    yield double
    double.close()


@pytest.mark.django_db
def test_an_unknown_status_in_a_create_keeps_the_sid_and_lands_where_it_is_revisited(
    twilio_double, unknown_status, caplog
):
    message = services.send_sms(to=TO, body="hello")
    with caplog.at_level(logging.WARNING, logger="notifications"):
        delivery.deliver_messages(message_ids=[message.id])
    message.refresh_from_db()
    assert (message.status, message.provider_sid) == (TWILIO_UNKNOWN, twilio_double.sid)
    assert message.provider_payload["status"] == unknown_status  # the raw answer is kept
    logged = [r.getMessage() for r in caplog.records if unknown_status in r.getMessage()]
    assert len(logged) == 1 and "+91" not in logged[0]


@pytest.mark.django_db
def test_an_unknown_status_callback_is_recorded_raw_and_moves_nothing(
    client, settings, unknown_status, caplog
):
    sids = ["SM" + "9" * 32, "SM" + "8" * 31 + "9"]
    messages = [make_message(sid, status=SMSStatus.SENT) for sid in sids]
    with caplog.at_level(logging.WARNING, logger="notifications"):
        for sid in sids:
            post_signed(client, settings, STATUS_PATH, callback(sid, unknown_status))
    for message, sid in zip(messages, sids, strict=True):
        assert SMSLog.objects.get(id=message.id).status == SMSStatus.SENT
        event = WebhookEvent.objects.get(provider_sid=sid)
        assert event.outcome == WebhookEvent.Outcome.STALE
        assert event.provider_status == event.payload["MessageStatus"] == unknown_status
    logged = [r.getMessage() for r in caplog.records if unknown_status in r.getMessage()]
    assert len(logged) == 1 and "+91" not in logged[0]  # once per value, no number


@pytest.mark.django_db
def test_an_unknown_status_callback_for_a_pending_row_records_it_as_accepted(
    client, settings, unknown_status
):
    """A row whose SID the worker recorded but whose status is still pending moves to queued."""
    sid = "SM" + "a" * 31 + "9"
    message = make_message(sid, status=SMSStatus.PENDING)
    post_signed(client, settings, STATUS_PATH, callback(sid, unknown_status))
    assert SMSLog.objects.get(id=message.id).status == TWILIO_UNKNOWN
    assert WebhookEvent.objects.get(provider_sid=sid).outcome == WebhookEvent.Outcome.APPLIED
