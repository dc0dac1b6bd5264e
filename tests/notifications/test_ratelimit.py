"""The sender rate limiter against real Redis: GCRA slots shared by threads and processes.

Slots are compared on the Redis server's clock (`Reservation.at`, in whole microseconds), so
the assertions hold however slowly this machine runs the callers.
"""

import json
import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis

from notifications import ratelimit
from notifications.exceptions import SMSConfigurationError
from notifications.ratelimit import (
    JITTER_HEADROOM,
    Reservation,
    SenderLimit,
    reserve,
    sender_limit,
)
from notifications.redis_client import get_redis
from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parents[2]
US = 1_000_000


@pytest.fixture
def key():
    """A sender key of this test's own, removed afterwards."""
    value = f"sms:rate:test:{uuid.uuid4().hex}"
    yield value
    get_redis().delete(value, f"{value}:ready")


def micros(reservation: Reservation) -> int:
    return round(reservation.at * US)


def busiest_window(slots: list[tuple[int, int]], width: int) -> int:
    """The most units whose slots fall in one window [t, t + width) (in microseconds).

    The busiest window starts at some slot, so only those starts are tried.
    """
    slots = sorted(slots)
    busiest, total, end = 0, 0, 0
    for start, (at, _) in enumerate(slots):
        while end < len(slots) and slots[end][0] < at + width:
            total += slots[end][1]
            end += 1
        busiest = max(busiest, total)
        total -= slots[start][1]
    return busiest


def assert_no_window_above_the_limit(slots, *, rate: float, burst: int, widths: list[float]):
    for width in widths:
        width_us = max(round(width * US), 1)
        assert busiest_window(slots, width_us) <= burst + rate * width_us / US + 1e-6, width


def test_a_burst_goes_at_once_then_each_slot_waits_for_the_cost_before_it(key):
    rate, burst = 1.0, 3  # one unit a second: far slower than this test runs
    costs = [1, 1, 1, 2, 3, 1]
    got = [reserve(key, cost=c, rate=rate, burst=burst, max_wait=60) for c in costs]
    assert all(r.granted for r in got)
    # The first three units fill the burst: each goes when it asks.
    assert [r.wait for r in got[:3]] == [0, 0, 0]
    # Then the schedule is the running total of costs, less the burst, one second a unit.
    first = micros(got[0])
    assert [micros(r) - first for r in got[3:]] == [2 * US, 5 * US, 6 * US]
    assert all(r.wait > 0 for r in got[3:])


def test_a_refusal_reserves_nothing_and_says_when_a_slot_would_start(key):
    limit = dict(rate=0.1, burst=1)  # a unit every ten seconds
    first = reserve(key, cost=1, max_wait=0, **limit)
    stored = get_redis().get(key)
    refusals = [reserve(key, cost=1, max_wait=5, **limit) for _ in range(5)]
    assert first.granted and first.wait == 0
    assert not any(r.granted for r in refusals)
    # Every refused caller is told the same slot, ten seconds after the first: none was taken.
    assert {micros(r) - micros(first) for r in refusals} == {10 * US}
    assert all(5 < r.wait <= 10 for r in refusals)
    assert get_redis().get(key) == stored
    later = reserve(key, cost=1, max_wait=60, **limit)
    assert later.granted and micros(later) - micros(first) == 10 * US


def test_a_cost_above_the_burst_is_granted_alone(key):
    limit = dict(rate=1.0, burst=2)
    # On an idle sender it goes at once, even with no waiting allowed...
    big = reserve(key, cost=5, max_wait=0, **limit)
    assert big.granted and big.wait == 0
    # ...and what follows waits until the burst has room again behind it.
    after = reserve(key, cost=1, max_wait=60, **limit)
    assert after.granted and micros(after) - micros(big) == 4 * US


def test_a_cost_above_the_burst_waits_until_the_earlier_reservations_have_drained(key):
    limit = dict(rate=1.0, burst=2)
    small = [reserve(key, cost=1, max_wait=0, **limit) for _ in range(2)]
    big = reserve(key, cost=5, max_wait=60, **limit)
    assert all(r.granted for r in small) and big.granted
    assert micros(big) - micros(small[0]) == 2 * US


def test_senders_are_limited_independently(key):
    limit = dict(cost=1, rate=1.0, burst=1, max_wait=0)
    assert reserve(key, **limit).granted
    assert not reserve(key, **limit).granted
    other = reserve(f"{key}:other", **limit)
    get_redis().delete(f"{key}:other")
    assert other.granted and other.wait == 0


def test_a_key_lives_only_until_its_schedule_has_passed(key):
    for _ in range(3):
        reserve(key, cost=1, rate=0.1, burst=5, max_wait=0)
    # Three units at one per ten seconds are scheduled through the next 30 s, no longer.
    assert 20_000 < get_redis().pttl(key) <= 30_000
    quick = f"{key}:quick"
    reserve(quick, cost=1, rate=100.0, burst=1, max_wait=0)
    wait_for(lambda: not get_redis().exists(quick), timeout=5, what="the idle key to expire")


