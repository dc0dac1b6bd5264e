"""The bulk API: 202 with the bulk resource, per-recipient rejections, progress, cancel."""

import json
import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from notifications.delivery import finish_bulk_if_done
from notifications.models import BulkSend, SMSLog
from notifications.status import SMSStatus
from tests.notifications.test_api import assert_envelope

pytestmark = pytest.mark.django_db
BULK = "/api/sms/bulk/"
STATUSES = {status.value for status in SMSStatus}
RESOURCE_FIELDS = {
    "id",
    "state",
    "reference",
    "total",
    "duplicates",
    "rejected",
    "counts",
    "remaining",
    "rate",
    "eta_seconds",
    "segments",
    "created_at",
    "started_at",
    "finished_at",
}

# The same number written as people write it: each is +91 98 followed by eight digits.
FORMATS = [
    lambda digits: f"+91{digits}",
    lambda digits: f"+91 {digits[:5]} {digits[5:]}",
    lambda digits: f"0{digits[:5]} {digits[5:]}",
    lambda digits: digits,
    lambda digits: f"+91-{digits[:5]}-{digits[5:]}",
    lambda digits: f"0091 {digits}",
    lambda digits: f"(+91) {digits}",
]
# Entries that are not a phone number, and the value the rejection shows for each.
INVALID = [
    ("+91 98123 456", "+91 98123 456"),  # too short
    ("+9198000000012", "+9198000000012"),  # too long
    ("98ABC45610", "98ABC45610"),  # letters
    ("call me", "call me"),
    ("", ""),
    ("   ", "   "),
    (919812345610, "919812345610"),  # not a string
    (None, "null"),
    (["+919812345610"], '["+919812345610"]'),
    ({"to": "+919812345610"}, '{"to": "+919812345610"}'),
    (True, "true"),
]


