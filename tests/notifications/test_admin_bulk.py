"""The admin's bulks: progress bar, rate and ETA counted live, masked entries, cancel."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications import services
from notifications.delivery import finish_bulk_if_done
from notifications.models import BulkSend, SMSLog
from notifications.status import SMSStatus

pytestmark = pytest.mark.django_db
LIST = "/admin/notifications/bulksend/"
FULL_NUMBER = re.compile(r"\+\d{8,15}")
NUMBERS = ["+919812345610", "+919812345611", "+919812345612", "+919812345613"]
# Refused entries that are almost numbers: the page must not show their digits either.
ALMOST = ["+9198123456109", "0091 98123 4561", "98123-45610-7"]


def page_of(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def bulk():
    """Four messages, one of each: delivered, sent, failed, still pending."""
    bulk = services.send_bulk(
        recipients=[*NUMBERS, *ALMOST], body=f"Call {NUMBERS[0]} to confirm", reference="drive"
    )
    by_index = {m.bulk_index: m.id for m in SMSLog.objects.filter(bulk=bulk)}
    for index, status in enumerate([SMSStatus.DELIVERED, SMSStatus.SENT, SMSStatus.FAILED]):
        SMSLog.objects.filter(id=by_index[index]).update(status=status)
    return bulk


def change_page(bulk) -> str:
    return f"{LIST}{bulk.id}/change/"


def test_the_list_shows_each_bulk_with_its_progress_bar_and_counts(admin_client, bulk):
    page = page_of(admin_client, LIST)
    assert 'role="progressbar"' in page
    assert 'aria-valuemax="4" aria-valuenow="3"' in page
    assert "75% done: 1 delivered, 1 sent, 1 failed, 1 remaining" in page
    assert page.count('style="width: 25.00%"') == 3
    for text in ("1&nbsp;delivered", "1&nbsp;sent", "1&nbsp;failed", "1&nbsp;remaining"):
        assert text in page


def test_the_bar_follows_the_messages(admin_client, bulk):
    SMSLog.objects.filter(bulk=bulk, status=SMSStatus.SENT).update(status=SMSStatus.DELIVERED)
    page = page_of(admin_client, change_page(bulk))
    assert "75% done: 2 delivered, 1 failed, 1 remaining" in page


def test_the_rate_and_eta_come_from_the_last_minute(admin_client):
    bulk = services.send_bulk(recipients=[f"+9198123{i:05d}" for i in range(100)], body="x")
    now = timezone.now()
    BulkSend.objects.filter(id=bulk.id).update(
        state=BulkSend.State.SENDING, started_at=now - timedelta(minutes=10)
    )
    first = SMSLog.objects.filter(bulk=bulk).order_by("bulk_index")[:30]
    SMSLog.objects.filter(id__in=list(first.values_list("id", flat=True))).update(
        status=SMSStatus.QUEUED, accepted_at=now
    )
    for url in (LIST, change_page(bulk)):
        page = page_of(admin_client, url)
        assert ">30/min<" in page and ">2 min<" in page, url  # 70 left at 0.5 per second


def test_a_bulk_that_does_not_move_has_no_eta(admin_client, bulk):
    assert "Nothing went out in the last minute." in page_of(admin_client, LIST)


def test_the_list_counts_a_page_of_bulks_in_the_same_queries_however_many(admin_client):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            page_of(admin_client, LIST)
        return len(captured)

    services.send_bulk(recipients=NUMBERS, body="x")
    few = queries()
    for _ in range(8):
        services.send_bulk(recipients=NUMBERS, body="x")
    assert queries() == few


def test_the_page_of_a_sending_bulk_reloads_itself_and_a_finished_one_does_not(admin_client, bulk):
    refresh = '<meta http-equiv="refresh" content="5">'
    assert refresh in page_of(admin_client, change_page(bulk))
    services.cancel_bulk(bulk_id=bulk.id)
    page = page_of(admin_client, change_page(bulk))
    assert refresh not in page and "0&nbsp;remaining" in page  # pending ones are canceled
    assert "1&nbsp;canceled" in page


def test_the_page_links_to_the_messages_of_the_bulk(admin_client, bulk):
    other = services.send_bulk(recipients=["+12015550123"], body="x")
    page = page_of(admin_client, change_page(bulk))
    link = f"/admin/notifications/smslog/?bulk={bulk.id}"
    assert f'href="{link}"' in page
    messages = page_of(admin_client, link)
    assert "4 SMS logs" in messages and "+9198******10" in messages
    assert "+1201*****23" not in messages and str(other.id)[:8] not in messages
    assert "0 SMS logs" in page_of(admin_client, "/admin/notifications/smslog/?bulk=nope")


def test_no_page_shows_a_number_or_a_refused_entry_in_full(admin_client, bulk):
    for url in (LIST, change_page(bulk), f"/admin/notifications/smslog/?bulk={bulk.id}"):
        page = page_of(admin_client, url)
        assert FULL_NUMBER.findall(page) == [], url
        for digits in ("9812345", "98123 4561", "98123-45610"):
            assert digits not in page, (url, digits)
    page = page_of(admin_client, change_page(bulk))
    assert "Call +9198******10 to confirm" in page  # the body
    # The refused entries, in their rows: index and shape kept, all but two digits hidden.
    assert "<td>4</td><td><code>+***********09</code>" in page
    assert "<td>5</td><td><code>**** ***** **61</code>" in page
    assert "<td>6</td><td><code>*****-****0-7</code>" in page


def test_the_cancel_action_cancels_the_selected_bulks(admin_client, bulk):
    done = services.send_bulk(recipients=NUMBERS[:1], body="x")
    SMSLog.objects.filter(bulk=done).update(status=SMSStatus.DELIVERED)
    assert finish_bulk_if_done(done.id)
    response = admin_client.post(
        LIST,
        {"action": "cancel_bulks", "_selected_action": [str(bulk.id), str(done.id)]},
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "1 bulk(s) canceled" in page and "1 bulk(s) had already completed" in page
    bulk.refresh_from_db()
    done.refresh_from_db()
    assert bulk.state == BulkSend.State.CANCELED and done.state == BulkSend.State.COMPLETED
    assert SMSLog.objects.filter(bulk=bulk, status=SMSStatus.CANCELED).count() == 1


def test_bulks_are_read_only(admin_client, bulk):
    assert admin_client.get(f"{LIST}add/").status_code == 403
    assert admin_client.get(f"{LIST}{bulk.id}/delete/").status_code == 403
    assert 'name="_save"' not in page_of(admin_client, change_page(bulk))