def test_slots_from_many_threads_keep_to_the_rate_in_every_window(key):
    """8 threads race for one sender: no reservation is lost, so the schedule is exact."""
    rate, burst = 1.0, 5

    def caller(thread: int) -> list[tuple[int, int]]:
        slots = []
        for n in range(50):
            cost = 1 + (thread + n) % burst
            got = reserve(key, cost=cost, rate=rate, burst=burst, max_wait=10**6)
            assert got.granted
            slots.append((micros(got), cost))
        return slots

    with ThreadPoolExecutor(8) as pool:
        slots = [slot for result in pool.map(caller, range(8)) for slot in result]
    assert len(slots) == 400
    widths = [0, 0.5 / rate, 1 / rate, 3.5 / rate, 10 / rate, 100 / rate]
    assert_no_window_above_the_limit(slots, rate=rate, burst=burst, widths=widths)
    # Demand never let up, so the units beyond the first burst are spread at exactly `rate`.
    times = sorted(at for at, _ in slots)
    total = sum(cost for _, cost in slots)
    assert (times[-1] - times[0]) / US == pytest.approx((total - burst) / rate, abs=1e-3)


# A worker process of its own: waits for the others, then reserves until it holds `count`
# slots, deferring (sleeping until a slot is within reach) whenever it is refused.
CHILD = """
import json, sys, time
import django
django.setup()
from notifications.ratelimit import reserve
from notifications.redis_client import get_redis
key, index, processes, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
get_redis().incr(key + ":ready")
while int(get_redis().get(key + ":ready")) < processes:
    time.sleep(0.005)
slots = []
while len(slots) < count:
    cost = 1 + (index + len(slots)) % 3
    got = reserve(key, cost=cost, rate=300.0, burst=5, max_wait=0.05)
    if got.granted:
        slots.append([round(got.at * 1_000_000), cost, got.wait])
    else:
        time.sleep(got.wait - 0.05)
print(json.dumps(slots))
"""


def test_worker_processes_sharing_a_sender_keep_to_one_rate_in_every_window(key):
    processes, count = 3, 40
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, key, str(index), str(processes), str(count)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(processes)
    ]
    results = []
    try:
        for child in children:
            out, err = child.communicate(timeout=30)
            assert child.returncode == 0, err
            results += json.loads(out)
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    assert len(results) == processes * count
    assert all(wait <= 0.05 for _, _, wait in results)
    slots = [(at, cost) for at, cost, _ in results]
    widths = [0, 1 / 300, 0.02, 0.1, 0.5, 10]
    assert_no_window_above_the_limit(slots, rate=300.0, burst=5, widths=widths)


@pytest.mark.parametrize(
    "limit",
    [
        dict(cost=0, rate=1.0, burst=1, max_wait=0),
        dict(cost=1, rate=0.0, burst=1, max_wait=0),
        dict(cost=1, rate=1.0, burst=0, max_wait=0),
        dict(cost=1, rate=1.0, burst=1, max_wait=-1),
    ],
)
def test_a_meaningless_limit_is_a_programming_error(key, limit):
    with pytest.raises(ValueError):
        reserve(key, **limit)


def test_redis_errors_reach_the_caller(key, settings):
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}
    }
    with pytest.raises(redis.ConnectionError):
        reserve(key, cost=1, rate=1.0, burst=1, max_wait=0)


def test_the_sender_limit_comes_from_the_settings_per_segment_per_minute(settings):
    settings.TWILIO_RATE_LIMIT = 180
    settings.TWILIO_RATE_BURST = 7
    assert sender_limit("+15005550006") == SenderLimit(
        key="sms:rate:+15005550006", rate=3.0 * (1 - JITTER_HEADROOM), burst=7
    )
    assert sender_limit("MG" + "0" * 32).key == "sms:rate:MG" + "0" * 32


def test_by_default_a_sender_gets_one_segment_a_second_with_a_burst_of_five(settings):
    del settings.TWILIO_RATE_LIMIT, settings.TWILIO_RATE_BURST  # notifications.conf's defaults
    assert sender_limit("+15005550006") == SenderLimit(
        "sms:rate:+15005550006", 1.0 * (1 - JITTER_HEADROOM), 5
    )


def test_a_rate_limit_of_zero_turns_the_limiter_off(settings):
    settings.TWILIO_RATE_LIMIT = 0
    assert sender_limit("+15005550006") is None


@pytest.mark.parametrize("rate, burst", [(-1, 5), (60, 0)])
def test_a_wrong_rate_setting_is_a_configuration_error_that_names_it(settings, rate, burst):
    settings.TWILIO_RATE_LIMIT = rate
    settings.TWILIO_RATE_BURST = burst
    with pytest.raises(SMSConfigurationError, match="TWILIO_RATE_"):
        sender_limit("+15005550006")


def test_the_script_is_registered_once_per_client_and_run_by_its_sha(key):
    reserve(key, cost=1, rate=1.0, burst=1, max_wait=0)
    assert ratelimit._script(get_redis()) is ratelimit._script(get_redis())
    assert get_redis().script_exists(ratelimit._script(get_redis()).sha) == [True]
