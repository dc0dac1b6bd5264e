"""Missed status callbacks: statuses that stopped moving are fetched from the provider.

Twilio posts each status change once (and retries briefly); a callback lost to an outage of
the web, of Redis or of the network would leave its message `queued` or `sent` for good. A
beat task fetches such messages by SID and applies what the provider says through the same
forward-only transitions as the webhook, so a callback arriving meanwhile is never undone.
"""

import logging
from datetime import timedelta

from django.utils import timezone

from notifications import conf, transitions
from notifications.backends import get_backend
from notifications.exceptions import ProviderError
from notifications.models import SMSLog
from notifications.status import SMSStatus

logger = logging.getLogger(__name__)
# Taken by the provider, not yet final: what a callback would move on.
IN_FLIGHT = (SMSStatus.QUEUED, SMSStatus.SENDING, SMSStatus.SENT)


def refresh_stale_messages() -> dict[str, int]:
    """Fetch up to SMS_REFRESH_BATCH messages whose status has not moved for SMS_REFRESH_AFTER
    seconds (the longest waiting first) and apply the provider's status. Counts per outcome."""
    now = timezone.now()
    stale = (
        SMSLog.objects.filter(status__in=IN_FLIGHT)
        .exclude(provider_sid="")
        .filter(updated_at__lt=now - timedelta(seconds=float(conf.get("SMS_REFRESH_AFTER"))))
        .filter(
            created_at__gt=now - timedelta(seconds=float(conf.get("SMS_REFRESH_GIVE_UP_AFTER")))
        )
        .order_by("updated_at")
        .values_list("id", "provider_sid", "status")[: int(conf.get("SMS_REFRESH_BATCH"))]
    )
    counts = {"fetched": 0, "changed": 0, "unchanged": 0, "failed": 0}
    backend = get_backend()
    for message_id, sid, status in stale:
        try:
            found = backend.fetch(sid)
        except ProviderError as exc:
            logger.warning("Could not fetch message %s from the provider: %s", sid, exc)
            found, counts["failed"] = None, counts["failed"] + 1
        else:
            counts["fetched"] += 1
        changed = found is not None and transitions.transition(
            message_id, found.status, **transitions.error_fields(found.error_code)
        )
        if changed:
            counts["changed"] += 1
            continue
        counts["unchanged"] += found is not None
        # Asked: not again before SMS_REFRESH_AFTER (a status that does not move is fetched
        # every SMS_REFRESH_AFTER until SMS_REFRESH_GIVE_UP_AFTER, not at every run).
        SMSLog.objects.filter(id=message_id, status=status).update(updated_at=timezone.now())
    if counts["changed"] or counts["failed"]:
        logger.info("Stale statuses refreshed from the provider: %s", counts)
    return counts
