"""The admin shows SMS logs read-only with masked numbers and finds them by number or SID."""

import re

import pytest

from notifications import services
from notifications.models import SMSLog, Suppression, VerificationAttempt, WebhookEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_with_messages(admin_client):
    first = services.send_sms(to="+919812345610", body="one")
    services.send_sms(to="+12015550123", body="two")
    SMSLog.objects.filter(id=first.id).update(provider_sid="SM" + "a" * 32, status="delivered")
    return admin_client


def test_the_list_shows_masked_numbers_only(admin_client_with_messages):
    page = admin_client_with_messages.get("/admin/notifications/smslog/").content.decode()
    assert "+9198******10" in page and "+1201*****23" in page
    assert "+919812345610" not in page


def test_search_by_number_in_any_format(admin_client_with_messages):
    page = admin_client_with_messages.get("/admin/notifications/smslog/", {"q": "098123 45610"})
    assert "+9198******10" in page.content.decode() and "+1201*****23" not in page.content.decode()


def test_search_by_sid_and_filter_by_status(admin_client_with_messages):
    page = admin_client_with_messages.get("/admin/notifications/smslog/", {"q": "SM" + "a" * 32})
    assert "+9198******10" in page.content.decode() and "+1201*****23" not in page.content.decode()
    page = admin_client_with_messages.get(
        "/admin/notifications/smslog/", {"status__exact": "pending"}
    )
    assert "+1201*****23" in page.content.decode() and "+9198******10" not in page.content.decode()


def test_the_detail_page_is_read_only_and_masked(admin_client_with_messages):
    message = SMSLog.objects.get(to="+919812345610")
    page = admin_client_with_messages.get(f"/admin/notifications/smslog/{message.id}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "+919812345610" not in html and "+9198******10" in html
    assert 'name="_save"' not in html
    assert admin_client_with_messages.get("/admin/notifications/smslog/add/").status_code == 403


def test_webhook_events_and_suppressions_have_admin_pages(admin_client):
    assert admin_client.get("/admin/notifications/webhookevent/").status_code == 200
    assert admin_client.get("/admin/notifications/suppression/").status_code == 200


def test_an_operator_can_lift_a_suppression_but_not_delete_audit_rows(admin_client):
    from notifications.models import Suppression

    suppression = Suppression.objects.create(phone_number="+919812345610", reason="STOP")
    page = admin_client.get("/admin/notifications/suppression/", {"q": "+91 98123 45610"})
    assert "+9198******10" in page.content.decode() and "+919812345610" not in page.content.decode()
    assert (
        admin_client.get(f"/admin/notifications/suppression/{suppression.id}/delete/").status_code
        == 200
    )
    message = services.send_sms(to="+12015550123", body="x")
    assert admin_client.get(f"/admin/notifications/smslog/{message.id}/delete/").status_code == 403


# --- No full number on any admin page, whatever a stored payload or text holds --------------

FULL_NUMBER = re.compile(r"\+\d{8,15}")
TO, OTHER = "+919812345610", "+12015550123"


@pytest.fixture
def rows_with_full_numbers():
    """One row of each audit model, every payload and text holding full numbers."""
    message = SMSLog.objects.create(
        to=TO,
        body=f"Call us back on {OTHER}",
        sender="+15005550006",
        provider_sid="SM" + "b" * 32,
        status="failed",
        error_code="21211",
        error_message=f"The 'To' number {TO} is not a valid phone number.",
        provider_payload={"to": TO, "from": "+15005550006", "body": f"Call us back on {OTHER}"},
    )
    event = WebhookEvent.objects.create(
        kind=WebhookEvent.Kind.INBOUND,
        provider_sid="SM" + "c" * 32,
        outcome=WebhookEvent.Outcome.HANDLED,
        payload={"From": TO, "To": "+15005550006", "Body": f"STOP, and tell {OTHER}"},
        message=message,
    )
    attempt = VerificationAttempt.objects.create(
        kind=VerificationAttempt.Kind.START,
        phone_number=TO,
        outcome=VerificationAttempt.Outcome.FAILED,
        error_code="60200",
        error_message=f"Invalid parameter `To`: {TO}",
        client_ip="203.0.113.7",
    )
    suppression = Suppression.objects.create(phone_number=OTHER, reason="STOP")
    return {"smslog": message, "webhookevent": event, "verificationattempt": attempt,
            "suppression": suppression}  # fmt: skip


@pytest.mark.parametrize("model", ["smslog", "webhookevent", "verificationattempt", "suppression"])
def test_no_page_of_the_admin_shows_a_full_number(admin_client, rows_with_full_numbers, model):
    row = rows_with_full_numbers[model]
    for url in (f"/admin/notifications/{model}/", f"/admin/notifications/{model}/{row.pk}/change/"):
        page = admin_client.get(url)
        assert page.status_code == 200
        assert FULL_NUMBER.findall(page.content.decode()) == [], url


def test_the_detail_pages_show_the_stored_texts_masked(admin_client, rows_with_full_numbers):
    message = rows_with_full_numbers["smslog"]
    page = admin_client.get(f"/admin/notifications/smslog/{message.pk}/change/").content.decode()
    assert "Call us back on +1201*****23" in page  # the body
    assert "The &#x27;To&#x27; number +9198******10 is not a valid phone number." in page
    assert "&quot;to&quot;: &quot;+9198******10&quot;" in page  # the provider payload, as JSON
    event = rows_with_full_numbers["webhookevent"]
    page = admin_client.get(f"/admin/notifications/webhookevent/{event.pk}/change/")
    assert "STOP, and tell +1201*****23" in page.content.decode()
    attempt = rows_with_full_numbers["verificationattempt"]
    page = admin_client.get(f"/admin/notifications/verificationattempt/{attempt.pk}/change/")
    assert "Invalid parameter `To`: +9198******10" in page.content.decode()
