"""Message lifecycle on a timer: queued -> sending -> sent -> delivered (or a 30xxx failure)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from . import callbacks
from .errors import delivery_error_message
from .records import Message, count_price

if TYPE_CHECKING:
    from .state import State

# Twilio sends no status callback for a message's initial status (queued, or accepted /
# scheduled with a Messaging Service), only for later changes:
# https://www.twilio.com/docs/messaging/guides/outbound-message-status-in-status-callbacks
DELIVERED_PATH = [("sending", None), ("sent", None), ("delivered", None)]


def plan(state: State, message: Message) -> list[tuple[str, int | None]]:
    steps: list[tuple[str, int | None]] = []
    if message.status in ("accepted", "scheduled"):
        steps.append(("queued", None))  # a Messaging Service assigns a sender first
    fail = state.settings.fail_numbers.get(message.to)
    if fail is None:
        return steps + DELIVERED_PATH
    status, code, on_create = fail
    if on_create:
        return []  # created with its final status (messages.create_message)
    if status == "failed":
        return [*steps, ("failed", code)]  # failed = never left Twilio
    return [*steps, ("sending", None), ("sent", None), ("undelivered", code)]


def start(state: State, message: Message, first_delay: float | None = None) -> None:
    """Schedule the message's remaining lifecycle (its initial status is already set)."""
    message.plan = plan(state, message)
    message.generation = state.generation
    delay = state.settings.step_delay if first_delay is None else first_delay
    _schedule(message, state, delay)


def _schedule(message: Message, state: State, delay: float) -> None:
    loop = asyncio.get_running_loop()
    message.handle = loop.call_later(max(delay, 0.0), _advance, state, message)


def _queue_slot(state: State, message: Message) -> float | None:
    """Seconds to wait for the sender's next free slot, or None if the queue overflowed."""
    throughput = state.faults.throughput
    if throughput is None or message.from_ is None:
        return 0.0
    loop_now = asyncio.get_running_loop().time()
    free_at = state.sender_free_at.get(message.from_, loop_now)
    slot = max(loop_now, free_at)
    if slot - loop_now > throughput.queue_max_seconds:
        return None
    # Rates are in message segments per second, as Twilio counts them.
    state.sender_free_at[message.from_] = slot + message.num_segments / throughput.mps(
        message.from_
    )
    return slot - loop_now


def _advance(state: State, message: Message) -> None:
    message.handle = None
    if message.generation != state.generation or not message.plan:
        return
    status, code = message.plan[0]
    if status == "sending" and message.send_at is None:
        wait = _queue_slot(state, message)
        if wait is None:
            message.plan = [("failed", 30001)]  # queue overflow
            status, code = message.plan[0]
        else:
            message.send_at = state.now() + wait
            if wait > 0:
                _schedule(message, state, wait)
                return
    message.plan.pop(0)
    transition(state, message, status, code)
    if message.plan:
        _schedule(message, state, state.settings.step_delay)


def transition(state: State, message: Message, status: str, code: int | None = None) -> None:
    now = state.now()
    if status == "queued" and message.from_ is None:
        message.from_ = state.settings.service_number  # the Messaging Service picks a sender
    message.status = status
    message.date_updated = now
    message.history.append((status, now))
    if status == "sent":
        message.date_sent = now
        message.price = count_price(message.num_segments)
    if code is not None:
        message.error_code = code
        message.error_message = delivery_error_message(code)
    callbacks.emit(state, message)


def cancel(state: State, message: Message) -> None:
    if message.handle is not None:
        message.handle.cancel()
        message.handle = None
    message.plan = []
    transition(state, message, "canceled")
