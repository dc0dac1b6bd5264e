"""Reads of SMS logs and bulk sends."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.http import Http404
from django.utils import timezone

from notifications.models import BulkSend, SMSLog
from notifications.status import SMSStatus

RATE_WINDOW = 60  # seconds over which a bulk's current rate is measured


def sms_get(*, message_id) -> SMSLog:
    """The message with this id; Http404 when there is none (or the id is malformed)."""
    try:
        return SMSLog.objects.get(id=message_id)
    except (SMSLog.DoesNotExist, ValidationError, ValueError) as exc:
        raise Http404("No message with this id.") from exc


def bulk_get(*, bulk_id) -> BulkSend:
    """The bulk with this id; Http404 when there is none (or the id is malformed)."""
    try:
        return BulkSend.objects.get(id=bulk_id)
    except (BulkSend.DoesNotExist, ValidationError, ValueError) as exc:
        raise Http404("No bulk with this id.") from exc


@dataclass(frozen=True)
class BulkProgress:
    """Where a bulk stands: its messages counted by status, and how fast they go out now."""

    counts: dict[str, int]
    remaining: int  # not yet handed to the provider (pending)
    rate: float  # messages handed to the provider per second, over the last minute
    eta_seconds: float | None  # at that rate, until nothing remains; None when not moving


def bulk_progress(bulk: BulkSend) -> BulkProgress:
    """Live counts (one grouped query) and the recent rate (one more)."""
    return bulks_progress([bulk])[bulk.id]


def bulks_progress(bulks: Sequence[BulkSend]) -> dict[UUID, BulkProgress]:
    """bulk_progress of each bulk, by id, in the same two queries however many (a list page)."""
    ids = [bulk.id for bulk in bulks]
    counts = {bulk_id: dict.fromkeys(SMSStatus.values, 0) for bulk_id in ids}
    for bulk_id, status, count in (
        SMSLog.objects.filter(bulk_id__in=ids)
        .values_list("bulk_id", "status")
        .annotate(count=Count("id"))
        .order_by()
    ):
        counts[bulk_id][status] = count
    now = timezone.now()
    recent = dict(
        SMSLog.objects.filter(
            bulk_id__in=ids, accepted_at__gte=now - timedelta(seconds=RATE_WINDOW)
        )
        .values_list("bulk_id")
        .annotate(count=Count("id"))
        .order_by()
    )
    return {
        bulk.id: _progress(bulk, counts[bulk.id], recent.get(bulk.id, 0), now) for bulk in bulks
    }


def _progress(bulk: BulkSend, counts: dict[str, int], recent: int, now) -> BulkProgress:
    remaining = counts[SMSStatus.PENDING]
    # Over the last minute, or over the time since it started when that is shorter: 50
    # messages in a bulk's first 10 seconds are 5 per second, not 50 per minute.
    started = bulk.started_at or bulk.created_at
    window = min(RATE_WINDOW, max((now - started).total_seconds(), 1.0))
    rate = recent / window
    eta = remaining / rate if rate and remaining else (0.0 if not remaining else None)
    return BulkProgress(counts=counts, remaining=remaining, rate=rate, eta_seconds=eta)


def sms_history(*, to: str | None = None, reference_prefix: str = ""):
    """Messages, newest first: to one number (E.164) and/or whose reference starts with a
    prefix (a caller's events, e.g. "portal:"). A queryset, for the caller to page."""
    messages = SMSLog.objects.order_by("-created_at")
    if to is not None:
        messages = messages.filter(to=to)
    if reference_prefix:
        messages = messages.filter(reference__startswith=reference_prefix)
    return messages


@dataclass(frozen=True)
class DailyDelivery:
    """One day's messages: how many were recorded, and how many of them were delivered or
    failed (undelivered, failed) so far; the delivery rate is over those with an outcome."""

    day: date
    sent: int
    delivered: int
    failed: int

    @property
    def delivery_rate(self) -> float | None:
        finished = self.delivered + self.failed
        return self.delivered / finished if finished else None


def daily_delivery(*, reference_prefix: str = "", days: int = 14) -> list[DailyDelivery]:
    """The last `days` days (UTC), oldest first, zeros included: one grouped query."""
    today = timezone.now().date()
    first = today - timedelta(days=days - 1)
    rows = (
        sms_history(reference_prefix=reference_prefix)
        .filter(created_at__date__gte=first)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(
            sent=Count("id"),
            delivered=Count("id", filter=Q(status=SMSStatus.DELIVERED)),
            failed=Count("id", filter=Q(status__in=[SMSStatus.UNDELIVERED, SMSStatus.FAILED])),
        )
        .order_by()
    )
    by_day = {row["day"]: row for row in rows}
    result = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        row = by_day.get(day, {})
        result.append(
            DailyDelivery(day, row.get("sent", 0), row.get("delivered", 0), row.get("failed", 0))
        )
    return result
