"""Reads: a bulk's progress, its rate and ETA, for one bulk or a page of them."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications import selectors, services
from notifications.models import BulkSend, SMSLog
from notifications.status import SMSStatus

pytestmark = pytest.mark.django_db


def started_bulk(size: int, *, started_ago: float, accepted: int) -> BulkSend:
    """A bulk of `size` that started `started_ago` seconds ago; its first `accepted` messages
    were taken by the provider just now."""
    bulk = services.send_bulk(recipients=[f"+9198123{i:05d}" for i in range(size)], body="x")
    now = timezone.now()
    BulkSend.objects.filter(id=bulk.id).update(
        state=BulkSend.State.SENDING, started_at=now - timedelta(seconds=started_ago)
    )
    first = SMSLog.objects.filter(bulk=bulk).order_by("bulk_index")[:accepted]
    SMSLog.objects.filter(id__in=list(first.values_list("id", flat=True))).update(
        status=SMSStatus.QUEUED, accepted_at=now
    )
    bulk.refresh_from_db()
    return bulk


def test_the_rate_of_a_bulk_started_seconds_ago_is_measured_over_those_seconds():
    progress = selectors.bulk_progress(started_bulk(100, started_ago=10, accepted=50))
    assert progress.rate == pytest.approx(5.0, rel=0.1)
    assert progress.remaining == 50
    assert progress.eta_seconds == pytest.approx(10, rel=0.1)


def test_the_rate_of_an_older_bulk_is_measured_over_the_last_minute():
    progress = selectors.bulk_progress(started_bulk(100, started_ago=600, accepted=30))
    assert progress.rate == pytest.approx(0.5)
    assert progress.eta_seconds == pytest.approx(140)


def test_a_bulk_that_does_not_move_has_no_eta_and_one_that_is_done_has_zero():
    bulk = services.send_bulk(recipients=["+919812345610", "+919812345611"], body="x")
    assert selectors.bulk_progress(bulk).eta_seconds is None
    SMSLog.objects.filter(bulk=bulk).update(status=SMSStatus.DELIVERED)
    progress = selectors.bulk_progress(bulk)
    assert progress.eta_seconds == 0 and progress.counts[SMSStatus.DELIVERED] == 2


def test_the_progress_of_many_bulks_takes_two_queries_and_matches_each_bulk_alone():
    bulks = [started_bulk(20, started_ago=5 + i, accepted=i) for i in range(6)]
    with CaptureQueriesContext(connection) as captured:
        many = selectors.bulks_progress(bulks)
    assert len(captured) == 2
    for bulk in bulks:
        alone = selectors.bulk_progress(bulk)
        assert many[bulk.id].counts == alone.counts
        assert many[bulk.id].remaining == alone.remaining
        assert many[bulk.id].rate == pytest.approx(alone.rate, rel=0.05)


def test_a_callers_history_and_its_delivery_per_day(db):
    from datetime import timedelta

    from django.utils import timezone

    from notifications import selectors, services

    for i, status in enumerate(["delivered", "delivered", "failed", "pending"]):
        message = services.send_sms(to=f"+91981234561{i}", body="x", reference=f"portal:event:{i}")
        SMSLog.objects.filter(id=message.id).update(status=status)
    other = services.send_sms(to="+919812345619", body="x", reference="elsewhere:1")
    yesterday = services.send_sms(to="+919812345610", body="y", reference="portal:old")
    SMSLog.objects.filter(id=yesterday.id).update(
        created_at=timezone.now() - timedelta(days=1), status="delivered"
    )
    history = selectors.sms_history(reference_prefix="portal:")
    assert other not in history and history.count() == 5
    assert [m.reference for m in selectors.sms_history(to="+919812345610")] == [
        "portal:event:0",
        "portal:old",
    ]
    days = selectors.daily_delivery(reference_prefix="portal:", days=3)
    assert [(d.sent, d.delivered, d.failed) for d in days] == [(0, 0, 0), (1, 1, 0), (4, 2, 1)]
    assert days[-1].delivery_rate == 2 / 3 and days[0].delivery_rate is None
