"""The SMS API: 202 at once, permission checks, and every error in the one envelope."""

import json
import uuid

import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from notifications.models import SMSLog
from notifications.status import SMSStatus

pytestmark = pytest.mark.django_db
SEND = "/api/sms/send/"
RESOURCE_FIELDS = {
    "id",
    "to",
    "status",
    "provider_sid",
    "error_code",
    "error_message",
    "attempts",
    "segments",
    "reference",
    "created_at",
    "updated_at",
}


def assert_envelope(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def test_staff_can_queue_a_message_and_get_202_with_the_resource(staff_client):
    response = staff_client.post(SEND, {"to": "+91 98123 45610", "body": "Hello"}, format="json")
    assert response.status_code == 202
    data = response.json()
    assert set(data) == RESOURCE_FIELDS
    assert data["to"] == "+919812345610" and data["status"] == "pending"
    assert SMSLog.objects.get(id=data["id"]).body == "Hello"


def test_the_status_endpoint_returns_the_resource(staff_client):
    sent = staff_client.post(SEND, {"to": "+919812345610", "body": "Hello"}, format="json").json()
    response = staff_client.get(f"/api/sms/status/{sent['id']}/")
    assert response.status_code == 200
    assert response.json()["id"] == sent["id"] and set(response.json()) == RESOURCE_FIELDS


def test_a_user_with_the_send_permission_may_send(plain_user):
    plain_user.user_permissions.add(Permission.objects.get(codename="send_sms"))
    client = APIClient()
    client.force_authenticate(plain_user)
    assert client.post(SEND, {"to": "+919812345610", "body": "x"}, format="json").status_code == 202


def test_session_auth_works_with_csrf(staff_user):
    client = APIClient(enforce_csrf_checks=True)
    client.login(username="staff", password="pw-staff-123")
    response = client.post(SEND, {"to": "+919812345610", "body": "x"}, format="json")
    assert_envelope(response, 403, "permission_denied")  # no CSRF token
    client.get("/admin/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        SEND, {"to": "+919812345610", "body": "x"}, format="json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 202


def test_idempotency_key_in_body_or_header_gives_one_message(staff_client):
    first = staff_client.post(
        SEND, {"to": "+919812345610", "body": "x", "idempotency_key": "abc"}, format="json"
    )
    second = staff_client.post(
        SEND, {"to": "+919812345610", "body": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="abc"
    )
    assert first.json()["id"] == second.json()["id"]
    assert SMSLog.objects.count() == 1
    conflict = staff_client.post(
        SEND, {"to": "+919812345610", "body": "y", "idempotency_key": "abc"}, format="json"
    )
    assert_envelope(conflict, 409, "idempotency_conflict")


def test_an_invalid_number_is_a_400_naming_the_field(staff_client):
    error = assert_envelope(
        staff_client.post(SEND, {"to": "+91 123", "body": "x"}, format="json"),
        400,
        "invalid_phone_number",
    )
    assert error["details"]["to"]
    assert not SMSLog.objects.exists()


def test_missing_fields_are_a_validation_error(staff_client):
    error = assert_envelope(staff_client.post(SEND, {}, format="json"), 400, "validation_error")
    assert set(error["details"]) == {"to", "body"}


@pytest.mark.parametrize(
    "payload",
    [
        {"to": "+919812345610", "body": "nul\x00byte"},
        {"to": ["+919812345610"], "body": "x"},
        {"to": "+919812345610", "body": {"nested": 1}},
        {"to": "+919812345610" * 10, "body": "x"},
    ],
)
def test_odd_payloads_are_400_never_500(staff_client, payload):
    assert_envelope(staff_client.post(SEND, payload, format="json"), 400, "validation_error")


@pytest.mark.parametrize("body", ["", "   ", "x" * 1601])
def test_an_empty_or_too_long_body_is_invalid_body(staff_client, body):
    error = assert_envelope(
        staff_client.post(SEND, {"to": "+919812345610", "body": body}, format="json"),
        400,
        "invalid_body",
    )
    assert error["details"]["body"]
    assert not SMSLog.objects.exists()


@pytest.mark.parametrize("limit", [10, 2000])
def test_the_body_limit_is_the_sms_max_body_length_setting_alone(staff_client, settings, limit):
    settings.SMS_MAX_BODY_LENGTH = limit
    too_long = {"to": "+919812345610", "body": "x" * (limit + 1)}
    error = assert_envelope(staff_client.post(SEND, too_long, format="json"), 400, "invalid_body")
    assert f"{limit} characters" in error["message"]
    longest = {"to": "+919812345610", "body": "x" * limit}
    assert staff_client.post(SEND, longest, format="json").status_code == 202


@pytest.mark.parametrize(
    "key",
    ["k" * 256, "nul\x00key", "bell\x07key", "del\x7fkey", "tab\tin\tkey", "c1\x85key"],
)
def test_a_bad_idempotency_key_header_is_a_validation_error_naming_the_header(staff_client, key):
    response = staff_client.post(
        SEND, {"to": "+919812345610", "body": "x"}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    error = assert_envelope(response, 400, "validation_error")
    assert list(error["details"]) == ["Idempotency-Key"]
    assert not SMSLog.objects.exists()


@pytest.mark.parametrize("key", ["k" * 256, "nul\x00key", "bell\x07key"])
def test_the_body_field_refuses_the_same_idempotency_keys(staff_client, key):
    payload = {"to": "+919812345610", "body": "x", "idempotency_key": key}
    error = assert_envelope(
        staff_client.post(SEND, payload, format="json"), 400, "validation_error"
    )
    assert list(error["details"]) == ["idempotency_key"]


def test_an_idempotency_key_header_of_255_characters_is_accepted(staff_client):
    key = "k" * 255
    response = staff_client.post(
        SEND, {"to": "+919812345610", "body": "x"}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert response.status_code == 202
    assert SMSLog.objects.get().idempotency_key == key


def test_malformed_json_is_a_parse_error(staff_client):
    response = staff_client.post(SEND, "{not json", content_type="application/json")
    assert_envelope(response, 400, "parse_error")


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nested-100000-deep"),
        pytest.param(b'{"to": "+919812345610", "body": ' + b"[" * 50_000, id="unclosed-deep"),
        pytest.param(b'{"to": NaN, "body": "x"}', id="nan"),
        pytest.param(b'{"to": "+919812345610", "body": Infinity}', id="infinity"),
        pytest.param(b'{"to": -Infinity, "body": "x"}', id="minus-infinity"),
        pytest.param(b'{"to": "+91\xff\xfe", "body": "x"}', id="invalid-utf-8"),
        pytest.param(b'{"to": ' + b"9" * 5000 + b', "body": "x"}', id="huge-integer"),
        pytest.param(rb'{"to": "+919812345610", "body": "\ud800"', id="truncated"),
        pytest.param(b"\xef\xbb\xbf{}", id="byte-order-mark"),
    ],
)
def test_odd_json_is_a_parse_error_never_a_500(staff_client, raw):
    client = staff_client
    client.raise_request_exception = False
    response = client.post(SEND, raw, content_type="application/json")
    assert_envelope(response, 400, "parse_error")
    assert not SMSLog.objects.exists()


@pytest.mark.parametrize("field", ["to", "body", "idempotency_key"])
def test_a_lone_surrogate_is_a_validation_error(staff_client, field):
    """JSON may escape half of a UTF-16 pair; no database can store the resulting string."""
    staff_client.raise_request_exception = False
    payload = {"to": "+919812345610", "body": "x", field: "HALF"}
    raw = json.dumps(payload).replace("HALF", "a\\ud800b").encode()  # the JSON escape itself
    response = staff_client.post(SEND, raw, content_type="application/json")
    error = assert_envelope(response, 400, "validation_error")
    assert list(error["details"]) == [field]
    assert not SMSLog.objects.exists()


@pytest.mark.parametrize(
    "raw", [b"[]", b'["+919812345610", "x"]', b'"text"', b"42", b"null", b"true"]
)
def test_a_json_document_that_is_not_an_object_is_a_validation_error(staff_client, raw):
    client = staff_client
    client.raise_request_exception = False
    response = client.post(SEND, raw, content_type="application/json")
    assert_envelope(response, 400, "validation_error")
    assert not SMSLog.objects.exists()


def test_a_non_json_body_is_unsupported(staff_client):
    response = staff_client.post(SEND, "to=1", content_type="application/x-www-form-urlencoded")
    assert_envelope(response, 415, "unsupported_media_type")


def test_anonymous_requests_are_refused(api_client):
    assert_envelope(
        api_client.post(SEND, {"to": "+919812345610", "body": "x"}, format="json"),
        401,
        "not_authenticated",
    )
    assert_envelope(api_client.get(f"/api/sms/status/{uuid.uuid4()}/"), 401, "not_authenticated")


def test_a_bad_token_is_refused(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token nope")
    assert_envelope(
        api_client.get(f"/api/sms/status/{uuid.uuid4()}/"), 401, "authentication_failed"
    )


def test_users_without_the_permission_are_forbidden(plain_user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=plain_user).key}")
    assert_envelope(
        client.post(SEND, {"to": "+919812345610", "body": "x"}, format="json"),
        403,
        "permission_denied",
    )


@pytest.mark.parametrize("message_id", [uuid.uuid4(), "not-a-uuid"])
def test_an_unknown_message_is_404(staff_client, message_id):
    assert_envelope(staff_client.get(f"/api/sms/status/{message_id}/"), 404, "not_found")


def test_unknown_api_paths_are_404_in_the_envelope(staff_client):
    assert_envelope(staff_client.get("/api/sms/nothing-here/"), 404, "not_found")


def test_wrong_methods_are_405(staff_client):
    assert_envelope(staff_client.get(SEND), 405, "method_not_allowed")
    assert_envelope(
        staff_client.delete(f"/api/sms/status/{uuid.uuid4()}/"), 405, "method_not_allowed"
    )


def test_sending_is_throttled_with_retry_after(staff_client, settings):
    from rest_framework.settings import api_settings

    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "sms_send": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    from notifications.api.views import SendThrottle

    SendThrottle.THROTTLE_RATES = rates
    try:
        for _ in range(2):
            assert (
                staff_client.post(
                    SEND, {"to": "+919812345610", "body": "x"}, format="json"
                ).status_code
                == 202
            )
        response = staff_client.post(SEND, {"to": "+919812345610", "body": "x"}, format="json")
        error = assert_envelope(response, 429, "throttled")
        assert int(response["Retry-After"]) > 0 and error["details"]["retry_after"] > 0
    finally:
        SendThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES


def test_sms_disabled_still_answers_202_with_a_skipped_message(staff_client, settings):
    settings.SMS_ENABLED = False
    response = staff_client.post(SEND, {"to": "+919812345610", "body": "x"}, format="json")
    assert response.status_code == 202 and response.json()["status"] == SMSStatus.SKIPPED


def test_a_single_send_keeps_the_callers_reference(staff_client):
    response = staff_client.post(
        SEND,
        {"to": "+919812345610", "body": "hi", "reference": "application:42:status:selected"},
        format="json",
    )
    assert response.status_code == 202
    assert response.json()["reference"] == "application:42:status:selected"
    assert SMSLog.objects.get().reference == "application:42:status:selected"
