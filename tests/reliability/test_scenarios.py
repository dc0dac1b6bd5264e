"""Crash it, cut it off, flood it with errors: every accepted message ends sent once or failed.

Each scenario runs the whole system as processes (tests/reliability/stack.py), sends MESSAGES
messages through the API (a fifth single sends, the rest one bulk), injects its fault mid-send,
and then checks, over the sandbox's record of provider calls and the database: lost = 0,
duplicates = 0, unexpected = 0, every row terminal, no API answer but 202; and records the
time from the fault to the last row ending. `make chaos` runs them with 10,000 messages.

Leases are shortened to 10 s (renewed every 2 s) so that `make test` stays short, except in
`worker_killed_with_project_defaults`, which measures the documented bound with the defaults.
"""

import os
import signal
import time

import pytest
from django.db import connection

from tests.reliability.stack import MESSAGES, TcpProxy, numbers

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Enough for the slowest scenario at 10,000 messages on two cores; a stuck row fails it.
SETTLE_TIMEOUT = 90 + MESSAGES / 20
# The bulk takes about ten seconds at test size, so that faults land mid-send.
PACED = {"TWILIO_RATE_LIMIT": max(MESSAGES * 6, 600), "TWILIO_RATE_BURST": 5}
SHORT_LEASES = {
    "SMS_LEASE_SECONDS": 10,
    "SMS_LEASE_RENEW_INTERVAL": 2.0,
    "TWILIO_CONNECT_TIMEOUT": 1.0,
    "TWILIO_READ_TIMEOUT": 3.0,
}
# A storm lasts as long at every size; 60 s of 429s in `make chaos`.
STORM_SECONDS = 60 if MESSAGES >= 1000 else 8


# Every scenario runs on Redis; these on RabbitMQ too in `make test`, and all of them on both
# in `make chaos`. The RabbitMQ ones run one at a time (one xdist group): a node restart
# would disturb the others, which share the server (each on a virtual host of its own).
RABBITMQ = pytest.param("rabbitmq", marks=pytest.mark.xdist_group("rabbitmq"))
BOTH = pytest.mark.parametrize("broker", ["redis", RABBITMQ], indirect=True)
EVERY = BOTH if MESSAGES >= 1000 else pytest.mark.parametrize("broker", ["redis"], indirect=True)


@pytest.fixture
def broker(request):
    """The broker's name and URL: the scenario's own Redis, or a RabbitMQ virtual host."""
    name = getattr(request, "param", "redis")
    if name == "rabbitmq":
        return name, request.getfixturevalue("vhost")[1]
    return name, ""


@pytest.fixture
def stack(tmp_path, sandbox, transactional_db, broker):
    """Builds the scenario's stack; the sandbox's faults are cleared afterwards."""
    from tests.reliability.stack import Stack

    name, url = broker

    def build(**options) -> Stack:
        return Stack(tmp_path, sandbox, broker=name, broker_url=url, **options)

    yield build
    sandbox.clear_faults()


def assert_nothing_lost_or_repeated(audit, record):
    record(audit)
    assert audit.messages > 0, "the API accepted nothing"
    problems = {
        name: getattr(audit, name)
        for name in ("lost", "duplicates", "unexpected", "non_terminal", "api_errors")
        if getattr(audit, name)
    }
    assert problems == {}, f"{audit.scenario}: {problems} {audit.notes}"
    assert audit.recover_seconds is not None


def mid_bulk(running, fraction: float = 0.25) -> None:
    """Wait until this share of the messages reached the provider."""
    running.wait_for_provider_calls(max(1, int(MESSAGES * fraction)))


@BOTH
def test_baseline(stack, record):
    with stack(**PACED, **SHORT_LEASES) as running:
        started = time.monotonic()
        running.send_mix(MESSAGES)
        recovered = running.wait_until_settled(started, SETTLE_TIMEOUT)
        assert_nothing_lost_or_repeated(running.audit("baseline", recovered), record)


