"""Services behind the webhooks: status callbacks applied exactly once and forward only; inbound."""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from redis.exceptions import RedisError

from notifications import conf, suppression, transitions
from notifications.exceptions import InvalidPhoneNumber
from notifications.models import SMSLog, WebhookEvent
from notifications.phone import mask_phone_number, normalize_phone_number
from notifications.redis_client import get_redis
from notifications.status import SMSStatus, from_twilio

logger = logging.getLogger(__name__)
Outcome = WebhookEvent.Outcome
MASKED_PARAMS = ("From", "To", "Called", "Caller")


def status_callback_apply(*, params, idempotency_token: str = "") -> str:
    """Apply one Twilio status callback at most once, never moving a status backwards.

    Deduplicated on `sms:msg:<MessageSid>:<MessageStatus>` (the SID alone would drop the
    `delivered` that follows `sent`) and on Twilio's I-Twilio-Idempotency-Token, both with an
    atomic SET NX. Returns the outcome, also recorded as a WebhookEvent.
    """
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    raw_status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
    keys = [f"sms:msg:{sid}:{raw_status}"]
    if idempotency_token:
        keys.append(f"sms:cb:{idempotency_token}")
    if not _claim(keys):
        outcome, message_id = Outcome.DUPLICATE, None
    else:
        try:
            outcome, message_id = _apply(sid, raw_status, params.get("ErrorCode") or "")
        except Exception:
            _forget(keys)  # let Twilio's retry of this callback be applied
            raise
    _record(Outcome(outcome), WebhookEvent.Kind.STATUS, params, idempotency_token, message_id)
    if outcome == Outcome.UNKNOWN:
        # The worker may have committed this SID since we looked (it replays unknown events
        # after its commit; one of the two sees the other's write).
        message_id = SMSLog.objects.filter(provider_sid=sid).values_list("id", flat=True).first()
        if message_id is not None:
            transitions.replay_unmatched_callbacks(message_id=message_id, provider_sid=sid)
    return outcome


def _claim(keys: list[str]) -> bool:
    """True unless a key says this callback was applied already.

    The keys are an optimization: with Redis down the callback is applied all the same,
    since the forward-only conditional UPDATE cannot apply one status twice, and a lost
    callback would leave its row behind for good.
    """
    ttl = int(conf.get("SMS_WEBHOOK_DEDUP_TTL"))
    try:
        pipe = get_redis().pipeline(transaction=False)
        for key in keys:
            pipe.set(key, "1", nx=True, ex=ttl)
        return all(pipe.execute())
    except RedisError as exc:
        logger.warning("Status callback applied without de-duplication: Redis failed (%s)", exc)
        return True


def _forget(keys: list[str]) -> None:
    try:
        get_redis().delete(*keys)
    except RedisError as exc:
        logger.warning("Could not release the de-duplication keys of a callback (%s)", exc)


def _apply(sid: str, raw_status: str, error_code: str) -> tuple[str, object]:
    found = SMSLog.objects.filter(provider_sid=sid).values_list("id", "to").first()
    if found is None:
        logger.info("Status callback for unknown SID %s (%s)", sid, raw_status)
        return Outcome.UNKNOWN, None
    message_id, number = found
    # A status with no meaning for an outbound message maps to one that claims no progress
    # (status.TWILIO_UNKNOWN): applied only to a row still pending, else stale.
    applied = provider_status_apply(
        message_id=message_id, to=number, status=from_twilio(raw_status), error_code=error_code
    )
    return (Outcome.APPLIED if applied else Outcome.STALE), message_id


def provider_status_apply(
    *, message_id, to: str, status: SMSStatus, error_code: str = "", **fields
) -> bool:
    """Record a status the provider reported for a message, from a callback or, when that was
    lost, a fetch (notifications.refresh): forward only, with its error code and `fields`.

    Returns whether the row moved.
    """
    if error_code == suppression.OPTED_OUT_ERROR:
        # Through a Messaging Service an opted-out recipient is not refused at the create:
        # the message fails later with 21610, and the number goes on the list all the same.
        suppression.suppress(to, reason=error_code)
    return transitions.transition(
        message_id, status, **transitions.error_fields(error_code), **fields
    )


def inbound_message_handle(*, params) -> str:
    """Opt-out and opt-in keywords change the suppression list; HELP gets the help text back.

    Returns the reply text ("" for none).
    """
    keyword = (params.get("OptOutType") or (params.get("Body") or "").strip().split(" ")[0]).upper()
    reply = ""
    try:
        number = normalize_phone_number(params.get("From") or "")
    except InvalidPhoneNumber:
        number = ""
    if number and keyword in suppression.OPT_OUT_KEYWORDS:
        suppression.suppress(number, reason=keyword)
    elif number and keyword in suppression.OPT_IN_KEYWORDS:
        suppression.unsuppress(number)
    elif keyword in suppression.HELP_KEYWORDS:
        reply = conf.get("SMS_HELP_TEXT")
    _record(Outcome.HANDLED, WebhookEvent.Kind.INBOUND, params, "", None)
    return reply


def record_rejected(*, kind: str, params, idempotency_token: str = "") -> None:
    _record(Outcome.REJECTED, kind, params, idempotency_token, None)


def has_nul(params) -> bool:
    """Whether a field name or value holds a NUL, which no PostgreSQL text or jsonb can store."""
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in params.lists())


def harmless(text: str) -> str:
    """The text with each NUL replaced by U+FFFD, so that what was posted can still be kept."""
    return text.replace("\x00", "\ufffd")


def _record(outcome, kind, params, idempotency_token: str, message_id) -> None:
    payload = {harmless(key): harmless(params.get(key) or "") for key in params}
    for key in MASKED_PARAMS:
        if payload.get(key):
            payload[key] = mask_phone_number(payload[key])
    WebhookEvent.objects.create(
        kind=kind,
        provider_sid=harmless(params.get("MessageSid") or params.get("SmsSid") or "")[:64],
        provider_status=harmless(params.get("MessageStatus") or params.get("SmsStatus") or "")[:32],
        outcome=outcome,
        idempotency_token=harmless(idempotency_token)[:128],
        payload=payload,
        message_id=message_id,
    )


def webhook_events_purge(*, older_than_days: int | None = None) -> int:
    """Delete audit rows past the retention (SMS_WEBHOOK_EVENT_RETENTION_DAYS)."""
    days = (
        older_than_days
        if older_than_days is not None
        else conf.get("SMS_WEBHOOK_EVENT_RETENTION_DAYS")
    )
    cutoff = timezone.now() - timedelta(days=days)
    with transaction.atomic():
        deleted, _ = WebhookEvent.objects.filter(received_at__lt=cutoff).delete()
    if deleted:
        logger.info("Purged %d webhook events older than %d days", deleted, days)
    return deleted
