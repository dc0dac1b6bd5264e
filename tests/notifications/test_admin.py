"""The admin shows SMS logs read-only with masked numbers and finds them by number or SID."""

import pytest

from notifications import services
from notifications.models import SMSLog

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
