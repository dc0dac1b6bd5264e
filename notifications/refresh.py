"""Missed status callbacks: statuses that stopped moving are fetched from the provider.

Twilio posts each status change once (and retries briefly); a callback lost to an outage of
the web, of Redis or of the network would leave its message `queued` or `sent` for good. A
beat task fetches such messages by SID and applies what the provider says through the same
forward-only path as the webhook (callbacks.provider_status_apply), so a callback arriving
meanwhile is never undone.
"""

import logging
import time
from datetime import timedelta

from django.utils import timezone

from notifications import callbacks, conf
from notifications.backends import get_backend
from notifications.exceptions import PermanentProviderError, ProviderError
from notifications.models import SMSLog
from notifications.status import SMSStatus

logger = logging.getLogger(__name__)
# Taken by the provider, not final yet: what a callback would move on (Twilio's `accepted`
# and `scheduled` are recorded as queued).
IN_FLIGHT = (SMSStatus.QUEUED, SMSStatus.SENDING, SMSStatus.SENT)
# A run ends after this many transient failures in a row: the provider is down or out of
# reach, and each further fetch would only wait out its timeouts.
FAILURES_IN_A_ROW_TO_STOP = 3


def stale_messages(now=None):
    """In-flight messages with a SID whose status has not moved for SMS_REFRESH_AFTER seconds,
    taken by the provider less than SMS_REFRESH_GIVE_UP_AFTER ago; the longest silent first."""
    now = now or timezone.now()
    silent_since = now - timedelta(seconds=float(conf.get("SMS_REFRESH_AFTER")))
    give_up = now - timedelta(seconds=float(conf.get("SMS_REFRESH_GIVE_UP_AFTER")))
    return (
        SMSLog.objects.filter(status__in=IN_FLIGHT, accepted_at__gt=give_up)
        # Implied (updated_at >= accepted_at), but it lets the (status, updated_at) index skip
        # the messages given up on, which pile up for good.
        .filter(updated_at__gt=give_up, updated_at__lt=silent_since)
        .exclude(provider_sid="")
        .order_by("updated_at")
    )


def refresh_stale_messages() -> dict[str, int]:
    """Fetch up to SMS_REFRESH_BATCH stale messages (stale_messages) from the provider and
    apply the statuses it reports. Counts per outcome.

    Never raises a provider's error. A message whose status did not move, or that the provider
    will not show (a permanent error such as Twilio's 20404), is asked again SMS_REFRESH_AFTER
    later; one whose fetch failed transiently (5xx, 429, no connection) at the next run. A run
    ends after FAILURES_IN_A_ROW_TO_STOP transient failures in a row, and once it has lasted
    SMS_REFRESH_INTERVAL (the next one is due). A backend that cannot fetch is not asked.
    """
    counts = {"fetched": 0, "changed": 0, "unchanged": 0, "failed": 0}
    backend = get_backend()
    if not backend.can_fetch():
        return counts
    deadline = time.monotonic() + float(conf.get("SMS_REFRESH_INTERVAL"))
    stale = stale_messages().values_list("id", "provider_sid", "to", "status")
    failures_in_a_row = 0
    for message_id, sid, to, status in stale[: int(conf.get("SMS_REFRESH_BATCH"))]:
        if failures_in_a_row >= FAILURES_IN_A_ROW_TO_STOP or time.monotonic() > deadline:
            break
        try:
            found = backend.fetch(sid)
        except ProviderError as exc:
            counts["failed"] += 1
            permanent = isinstance(exc, PermanentProviderError)
            failures_in_a_row = 0 if permanent else failures_in_a_row + 1
            logger.warning(
                "Could not fetch message %s from the provider (%s %s): asked again %s",
                sid,
                exc.code,
                exc.message,
                "after SMS_REFRESH_AFTER" if permanent else "at the next run",
            )
            if permanent:
                _asked(message_id, status)
            continue
        failures_in_a_row = 0
        if found is None:
            _asked(message_id, status)
            continue
        counts["fetched"] += 1
        if callbacks.provider_status_apply(
            message_id=message_id,
            to=to,
            status=found.status,
            error_code=found.error_code,
            provider_payload=found.raw,
        ):
            counts["changed"] += 1
        else:
            counts["unchanged"] += 1
            _asked(message_id, status)
    if counts["changed"] or counts["failed"]:
        logger.info("Statuses refreshed from the provider: %s", counts)
    return counts


def _asked(message_id, status: str) -> None:
    """Not again before SMS_REFRESH_AFTER: a status that never moves (a carrier that reports no
    delivery) is fetched every SMS_REFRESH_AFTER until the give-up, not at every run, and
    leaves the batch to the others."""
    SMSLog.objects.filter(id=message_id, status=status).update(updated_at=timezone.now())
