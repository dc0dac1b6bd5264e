"""Reads of SMS logs and bulk sends."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import Count
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
