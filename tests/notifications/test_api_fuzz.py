"""Schemathesis over the API's own OpenAPI schema: every operation, anonymous and with
credentials, against the WSGI application in-process, on real PostgreSQL and Redis.

Every answer must be no 5xx and documented (status, content type, body schema); every 4xx
is exactly the error envelope; a 429 carries Retry-After. Generation is derandomized, so each
run sends the same requests. Anonymous webhook requests carry whatever X-Twilio-Signature is
generated (403); with credentials they are signed as Twilio signs them. A share of the
generated values is swapped for ones that get past validation (valid numbers, ids that exist,
Twilio's statuses and keywords), so that the success paths are fuzzed too, and for Accept
headers the API refuses (406).
"""

import io
from collections import Counter

import pytest
import schemathesis
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIRequest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from twilio.request_validator import RequestValidator

from config.wsgi import application
from notifications import services
from notifications.api.views import SendThrottle
from notifications.models import BulkSend, SMSLog
from notifications.status import TWILIO_STATUS_MAP, SMSStatus
from notifications.suppression import HELP_KEYWORDS, OPT_IN_KEYWORDS, OPT_OUT_KEYWORDS

# Per operation and run, besides the schema's examples and schemathesis' coverage cases:
# 2,700 requests in all, about 30 s on the 2-core development machine (50 s under coverage).
MAX_EXAMPLES = 120
# The throttles keep their windows in Redis; cleared this often, requests get through again.
CLEAR_CACHE_EVERY = 100
# Low enough that the staff run meets the send throttle (and its 429) between two clears.
SEND_THROTTLE_RATE = "80/min"

# As the app generates and serves it.
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)

FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    # The tests take function-scoped fixtures (the database, a token) on purpose: one set-up
    # per operation, shared by its examples.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- values that get past validation, swapped in for a share of the generated ones -----------

NUMBERS = [
    "+91 98123 45610",
    "09812345611",
    "+919812345612",
    "+1 415 555 2671",
    "+44 7700 900123",  # valid, but not in SMS_VERIFY_ALLOWED_COUNTRIES
]
TWILIO_STATUSES = [*TWILIO_STATUS_MAP, "read", "received", "not-yet-invented"]
KEYWORDS = [*sorted(OPT_OUT_KEYWORDS | OPT_IN_KEYWORDS | HELP_KEYWORDS), "stop ", "Help"]
ACCEPT = ["application/json", "*/*", "text/html", "application/xml", "application/json; q=0"]
# Ids of the records `resources` makes for each test: drawn at generation time.
KNOWN: dict[str, list[str]] = {"message_id": [], "bulk_id": [], "MessageSid": []}


def sometimes(value, variants: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.just(value), variants)


def with_field(value: dict, name: str, choices) -> st.SearchStrategy:
    return sometimes(value, st.sampled_from(choices).map(lambda choice: {**value, name: choice}))


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    for name in path_parameters or {}:
        if KNOWN.get(name):
            return with_field(path_parameters, name, KNOWN[name])
    return st.just(path_parameters)


@schema.hook
def flatmap_body(context, body):
    if not isinstance(body, dict):
        return st.just(body)
    path = context.operation.path
    if path == "/api/sms/send/":
        return with_field(body, "to", NUMBERS)
    if path == "/api/sms/bulk/":
        recipients = st.lists(st.sampled_from(NUMBERS) | st.text(max_size=20), min_size=1)
        return sometimes(body, recipients.map(lambda value: {**body, "recipients": value}))
    if path.startswith("/api/sms/verify/"):
        return with_field(body, "phone_number", NUMBERS)
    if path == "/webhooks/sms/status/":
        sids = KNOWN["MessageSid"] or ["SM0"]
        known = with_field(body, "MessageSid", sids)
        return known.flatmap(lambda b: with_field(b, "MessageStatus", TWILIO_STATUSES))
    if path == "/webhooks/sms/inbound/":
        sender = with_field(body, "From", NUMBERS)
        return sender.flatmap(lambda b: with_field(b, "Body", KEYWORDS))
    return st.just(body)


@schema.hook
def flatmap_headers(context, headers):
    return with_field(headers or {}, "Accept", ACCEPT)


# --- checks ----------------------------------------------------------------------------------


def error_envelope(ctx, response, case):
    """Every 4xx is exactly the envelope; a 429 says when to come back."""
    if not 400 <= response.status_code < 500:
        return
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/json"), f"a 4xx as {content_type!r}"
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict) and set(error) == {"code", "message", "details"}, body
    assert isinstance(error["code"], str) and error["code"], body
    assert isinstance(error["message"], str) and error["message"], body
    assert isinstance(error["details"], dict), body
    if response.status_code == 429:
        assert response.headers.get("retry-after"), "a 429 without Retry-After"


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    error_envelope,
]