@BOTH
def test_worker_killed_with_project_defaults(stack, record):
    """SIGKILL of a whole worker (main process and pool) mid-bulk, with the default 30 s lease:
    every message it held is resolved within 60 s of its death."""
    with stack(**PACED) as running:
        running.send_mix(MESSAGES)
        mid_bulk(running)
        running.workers[0].kill()
        killed = time.monotonic()
        recovered = running.wait_until_settled(killed, SETTLE_TIMEOUT)
        audit = running.audit("worker SIGKILL (defaults)", recovered)
        assert_nothing_lost_or_repeated(audit, record)
        assert recovered < 60


@EVERY
def test_pool_child_killed(stack, record):
    with stack(**PACED, **SHORT_LEASES) as running:
        running.send_mix(MESSAGES)
        mid_bulk(running)
        children = running.pool_children(running.workers[0])
        assert children, "no pool processes found"
        for child in children:
            os.kill(child, signal.SIGKILL)
        killed = time.monotonic()
        recovered = running.wait_until_settled(killed, SETTLE_TIMEOUT)
        assert_nothing_lost_or_repeated(running.audit("pool child SIGKILL", recovered), record)


@BOTH
def test_deploy_stops_a_worker_with_sigterm(stack, record):
    with stack(**PACED, **SHORT_LEASES, CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT=10) as running:
        running.send_mix(MESSAGES)
        mid_bulk(running)
        stopping = time.monotonic()
        running.terminate(running.workers[0])
        running.start_worker("deployed")
        recovered = running.wait_until_settled(stopping, SETTLE_TIMEOUT)
        assert_nothing_lost_or_repeated(running.audit("deploy (SIGTERM)", recovered), record)


