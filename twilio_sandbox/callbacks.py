"""Status-callback delivery: Twilio's form parameters, signature, idempotency token, retries."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import aiohttp

from .records import API_VERSION, Message
from .signing import signature

if TYPE_CHECKING:
    from .state import State

log = logging.getLogger("twilio_sandbox.callbacks")
FINAL_CALLBACK_STATUSES = frozenset({"delivered", "undelivered", "failed", "canceled"})
USER_AGENT = "TwilioProxy/1.1"


@dataclass
class CallbackEvent:
    """One status change to report; retries and duplicates of it share `token`."""

    url: str
    params: dict[str, str]
    token: str
    generation: int


def status_params(message: Message) -> dict[str, str]:
    """The status callback body, with the parameter names Twilio uses.

    https://www.twilio.com/docs/messaging/guides/track-outbound-message-status and
    https://www.twilio.com/docs/messaging/api/message-resource#twilios-request-to-the-statuscallback-url
    """
    params = {
        "AccountSid": message.account_sid,
        "ApiVersion": API_VERSION,
        "From": message.from_ or "",
        "MessageSid": message.sid,
        "MessageStatus": message.status,
        "SmsSid": message.sid,
        "SmsStatus": message.status,
        "To": message.to,
    }
    if message.messaging_service_sid:
        params["MessagingServiceSid"] = message.messaging_service_sid
    if message.error_code is not None:
        params["ErrorCode"] = str(message.error_code)
    if message.status in ("delivered", "undelivered"):
        # Carrier DLR "done date", YYMMDDhhmm, on delivered/undelivered callbacks only:
        # https://www.twilio.com/en-us/changelog/addition-of-rawdlrdonedate-to-delivered-and-undelivered-status-webhooks
        params["RawDlrDoneDate"] = time.strftime("%y%m%d%H%M", time.gmtime(message.date_updated))
    return params


def emit(state: State, message: Message) -> None:
    """Report the message's current status to its StatusCallback, if it has one."""
    if not message.status_callback:
        return
    event = CallbackEvent(
        message.status_callback, status_params(message), str(uuid.uuid4()), state.generation
    )
    if message.hold:
        message.held.append(event)
        if message.status in FINAL_CALLBACK_STATUSES:
            held, message.held = message.held, []
            rule = state.faults.rules.get("callback_out_of_order")
            shuffled = list(held)
            (rule.rng if rule else random).shuffle(shuffled)
            if len(shuffled) > 1 and shuffled == held:
                shuffled.reverse()  # "out of order" must never come out in order by chance
            state.spawn(_deliver_in_sequence(state, shuffled))
        return
    # A message's callbacks go out one after the other, as Twilio sends them: each waits for
    # the previous one's delivery (and its retries), so a loaded machine cannot reorder them.
    message.callbacks_sent = state.spawn(_after(message.callbacks_sent, state, event))


async def _after(previous: asyncio.Future | None, state: State, event: CallbackEvent) -> None:
    if previous is not None:
        with contextlib.suppress(Exception):
            await previous
    await _deliver_admitted(state, event)


def _admit(state: State, event: CallbackEvent) -> int:
    """How many copies of this event to send (0 if the drop fault fires)."""
    if state.faults.fires("callback_drop", "messages"):
        state.stats.fault("callback_drop")
        state.stats.inc("callbacks_dropped_by_fault")
        state.stats.inc("callbacks_dropped")
        return 0
    if state.faults.fires("callback_duplicate", "messages"):
        state.stats.fault("callback_duplicate")
        state.stats.inc("callbacks_duplicated")
        return 2
    return 1


async def _deliver_in_sequence(state: State, events: list[CallbackEvent]) -> None:
    for event in events:
        await _deliver_admitted(state, event)


async def _deliver_admitted(state: State, event: CallbackEvent) -> None:
    """The event as many times as the faults say (none when dropped, twice when duplicated)."""
    for _ in range(_admit(state, event)):
        await deliver(state, event)


async def deliver(state: State, event: CallbackEvent) -> bool:
    """POST the event, retrying with exponential backoff; never raises."""
    settings = state.settings
    body = urlencode(event.params)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature(settings.auth_token, event.url, event.params),
        # Lets the receiver de-duplicate: one token per event, repeated by its retries (the
        # retry policy: https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides)
        # and by the duplicate-callback fault.
        "I-Twilio-Idempotency-Token": event.token,
        "User-Agent": USER_AGENT,
    }
    attempts = settings.callback_retries + 1
    timeout = aiohttp.ClientTimeout(total=settings.callback_timeout)
    for attempt in range(attempts):
        if event.generation != state.generation:
            return False  # the sandbox was reset meanwhile
        try:
            async with state.http.post(
                event.url, data=body, headers=headers, timeout=timeout
            ) as response:
                await response.read()
                if 200 <= response.status < 300:
                    state.stats.inc("callbacks_sent")
                    return True
                reason = f"HTTP {response.status}"
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
        state.stats.inc("callbacks_failed")
        if attempt + 1 < attempts:
            state.stats.inc("callbacks_retried")
            await asyncio.sleep(settings.callback_backoff * (2**attempt))
    log.warning("dropping status callback to %s after %d attempts (%s)", event.url, attempts,
                reason)  # fmt: skip
    state.stats.inc("callbacks_given_up")
    state.stats.inc("callbacks_dropped")
    return False