# --- the application, in-process -------------------------------------------------------------


class SignedWebhooks:
    """Twilio in front of the app: signs each webhook request as the app reads it (the form
    parameters Django parses from the body; PUBLIC_BASE_URL + the path and query)."""

    def __init__(self, app, *, base_url: str, auth_token: str):
        self.app = app
        self.base_url = base_url.rstrip("/")
        self.validator = RequestValidator(auth_token)

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").startswith("/webhooks/"):
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            request = WSGIRequest(dict(environ))
            try:
                params = request.POST
            except Exception:  # the app answers an unreadable body itself
                params = {}
            url = self.base_url + request.get_full_path()
            environ["HTTP_X_TWILIO_SIGNATURE"] = self.validator.compute_signature(url, params)
            environ["wsgi.input"] = io.BytesIO(body)
        return self.app(environ, start_response)


class Run:
    """One operation's run: the statuses its requests were answered, and how many of them
    succeeded (in the operation's own method: not the OPTIONS or TRACE of coverage cases)."""

    def __init__(self, capture_on_commit):
        self.answers: Counter = Counter()
        self.successes = 0
        self.capture_on_commit = capture_on_commit

    def call(self, case, **kwargs) -> None:
        if self.answers.total() and self.answers.total() % CLEAR_CACHE_EVERY == 0:
            cache.clear()
        # What the request publishes after its commit is published before the next one.
        with self.capture_on_commit(execute=True):
            response = case.call_and_validate(checks=CHECKS, **kwargs)
        self.answers[response.status_code] += 1
        if response.status_code < 300 and case.method.upper() == case.operation.method.upper():
            self.successes += 1


@pytest.fixture
def run(db, django_capture_on_commit_callbacks):
    """Requests run on the test's own connection and transaction, as with Django's test
    client (which keeps the connection open between requests); what they publish on commit
    is published all the same. Throttles start empty."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    cache.clear()
    run = Run(django_capture_on_commit_callbacks)
    yield run
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
    cache.clear()


@pytest.fixture
def resources(run, django_user_model):
    """Messages and bulks in several states, for path parameters and status callbacks."""
    staff = django_user_model.objects.create_user("fuzz-staff", is_staff=True)
    pending = services.send_sms(to="+919812345620", body="Pending")
    sent = services.send_sms(to="+919812345621", body="Sent")
    delivered = services.send_sms(to="+919812345622", body="Delivered")
    sids = ["SM" + "1" * 32, "SM" + "2" * 32]
    SMSLog.objects.filter(pk=sent.pk).update(status=SMSStatus.SENT, provider_sid=sids[0])
    SMSLog.objects.filter(pk=delivered.pk).update(status=SMSStatus.DELIVERED, provider_sid=sids[1])
    sending = services.send_bulk(recipients=["+919812345623"], body="Bulk", created_by=staff)
    completed = services.send_bulk(recipients=["+919812345624"], body="Done", created_by=staff)
    BulkSend.objects.filter(pk=completed.pk).update(state=BulkSend.State.COMPLETED)
    canceled = services.send_bulk(recipients=["+919812345625"], body="Stop", created_by=staff)
    services.cancel_bulk(bulk_id=canceled.pk)
    KNOWN["message_id"][:] = [str(message.pk) for message in (pending, sent, delivered)]
    KNOWN["bulk_id"][:] = [str(bulk.pk) for bulk in (sending, completed, canceled)]
    KNOWN["MessageSid"][:] = sids
    yield staff
    for values in KNOWN.values():
        values.clear()


@pytest.fixture
def staff_token(resources, run, monkeypatch):
    monkeypatch.setattr(SendThrottle, "rate", SEND_THROTTLE_RATE, raising=False)
    yield Token.objects.create(user=resources).key
    # Fuzzing that never got past validation would pass without testing much.
    assert run.successes, f"never a success: {dict(run.answers)}"


@schema.parametrize()
@FUZZ
def test_anonymous_requests_are_answered_as_documented(case, run, resources):
    run.call(case)


@schema.parametrize()
@FUZZ
def test_staff_requests_are_answered_as_documented(case, run, staff_token, settings):
    signed = SignedWebhooks(
        application, base_url=settings.PUBLIC_BASE_URL, auth_token=settings.TWILIO_AUTH_TOKEN
    )
    run.call(case, headers={"Authorization": f"Token {staff_token}"}, app=signed)