def crowd(size: int):
    """`size` recipients: new numbers, the same numbers again in other formats, and invalid
    entries; with the numbers the bulk must send to (first-seen order), the number of
    duplicates and the rejections it must report."""
    recipients, numbers, rejected, duplicates = [], [], [], 0
    for index in range(size):
        kind = index % 10
        if kind == 7:
            raw, shown = INVALID[(index // 10) % len(INVALID)]
            recipients.append(raw)
            rejected.append((index, shown))
        elif kind in (3, 5) and numbers:
            earlier = numbers[(index * 7919) % len(numbers)][3:]
            recipients.append(FORMATS[(index // 10) % len(FORMATS)](earlier))
            duplicates += 1
        else:
            digits = f"98{len(numbers):08d}"
            recipients.append(FORMATS[index % len(FORMATS)](digits))
            numbers.append(f"+91{digits}")
    return recipients, numbers, rejected, duplicates


def post_bulk(client, recipients, body="Placement drive on Friday", **extra):
    return client.post(BULK, {"recipients": recipients, "body": body, **extra}, format="json")


def test_ten_thousand_recipients_are_read_exactly_and_each_accepted_one_gets_a_message(
    staff_client, staff_user
):
    recipients, numbers, rejected, duplicates = crowd(10_000)
    response = post_bulk(staff_client, recipients, reference="drive-2025")
    assert response.status_code == 202, response.content
    data = response.json()
    assert set(data) == RESOURCE_FIELDS
    assert data["state"] == "accepted" and data["reference"] == "drive-2025"
    assert data["total"] == len(numbers) == 7_000
    assert data["duplicates"] == duplicates == 2_000
    assert [(r["index"], r["value"]) for r in data["rejected"]] == rejected
    assert {r["code"] for r in data["rejected"]} == {"invalid_phone_number"}
    assert all(r["message"] for r in data["rejected"]) and len(rejected) == 1_000
    assert data["counts"] == {**dict.fromkeys(STATUSES, 0), "pending": 7_000}
    assert data["remaining"] == 7_000 and data["rate"] == 0

    bulk = BulkSend.objects.get(id=data["id"])
    assert bulk.created_by == staff_user and bulk.total == 7_000
    messages = SMSLog.objects.filter(bulk=bulk).order_by("bulk_index")
    assert list(messages.values_list("bulk_index", "to")) == list(enumerate(numbers))
    assert set(messages.values_list("body", "reference", "status").distinct()) == {
        ("Placement drive on Friday", "drive-2025", "pending")
    }


def test_accepting_a_bulk_takes_as_many_queries_for_5000_recipients_as_for_10(staff_client):
    def queries(size: int) -> list[str]:
        recipients = [f"+9197{size:04d}{i:04d}" for i in range(size)]
        with CaptureQueriesContext(connection) as captured:
            assert post_bulk(staff_client, recipients).status_code == 202
        return [query["sql"] for query in captured.captured_queries]

    def kinds(sqls: list[str]) -> list[str]:
        # The statement and its table; savepoint names are numbered per test.
        return [
            re.sub(r'"s\d+_x\d+"', "savepoint", sql)[:60]
            for sql in sqls
            if not sql.startswith(batches)
        ]

    batches = 'INSERT INTO "notifications_smslog"'
    small, large = queries(10), queries(5_000)
    assert len([sql for sql in large if sql.startswith(batches)]) <= 3
    assert kinds(small) == kinds(large) and len(kinds(small)) <= 12


def test_the_resource_counts_every_status_and_follows_the_messages(staff_client):
    created = post_bulk(staff_client, ["+919812345610", "+919812345611", "+919812345612"]).json()
    messages = SMSLog.objects.filter(bulk_id=created["id"]).order_by("bulk_index")
    SMSLog.objects.filter(id=messages[0].id).update(
        status=SMSStatus.DELIVERED, accepted_at=timezone.now()
    )
    SMSLog.objects.filter(id=messages[1].id).update(
        status=SMSStatus.FAILED, accepted_at=timezone.now()
    )

    response = staff_client.get(f"{BULK}{created['id']}/")
    assert response.status_code == 200
    data = response.json()
    assert set(data) == RESOURCE_FIELDS and data["id"] == created["id"]
    assert data["counts"] == {**dict.fromkeys(STATUSES, 0), "pending": 1, "delivered": 1,
                              "failed": 1}  # fmt: skip
    assert data["remaining"] == 1 and data["rate"] > 0 and data["eta_seconds"] > 0


def test_a_suppressed_recipient_is_counted_skipped(staff_client):
    from notifications.models import Suppression

    Suppression.objects.create(phone_number="+919812345611", reason="STOP")
    data = post_bulk(staff_client, ["+919812345610", "+91 98123 45611"]).json()
    assert data["counts"]["skipped"] == 1 and data["counts"]["pending"] == 1
    assert data["total"] == 2 and data["remaining"] == 1


def test_an_entry_no_database_can_store_is_rejected_not_a_500(staff_client):
    """JSON may escape half of a UTF-16 pair or a NUL; neither fits a PostgreSQL jsonb."""
    staff_client.raise_request_exception = False
    raw = json.dumps({"recipients": ["+919812345610", "HALF", "NUL"], "body": "x"})
    raw = raw.replace("HALF", "98\\ud800").replace("NUL", "98\\u0000")
    response = staff_client.post(BULK, raw.encode(), content_type="application/json")
    assert response.status_code == 202, response.content
    assert [(r["index"], r["value"]) for r in response.json()["rejected"]] == [
        (1, "98\\ud800"),
        (2, "98\\x00"),
    ]
    only = raw.replace('"+919812345610", ', "")
    error = assert_envelope(
        staff_client.post(BULK, only.encode(), content_type="application/json"),
        400,
        "invalid_recipients",
    )
    assert [r["value"] for r in error["details"]["rejected"]] == ["98\\ud800", "98\\x00"]


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "recipients", ["+919812345610", {"to": "+919812345610"}, 919812345610, None, True]
)
def test_recipients_that_are_not_a_list_are_invalid_recipients(staff_client, recipients):
    error = assert_envelope(post_bulk(staff_client, recipients), 400, "invalid_recipients")
    assert error["details"]["recipients"]
    assert not BulkSend.objects.exists()


def test_an_empty_list_is_invalid_recipients(staff_client):
    assert_envelope(post_bulk(staff_client, []), 400, "invalid_recipients")
    assert not BulkSend.objects.exists()


def test_a_list_without_one_valid_number_is_invalid_recipients_with_each_rejection(
    staff_client,
):
    error = assert_envelope(post_bulk(staff_client, ["+91 123", 42, ""]), 400, "invalid_recipients")
    assert [(r["index"], r["value"], r["code"]) for r in error["details"]["rejected"]] == [
        (0, "+91 123", "invalid_phone_number"),
        (1, "42", "invalid_phone_number"),
        (2, "", "invalid_phone_number"),
    ]
    assert not BulkSend.objects.exists() and not SMSLog.objects.exists()


def test_more_recipients_than_the_setting_allows_is_too_many_recipients(staff_client, settings):
    settings.SMS_BULK_MAX_RECIPIENTS = 5
    recipients = [f"+91981234561{i}" for i in range(6)]
    error = assert_envelope(post_bulk(staff_client, recipients), 400, "too_many_recipients")
    assert error["details"]["max_recipients"] == 5
    assert post_bulk(staff_client, recipients[:5]).status_code == 202


def test_the_default_limit_is_ten_thousand_recipients(staff_client):
    recipients = [f"+9198{i:08d}" for i in range(10_001)]
    assert_envelope(post_bulk(staff_client, recipients), 400, "too_many_recipients")
    assert not BulkSend.objects.exists()


@pytest.mark.parametrize("body", ["", "   ", "x" * 1601])
def test_an_empty_or_too_long_body_is_invalid_body(staff_client, body):
    error = assert_envelope(post_bulk(staff_client, ["+919812345610"], body), 400, "invalid_body")
    assert error["details"]["body"]
    assert not BulkSend.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"body": "x"},
        {"recipients": ["+919812345610"]},
        {"recipients": ["+919812345610"], "body": {"nested": 1}},
        {"recipients": ["+919812345610"], "body": "nul\x00byte"},
        {"recipients": ["+919812345610"], "body": "x", "reference": "r" * 256},
        {"recipients": ["+919812345610"], "body": "x", "idempotency_key": "bell\x07key"},
    ],
)
def test_missing_or_malformed_fields_are_a_validation_error(staff_client, payload):
    assert_envelope(staff_client.post(BULK, payload, format="json"), 400, "validation_error")
    assert not BulkSend.objects.exists()


def test_a_bad_idempotency_key_header_is_a_validation_error_naming_the_header(staff_client):
    payload = {"recipients": ["+919812345610"], "body": "x"}
    response = staff_client.post(BULK, payload, format="json", HTTP_IDEMPOTENCY_KEY="k" * 256)
    error = assert_envelope(response, 400, "validation_error")
    assert list(error["details"]) == ["Idempotency-Key"]


def test_malformed_json_is_a_parse_error(staff_client):
    response = staff_client.post(BULK, '{"recipients": [', content_type="application/json")
    assert_envelope(response, 400, "parse_error")


# --- idempotency -----------------------------------------------------------------------------


def test_the_same_idempotency_key_returns_the_first_bulk(staff_client):
    first = post_bulk(staff_client, ["+919812345610", "+919812345611"], idempotency_key="drive-1")
    # The header works like the body's key; the same numbers in another format are the same.
    again = staff_client.post(
        BULK,
        {"recipients": ["09812345610", "+91 98123 45611"], "body": "Placement drive on Friday"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="drive-1",
    )
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert BulkSend.objects.count() == 1 and SMSLog.objects.count() == 2


@pytest.mark.parametrize(
    "change",
    [{"body": "Another body"}, {"recipients": ["+919812345610"]}],
    ids=["body", "recipients"],
)
def test_reusing_a_key_for_another_bulk_is_a_conflict(staff_client, change):
    post_bulk(staff_client, ["+919812345610", "+919812345611"], idempotency_key="drive-1")
    payload = {
        "recipients": ["+919812345610", "+919812345611"],
        "body": "Placement drive on Friday",
        "idempotency_key": "drive-1",
        **change,
    }
    error = assert_envelope(
        staff_client.post(BULK, payload, format="json"), 409, "idempotency_conflict"
    )
    assert error["details"]["idempotency_key"]
    assert BulkSend.objects.count() == 1


# --- cancel ----------------------------------------------------------------------------------


def test_cancel_stops_the_pending_messages_and_answers_the_same_twice(staff_client):
    bulk = post_bulk(staff_client, ["+919812345610", "+919812345611"]).json()
    for _ in range(2):
        response = staff_client.post(f"{BULK}{bulk['id']}/cancel/")
        assert response.status_code == 200, response.content
        data = response.json()
        assert set(data) == RESOURCE_FIELDS
        assert data["state"] == "canceled" and data["finished_at"]
        assert data["counts"]["canceled"] == 2 and data["remaining"] == 0
    assert set(SMSLog.objects.values_list("status", flat=True)) == {SMSStatus.CANCELED}


def test_a_completed_bulk_cannot_be_canceled(staff_client):
    bulk = post_bulk(staff_client, ["+919812345610", "+919812345611"]).json()
    SMSLog.objects.filter(bulk_id=bulk["id"]).update(status=SMSStatus.DELIVERED)
    assert finish_bulk_if_done(bulk["id"])
    error = assert_envelope(staff_client.post(f"{BULK}{bulk['id']}/cancel/"), 409, "bulk_finished")
    assert error["message"]
    assert BulkSend.objects.get(id=bulk["id"]).state == BulkSend.State.COMPLETED
    assert staff_client.get(f"{BULK}{bulk['id']}/").json()["state"] == "completed"


@pytest.mark.parametrize("bulk_id", [uuid.uuid4(), "not-a-uuid"])
def test_an_unknown_bulk_is_404(staff_client, bulk_id):
    assert_envelope(staff_client.get(f"{BULK}{bulk_id}/"), 404, "not_found")
    assert_envelope(staff_client.post(f"{BULK}{bulk_id}/cancel/"), 404, "not_found")


# --- who may ---------------------------------------------------------------------------------


def test_anonymous_requests_are_refused(api_client):
    bulk_id = uuid.uuid4()
    assert_envelope(post_bulk(api_client, ["+919812345610"]), 401, "not_authenticated")
    assert_envelope(api_client.get(f"{BULK}{bulk_id}/"), 401, "not_authenticated")
    assert_envelope(api_client.post(f"{BULK}{bulk_id}/cancel/"), 401, "not_authenticated")


def test_users_without_the_send_permission_are_forbidden(plain_user, staff_client):
    bulk = post_bulk(staff_client, ["+919812345610"]).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=plain_user).key}")
    assert_envelope(post_bulk(client, ["+919812345610"]), 403, "permission_denied")
    assert_envelope(client.get(f"{BULK}{bulk['id']}/"), 403, "permission_denied")
    assert_envelope(client.post(f"{BULK}{bulk['id']}/cancel/"), 403, "permission_denied")
    assert BulkSend.objects.get().state == BulkSend.State.ACCEPTED


def test_a_user_with_the_send_permission_may_send_a_bulk(plain_user):
    from django.contrib.auth.models import Permission

    plain_user.user_permissions.add(Permission.objects.get(codename="send_sms"))
    client = APIClient()
    client.force_authenticate(plain_user)
    response = post_bulk(client, ["+919812345610"])
    assert response.status_code == 202
    assert BulkSend.objects.get().created_by == plain_user


def test_a_bulk_counts_as_one_request_against_the_send_throttle(staff_client):
    from rest_framework.settings import api_settings

    from notifications.api.views import SendThrottle

    SendThrottle.THROTTLE_RATES = {**api_settings.DEFAULT_THROTTLE_RATES, "sms_send": "1/min"}
    try:
        assert post_bulk(staff_client, ["+919812345610", "+919812345611"]).status_code == 202
        response = post_bulk(staff_client, ["+919812345612"])
        error = assert_envelope(response, 429, "throttled")
        assert int(response["Retry-After"]) > 0 and error["details"]["retry_after"] > 0
    finally:
        SendThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
