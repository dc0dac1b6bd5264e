"""Verification throttles against real Redis: sliding windows, all-or-nothing counting, races."""

import threading
import uuid

import pytest

from notifications import throttling
from notifications.exceptions import RateLimited
from notifications.redis_client import get_redis
from notifications.throttling import Limit
from tests.helpers import wait_for


@pytest.fixture
def prefix():
    """A key prefix of this test's own, removed afterwards."""
    value = f"sms:verify:test:{uuid.uuid4().hex}"
    yield value
    redis = get_redis()
    keys = list(redis.scan_iter(f"{value}*"))
    if keys:
        redis.delete(*keys)


def passes(limits) -> bool:
    try:
        throttling.hit(limits)
    except RateLimited:
        return False
    return True


def test_requests_pass_up_to_the_limit_and_the_next_is_refused_with_retry_after(prefix):
    limits = [Limit("number_hour", f"{prefix}:a", 3, 3600)]
    assert [passes(limits) for _ in range(3)] == [True, True, True]
    with pytest.raises(RateLimited) as refused:
        throttling.hit(limits)
    assert refused.value.limit == "number_hour" and refused.value.code == "throttled"
    assert refused.value.http_status == 429
    assert 3595 <= refused.value.retry_after <= 3600


def test_retry_after_is_the_time_until_the_oldest_counted_request_leaves_the_window(prefix):
    limits = [Limit("cooldown", f"{prefix}:c", 1, 1.9)]
    throttling.hit(limits)
    with pytest.raises(RateLimited) as refused:
        throttling.hit(limits)
    assert refused.value.retry_after == 2  # 1.9 s, rounded up to whole seconds
    # The window slides: once the first request is older than the window, one more passes.
    wait_for(lambda: passes(limits), timeout=5, interval=0.05, what="the window to slide")
    assert not passes(limits)


def test_a_request_refused_by_one_limit_is_counted_against_none(prefix):
    ip = Limit("ip_hour", f"{prefix}:ip", 1, 3600)
    number = Limit("number_hour", f"{prefix}:number", 5, 3600)
    assert passes([ip, number])
    for _ in range(10):
        assert not passes([ip, number])
    redis = get_redis()
    assert redis.zcard(number.key) == 1 and redis.zcard(ip.key) == 1


def test_the_refusal_names_the_limit_that_frees_up_last(prefix):
    cooldown = Limit("resend_cooldown", f"{prefix}:cooldown", 1, 30)
    hour = Limit("number_hour", f"{prefix}:hour", 1, 3600)
    throttling.hit([cooldown, hour])
    with pytest.raises(RateLimited) as refused:
        throttling.hit([cooldown, hour])
    assert refused.value.limit == "number_hour" and refused.value.retry_after > 3500


def test_memory_stays_bounded_and_keys_expire_whatever_the_traffic(prefix):
    limits = [Limit("checks_day", f"{prefix}:checks", 15, 24 * 3600)]
    outcomes = [passes(limits) for _ in range(1000)]
    assert outcomes.count(True) == 15
    redis = get_redis()
    assert redis.zcard(limits[0].key) == 15
    assert 0 < redis.pttl(limits[0].key) <= 24 * 3600 * 1000


def test_concurrent_requests_never_pass_more_than_the_limit(prefix):
    limits = [
        Limit("global_minute", f"{prefix}:global", 7, 60),
        Limit("number_day", f"{prefix}:day", 100, 24 * 3600),
    ]
    threads_count = 40
    barrier = threading.Barrier(threads_count)
    results: list[bool] = []
    lock = threading.Lock()

    def request():
        barrier.wait()
        outcome = passes(limits)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=request) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == threads_count and results.count(True) == 7
    assert get_redis().zcard(limits[1].key) == 7  # the refused 33 counted nowhere


def test_no_limits_means_no_redis_round_trip_and_no_refusal():
    throttling.hit([])


class TestConfiguredLimits:
    NUMBER = "+919812345610"

    def test_sends_are_limited_globally_by_ip_by_cooldown_hour_and_day(self, settings):
        limits = throttling.start_limits(phone_number=self.NUMBER, client_ip="203.0.113.9")
        assert [(lim.name, lim.key, lim.limit, lim.window) for lim in limits] == [
            ("global_minute", "sms:verify:sends", 60, 60),
            ("ip_hour", "sms:verify:sends:ip:203.0.113.9", 20, 3600),
            ("resend_cooldown", f"sms:retry:{self.NUMBER}", 1, 30),
            ("number_hour", f"sms:verify:sends:hour:{self.NUMBER}", 5, 3600),
            ("number_day", f"sms:verify:sends:day:{self.NUMBER}", 10, 24 * 3600),
        ]

    def test_the_limits_come_from_settings_and_zero_turns_one_off(self, settings):
        settings.SMS_VERIFY_SENDS_PER_MINUTE = 0
        settings.SMS_VERIFY_RESEND_COOLDOWN = 0
        settings.SMS_VERIFY_SENDS_PER_NUMBER_HOUR = 3
        limits = throttling.start_limits(phone_number=self.NUMBER, client_ip="203.0.113.9")
        assert [(lim.name, lim.limit) for lim in limits] == [
            ("ip_hour", 20),
            ("number_hour", 3),
            ("number_day", 10),
        ]

    def test_without_a_client_address_there_is_no_per_ip_limit(self):
        names = [
            lim.name for lim in throttling.start_limits(phone_number=self.NUMBER, client_ip=None)
        ]
        assert "ip_hour" not in names and "number_day" in names

    def test_ipv6_clients_are_limited_by_their_64_bit_prefix(self):
        keys = {
            lim.key
            for ip in ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9")
            for lim in throttling.start_limits(phone_number=self.NUMBER, client_ip=ip)
            if lim.name == "ip_hour"
        }
        assert keys == {"sms:verify:sends:ip:2001:db8:1:2::/64"}

    def test_checks_are_limited_per_number_per_day(self, settings):
        [limit] = throttling.check_limits(phone_number=self.NUMBER)
        assert (limit.name, limit.limit, limit.window) == ("checks_day", 10, 24 * 3600)
        settings.SMS_VERIFY_CHECKS_PER_NUMBER_DAY = 0
        assert throttling.check_limits(phone_number=self.NUMBER) == []
