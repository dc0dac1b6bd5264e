"""Reads of SMS logs and bulk sends."""

from dataclasses import dataclass
from datetime import timedelta

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
    counts = dict.fromkeys(SMSStatus.values, 0)
    for status, count in (
        SMSLog.objects.filter(bulk_id=bulk.id)
        .values_list("status")
        .annotate(count=Count("id"))
        .order_by()
    ):
        counts[status] = count
    remaining = counts[SMSStatus.PENDING]
    since = timezone.now() - timedelta(seconds=RATE_WINDOW)
    recent = SMSLog.objects.filter(bulk_id=bulk.id, accepted_at__gte=since).count()
    rate = recent / RATE_WINDOW
    eta = remaining / rate if rate and remaining else (0.0 if not remaining else None)
    return BulkProgress(counts=counts, remaining=remaining, rate=rate, eta_seconds=eta)
