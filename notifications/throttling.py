"""Atomic Redis throttles for phone verification: check every limit, then count, in one script.

Each limit is a sliding-window log: a sorted set of request timestamps (Redis server time, in
milliseconds) holding at most `limit` members, so memory stays bounded whatever the traffic.
One Lua script trims every window, refuses if any limit is full, and only when all have room
records the request in all of them. Redis runs a script atomically, so N concurrent requests
never pass more than a limit, and a request refused by one limit (say the client's IP) uses
none of the others' quota (say the number's). Retry-After is the real time until the full
limit that frees up last lets a request through.

DRF's throttles are not used: they read then write the cache non-atomically and their
documentation says concurrent requests may get through beyond the limit.

With Redis out of reach the throttles fail closed (ServiceUnavailable, a 503): a code that
went out unthrottled would reopen the door to SMS pumping and brute force.
"""

import ipaddress
import logging
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from redis import Redis
from redis.commands.core import Script
from redis.exceptions import RedisError

from notifications import conf
from notifications.exceptions import RateLimited, ServiceUnavailable
from notifications.redis_client import get_redis

logger = logging.getLogger(__name__)

HOUR = 3600
DAY = 24 * HOUR

# KEYS: one sorted set per limit. ARGV: a unique member, then (limit, window in ms) per key.
# The clock is the Redis server's (TIME; scripts replicate effects since Redis 5), so web
# servers with skewed clocks share one timeline.
# Returns {0, 0} when the request passed (and was counted), else {index of the refusing
# limit (1-based), milliseconds until it has room}.
_HIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local refused, wait = 0, 0
for i, key in ipairs(KEYS) do
  local limit, window = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count >= limit then
    -- The request passes once the count drops below the limit: when this entry leaves.
    local entry = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    local key_wait = tonumber(entry[2]) + window - now
    if key_wait > wait or refused == 0 then refused, wait = i, key_wait end
  end
end
if refused > 0 then return {refused, wait} end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[1])
  redis.call('PEXPIRE', key, tonumber(ARGV[2 * i + 1]))
end
return {0, 0}
"""


@dataclass(frozen=True)
class Limit:
    """At most `limit` requests per sliding `window` seconds under `key`."""

    name: str  # recorded in the audit and the error's details
    key: str
    limit: int
    window: float


def start_limits(*, phone_number: str, client_ip: str | None) -> list[Limit]:
    """The limits on sending a code, cheapest to refuse first (all are checked at once).

    The global ceiling caps the cost of an SMS pumping attack spread over many numbers and
    addresses; the per-IP limit stops one client cycling through numbers; the cool-down and
    the hourly and daily limits stop one number being flooded. `client_ip` None (a service
    call with no HTTP client) skips the per-IP limit.
    """
    limits = [
        Limit("global_minute", "sms:verify:sends", _setting("SMS_VERIFY_SENDS_PER_MINUTE"), 60),
        Limit(
            "ip_hour",
            f"sms:verify:sends:ip:{_ip_bucket(client_ip)}",
            _setting("SMS_VERIFY_SENDS_PER_IP_HOUR") if client_ip else 0,
            HOUR,
        ),
        # The resend cool-down is a window of one request.
        Limit(
            "resend_cooldown",
            f"sms:retry:{phone_number}",
            1,
            conf.get("SMS_VERIFY_RESEND_COOLDOWN"),
        ),
        Limit(
            "number_hour",
            f"sms:verify:sends:hour:{phone_number}",
            _setting("SMS_VERIFY_SENDS_PER_NUMBER_HOUR"),
            HOUR,
        ),
        Limit(
            "number_day",
            f"sms:verify:sends:day:{phone_number}",
            _setting("SMS_VERIFY_SENDS_PER_NUMBER_DAY"),
            DAY,
        ),
    ]
    return [limit for limit in limits if limit.limit > 0 and limit.window > 0]


def check_limits(*, phone_number: str) -> list[Limit]:
    """The limit on checking codes for one number, counted before Twilio is asked.

    Brute force: Twilio allows 5 checks per verification (then 60202), and each wrong guess at
    a 6-digit code succeeds with probability 1 in 1,000,000. With the default of 10 checks a
    day (two verifications' worth), an attacker's chance against one number is at most
    10 in 1,000,000 a day: 1 in 100,000.
    """
    limit = Limit(
        "checks_day",
        f"sms:verify:checks:day:{phone_number}",
        _setting("SMS_VERIFY_CHECKS_PER_NUMBER_DAY"),
        DAY,
    )
    return [limit] if limit.limit > 0 else []


def hit(limits: Sequence[Limit]) -> None:
    """Count one request against every limit, or against none if any is full.

    Raises RateLimited (naming the limit that frees up last, with the whole seconds until it
    does) when any limit is full; nothing is counted then. Raises ServiceUnavailable when
    Redis cannot be asked: the request is refused, never let through unthrottled.
    """
    if not limits:
        return
    args: list = [uuid.uuid4().hex]
    for limit in limits:
        args += [limit.limit, int(limit.window * 1000)]
    try:
        refused, wait_ms = _script(get_redis())(keys=[lim.key for lim in limits], args=args)
    except RedisError as exc:
        logger.warning("Verification refused: its throttles' Redis failed (%s)", exc)
        raise ServiceUnavailable() from exc
    if refused:
        limit = limits[int(refused) - 1]
        raise RateLimited(
            "Too many verification requests; try again later.",
            retry_after=max(math.ceil(int(wait_ms) / 1000), 1),
            limit=limit.name,
        )


def _ip_bucket(client_ip: str | None) -> str:
    """The address an IPv4 client is limited by; for IPv6 its /64, which one subscriber
    usually holds whole (limiting single IPv6 addresses would limit nothing)."""
    if not client_ip:
        return ""
    address = ipaddress.ip_address(client_ip)
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


@cache
def _script(client: Redis) -> Script:
    """The script registered with this client: sent once, then run by its SHA (EVALSHA)."""
    return client.register_script(_HIT)


def _setting(name: str) -> int:
    return int(conf.get(name))