@pytest.mark.parametrize("persistent", [True, False], ids=["aof", "no-persistence"])
@EVERY
def test_redis_killed_and_restarted(stack, record, persistent):
    """Broker and cache Redis die mid-bulk; while down the API still accepts; on restart
    (from its append-only file, or empty) everything is published again."""
    with stack(**PACED, **SHORT_LEASES, persistent_redis=persistent) as running:
        running.send_bulk(numbers(MESSAGES))
        mid_bulk(running)
        running.redis.kill()
        running.send_singles(numbers(max(1, MESSAGES // 10), start=MESSAGES))
        time.sleep(3)
        running.redis.start()
        restarted = time.monotonic()
        recovered = running.wait_until_settled(restarted, SETTLE_TIMEOUT)
        name = "Redis restart (AOF)" if persistent else "Redis restart (empty)"
        assert_nothing_lost_or_repeated(running.audit(name, recovered), record)


@BOTH
def test_provider_5xx_storm(stack, record, sandbox):
    with stack(**PACED, **SHORT_LEASES) as running:
        sandbox.set_faults(
            http_500={"rate": 0.3, "scope": "messages", "methods": ["POST"], "seed": 1},
            http_503={"rate": 0.2, "scope": "messages", "methods": ["POST"], "seed": 2},
        )
        running.send_mix(MESSAGES)
        time.sleep(STORM_SECONDS / 2)
        sandbox.clear_faults()
        over = time.monotonic()
        recovered = running.wait_until_settled(over, SETTLE_TIMEOUT)
        assert_nothing_lost_or_repeated(running.audit("Twilio 500/503 storm", recovered), record)


@EVERY
def test_provider_429_storm(stack, record, sandbox):
    with stack(**PACED, **SHORT_LEASES, SMS_RETRY_ATTEMPTS=40) as running:
        sandbox.set_faults(
            http_429={"rate": 1.0, "scope": "messages", "methods": ["POST"], "retry_after": 1}
        )
        running.send_mix(MESSAGES)
        time.sleep(STORM_SECONDS)
        sandbox.clear_faults()
        over = time.monotonic()
        recovered = running.wait_until_settled(over, SETTLE_TIMEOUT)
        name = f"Twilio 429 storm ({STORM_SECONDS} s)"
        assert_nothing_lost_or_repeated(running.audit(name, recovered), record)


@EVERY
def test_provider_accepts_then_fails(stack, record, sandbox):
    """Twilio created the message but the answer is a 500 or never comes: the retry finds the
    provider's copy and adopts it instead of sending again."""
    with stack(**PACED, **SHORT_LEASES) as running:
        sandbox.set_faults(
            accept_then_500={"rate": 0.1, "scope": "messages", "methods": ["POST"], "seed": 3},
            accept_then_drop={"rate": 0.1, "scope": "messages", "methods": ["POST"], "seed": 4},
        )
        started = time.monotonic()
        running.send_mix(MESSAGES)
        recovered = running.wait_until_settled(started, SETTLE_TIMEOUT)
        assert_nothing_lost_or_repeated(running.audit("accept-then-fail", recovered), record)


@EVERY
def test_callbacks_duplicated_reordered_and_dropped(stack, record, sandbox):
    """Dropped ones are made up for by fetching the stale statuses from the provider."""
    with stack(**PACED, **SHORT_LEASES) as running:
        sandbox.set_faults(
            callback_duplicate={"rate": 0.3, "seed": 5},
            callback_out_of_order={"rate": 0.3, "seed": 6},
            callback_drop={"rate": 0.2, "seed": 7},
        )
        started = time.monotonic()
        running.send_mix(MESSAGES)
        recovered = running.wait_until_settled(started, SETTLE_TIMEOUT)
        audit = running.audit("callbacks duplicated, reordered, dropped", recovered)
        assert_nothing_lost_or_repeated(audit, record)


@EVERY
def test_database_unavailable_to_the_workers_for_10_seconds(stack, record):
    database = connection.settings_dict
    proxy = TcpProxy((database["HOST"] or "127.0.0.1", int(database["PORT"] or 5432)))
    try:
        with stack(**PACED, **SHORT_LEASES, worker_database=proxy) as running:
            running.send_mix(MESSAGES)
            mid_bulk(running)
            proxy.cut()
            time.sleep(10)
            proxy.restore()
            back = time.monotonic()
            recovered = running.wait_until_settled(back, SETTLE_TIMEOUT)
            audit = running.audit("database gone 10 s (workers)", recovered)
            assert_nothing_lost_or_repeated(audit, record)
    finally:
        proxy.close()


@EVERY
def test_the_limiters_keys_lost_mid_bulk(stack, record):
    with stack(**PACED, **SHORT_LEASES) as running:
        running.send_mix(MESSAGES)
        mid_bulk(running)
        # A schedule's key lives only while the sends are ahead of it: on a busy machine it
        # can be gone at any instant, so its keys are deleted for as long as the bulk runs
        # on (and at least once while they exist: the limiter is in use).
        client = running.redis.client()
        lost, until = 0, time.monotonic() + 3
        while time.monotonic() < until or not lost:
            lost += client.delete(*client.keys("sms:rate:*") or ["sms:rate:none"])
            assert running.unfinished(), "no rate-limit key to lose: the limiter is not in use"
            time.sleep(0.05)
        at = time.monotonic()
        recovered = running.wait_until_settled(at, SETTLE_TIMEOUT)
        assert_nothing_lost_or_repeated(running.audit("limiter keys lost", recovered), record)


@pytest.mark.parametrize("broker", [RABBITMQ], indirect=True)
def test_rabbitmq_node_restarted_mid_bulk(stack, record):
    """The quorum queues keep what they hold; workers and beat reconnect."""
    from tests.rabbitmq import rabbitmqctl

    with stack(**PACED, **SHORT_LEASES) as running:
        running.send_mix(MESSAGES)
        mid_bulk(running)
        rabbitmqctl("stop_app")
        try:
            time.sleep(3)
        finally:
            rabbitmqctl("start_app")
        restarted = time.monotonic()
        recovered = running.wait_until_settled(restarted, SETTLE_TIMEOUT)
        assert_nothing_lost_or_repeated(running.audit("RabbitMQ node restart", recovered), record)
