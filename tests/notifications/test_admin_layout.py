"""The admin's audit lists stay readable at 1280 px in a real browser (Chromium via Playwright)."""

import pytest
from django.conf import settings
from django.test import Client

from notifications.models import BulkSend, SMSLog, VerificationAttempt, WebhookEvent
from notifications.status import SMSStatus
from tests.browser import browser_page, clipped, overflow

# The live server's thread must see the rows: they are committed.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LISTS = ["smslog", "webhookevent", "verificationattempt", "bulksend"]


@pytest.fixture
def crowded_audit():
    """Many rows of each list, with long SIDs, keys, error messages and IPv6 addresses."""
    for index in range(30):
        message = SMSLog.objects.create(
            to=f"+9198123456{index:02d}",
            body="Your interview is confirmed. " * 20,
            provider_payload={"body": "https://x.test/?" + "q" * 900, "sid": f"SM{index:032x}"},
            provider_sid=f"SM{index:032x}",
            idempotency_key=f"interview-reminder-{index}-" + "k" * 60,
            status="undelivered",
            error_code="30007",
            error_message="Message filtered by the carrier. " * 4,
            attempts=12,
            segments=10,
        )
        WebhookEvent.objects.create(
            provider_sid=message.provider_sid,
            provider_status="undelivered",
            outcome=WebhookEvent.Outcome.UNKNOWN,
            idempotency_token="t" * 100,
            payload={"MessageSid": message.provider_sid, "Body": "https://x.test/?" + "q" * 900},
            message=message,
        )
        VerificationAttempt.objects.create(
            kind=VerificationAttempt.Kind.START,
            phone_number=f"+1201555{index:04d}",
            outcome=VerificationAttempt.Outcome.COUNTRY_NOT_ALLOWED,
            throttle="sends_per_number_day",
            verification_sid=f"VE{index:032x}",
            error_code="60605",
            client_ip=f"2001:db8:85a3:1234:5678:8a2e:370:{index:04x}",
        )


@pytest.fixture
def crowded_bulks():
    """Bulks in every state with messages in every status, one of 10,000; long references and
    refused entries."""
    statuses = list(SMSStatus)
    for index in range(30):
        size = 10_000 if index == 0 else 40
        state = [BulkSend.State.SENDING, BulkSend.State.COMPLETED, BulkSend.State.CANCELED][
            index % 3
        ]
        bulk = BulkSend.objects.create(
            body="Placement drive on Friday at 10:00 in hall B. " * 30,
            total=size,
            state=state,
            reference=f"placement-drive-{index}-" + "r" * 120,
            idempotency_key=f"placement-drive-{index}-" + "k" * 120,
            rejected=[
                {
                    "index": i,
                    "value": "+91 98123 456" + "x" * 50,
                    "code": "invalid_phone_number",
                    "message": "This is not a phone number: " + "the string is too long " * 5,
                }
                for i in range(80)
            ],
        )
        SMSLog.objects.bulk_create(
            SMSLog(to=f"+9198{i:08d}", body="x", bulk=bulk, bulk_index=i,
                   status=statuses[i % len(statuses)] if index else SMSStatus.PENDING)
            for i in range(size)
        )  # fmt: skip


@pytest.fixture
def session_cookie(admin_user, live_server):
    client = Client()
    client.force_login(admin_user)
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": live_server.url,
    }


@pytest.mark.parametrize("model", LISTS)
def test_every_column_of_the_list_fits_a_1280_px_window(
    crowded_audit, session_cookie, live_server, model, tmp_path, request
):
    if model == "bulksend":
        request.getfixturevalue("crowded_bulks")
    with browser_page() as page:
        page.context.add_cookies([session_cookie])
        page.goto(f"{live_server.url}/admin/notifications/{model}/")
        page.screenshot(path=tmp_path / f"{model}.png")
        measured = overflow(page, "#result_list")
    assert measured == {"page": 0, "container": 0, "table_right": 0, "hidden_headers": []}


@pytest.mark.parametrize("model", ["smslog", "webhookevent", "bulksend"])
def test_a_detail_page_with_a_long_payload_fits_a_1280_px_window(
    crowded_audit, session_cookie, live_server, model, tmp_path, request
):
    if model == "bulksend":
        request.getfixturevalue("crowded_bulks")
    # A finished bulk: the page of a sending one reloads itself while it is measured.
    rows = {"smslog": SMSLog.objects, "webhookevent": WebhookEvent.objects,
            "bulksend": BulkSend.objects.filter(state=BulkSend.State.COMPLETED)}  # fmt: skip
    row = rows[model].first()
    with browser_page() as page:
        page.context.add_cookies([session_cookie])
        page.goto(f"{live_server.url}/admin/notifications/{model}/{row.pk}/change/")
        page.screenshot(path=tmp_path / f"{model}-detail.png", full_page=True)
        measured = page.evaluate("document.documentElement.scrollWidth"), clipped(page, "#content")
    assert measured == (1280, [])
