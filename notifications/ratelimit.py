"""The sender rate limiter: one rate per Twilio sender, shared by every worker on every host.

Twilio accepts a fixed number of segments per second per sender and queues the excess at its
side, where it can no longer be canceled. Each send asks `reserve` for a slot, charging its
segments: it gets a slot at most `max_wait` seconds ahead (it sleeps that short wait, then
sends), or learns how long until it could get one, with nothing reserved, and is deferred.
Each caller gets its own slot, so waiting callers never wake together and retry in a herd.

The algorithm is GCRA ("virtual scheduling"): one Redis key per sender holds the theoretical
arrival time (TAT) of the next unit, and one Lua script reads and moves it atomically on the
Redis server's clock, so processes with skewed clocks share one timeline. In any window W the
slots granted carry at most `burst + rate × W` units, and under steady demand exactly `rate`.

The `limits` library (5.8) is not used: its strategies (fixed, moving and sliding windows)
answer `hit` with a yes or no, tell the wait only through a separate `get_window_stats` call
(not atomic with the hit; the moving window is timed by each client's clock) and never
accept a cost above the limit. None reserves a future slot, so waiting callers would poll.
"""

import math
from dataclasses import dataclass
from functools import cache

from redis import Redis
from redis.commands.core import Script

from notifications import conf
from notifications.exceptions import SMSConfigurationError
from notifications.redis_client import get_redis

MICROSECONDS = 1_000_000

# KEYS[1]: the sender's TAT, in microseconds of Redis server time. ARGV: the reservation's
# increment (cost × T), tau (max(burst, cost) × T) and max_wait, all in whole microseconds.
# Whole microseconds (about 1.8e15) are exact in Lua's doubles and stored with %d, so the
# timeline never drifts by rounding. The key expires when its TAT passes: absent means idle.
# TIME is allowed before a write because scripts replicate their effects (Redis 5+).
# Returns {1 if reserved else 0, wait, now}, the last two in microseconds.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local increment, tau, max_wait = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + increment
local wait = math.max(new_tat - tau - now, 0)
if wait > max_wait then return {0, wait, now} end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return {1, wait, now}
"""


@dataclass(frozen=True)
class Reservation:
    """The limiter's answer: a slot `wait` seconds from now, reserved only when `granted`.

    Not granted, `wait` is how long until a reservation would start at once: ask again in
    about `wait - max_wait` seconds. `at` is the slot's start on the Redis server's clock
    (epoch seconds), for measuring; callers act on `wait`.
    """

    granted: bool
    wait: float
    at: float


@dataclass(frozen=True)
class SenderLimit:
    """The rate of one sender: `rate` segments per second, `burst` of them at once."""

    key: str
    rate: float
    burst: float


def reserve(key: str, *, cost: int, rate: float, burst: float, max_wait: float) -> Reservation:
    """Reserve `cost` units under `key` if a slot is free within `max_wait` seconds.

    `rate` is in units per second; `burst` units may go at once above it. A cost above the
    burst is still granted, alone: its slot starts once the earlier reservations have drained.
    A refusal reserves nothing. Redis errors propagate: the caller decides what to do.
    """
    if cost < 1 or rate <= 0 or burst < 1 or max_wait < 0:
        raise ValueError(f"invalid limit: {cost=} {rate=} {burst=} {max_wait=}")
    # Rounded so that the limiter errs on the slow side: increments up, the tolerance down.
    increment = math.ceil(cost * MICROSECONDS / rate)
    tau = math.floor(max(burst, cost) * MICROSECONDS / rate)
    granted, wait, now = _script(get_redis())(
        keys=[key], args=[increment, tau, math.floor(max_wait * MICROSECONDS)]
    )
    return Reservation(
        granted=bool(granted),
        wait=int(wait) / MICROSECONDS,
        at=(int(now) + int(wait)) / MICROSECONDS,
    )


# Slots are planned slightly under the configured rate. A request reaches Twilio a little after
# its slot (thread scheduling, a new connection), by a different amount each time; should the
# first request of a minute be late and the last one on time, that minute would hold one more
# than the rate. 1 % of a minute is 0.6 s: a request later than its slot by up to that keeps
# every 60-second window at or under the configured rate plus the burst, at 99 % of the rate.
JITTER_HEADROOM = 0.01


def sender_limit(sender: str) -> SenderLimit | None:
    """The limit of `sender` (a phone number or Messaging Service SID) from the settings.

    TWILIO_RATE_LIMIT is per minute and charged per segment; 0 turns the limiter off (None).
    The rate is planned JITTER_HEADROOM under it.
    """
    per_minute = int(conf.get("TWILIO_RATE_LIMIT"))
    burst = int(conf.get("TWILIO_RATE_BURST"))
    if per_minute < 0:
        raise SMSConfigurationError("TWILIO_RATE_LIMIT must be 0 (off) or a positive rate.")
    if per_minute and burst < 1:
        raise SMSConfigurationError("TWILIO_RATE_BURST must be at least 1.")
    if not per_minute:
        return None
    rate = per_minute / 60 * (1 - JITTER_HEADROOM)
    return SenderLimit(key=f"sms:rate:{sender}", rate=rate, burst=burst)


@cache
def _script(client: Redis) -> Script:
    """The script registered with this client: sent once, then run by its SHA (EVALSHA)."""
    return client.register_script(_RESERVE)
