"""RabbitMQ as the broker: quorum queues, exactly-once sends, countdowns through RabbitMQ's own
delayed delivery, a whole bulk, and a node restart in the middle of one.

Each test gets a virtual host of its own on TEST_RABBITMQ_URL's server (made and deleted with
rabbitmqctl) and runs real worker processes on it; a "web" subprocess with the same settings
records and publishes, as a request would. What reached "Twilio" is read from the sandbox. A
server that is not there fails these tests (bin/ensure-services --rabbitmq starts a local one).
"""

import json
import re
import subprocess
import sys
import time
from datetime import datetime

import pytest
from django.conf import settings as django_settings
from kombu import Connection

from config.settings.base import rabbitmq_settings
from notifications.models import BulkSend, SMSLog
from notifications.status import SMSStatus
from tests.helpers import wait_for
from tests.processes import ROOT, WORKER, running, worker_environment
from tests.rabbitmq import rabbitmqctl
from worker.app import QUEUES

pytestmark = pytest.mark.integration

TO = "+919812345670"
BODY = "Placement drive on Friday at 10:00, main hall."
COMMAND = f"{WORKER} -Q {','.join(QUEUES)} --pool threads -c 4 -n rabbitmq-test@%h"
READY = re.compile(r"rabbitmq-test@\S+ ready\.")


def recipients(count: int) -> list[str]:
    return [f"+91982{i:07d}" for i in range(count)]


def queues(vhost: str) -> dict[str, dict]:
    """The virtual host's queues by name, with their types."""
    rows = json.loads(
        rabbitmqctl("list_queues", "-p", vhost, "name", "type", "--formatter", "json")
    )
    return {row["name"]: row for row in rows}


def ready(url: str, prefix: str = "") -> int:
    """Messages ready in the project's and the delayed-delivery queues whose names start with
    `prefix`, counted by the queues themselves (rabbitmqctl's figures for a quorum queue lag
    by seconds)."""
    names = [*QUEUES, *(f"celery_delayed_{level}" for level in range(28))]
    with Connection(url) as conn:
        channel = conn.default_channel
        return sum(
            channel.queue_declare(queue=name, passive=True).message_count
            for name in names
            if name.startswith(prefix)
        )


def logged_at(console: str, pattern: str) -> list[datetime]:
    """When the worker logged each line matching `pattern` (its lines start with the time)."""
    found = re.findall(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*" + pattern, console, re.M)
    return [datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f") for stamp in found]


@pytest.fixture
def stack(tmp_path, sandbox, transactional_db, vhost):
    """A function giving the environment of worker and web subprocesses on this test's vhost,
    with RabbitMQ's settings (config/settings/base.py) and any others."""
    _, url = vhost
    sandbox.configure(step_delay=3600)  # no status callbacks: only the creates matter here

    def environment(**overrides) -> dict[str, str]:
        return worker_environment(
            tmp_path, sandbox, CELERY_BROKER_URL=url, **rabbitmq_settings(), **overrides
        )

    return environment


def web(env: dict[str, str], code: str) -> str:
    """Run `code` in a Django process of these settings (as a request would); its output."""
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup()\n{code}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def send_sms(env: dict[str, str], to: str = TO) -> str:
    code = f"from notifications import services\nprint(services.send_sms(to={to!r}, body='Hi').id)"
    return web(env, code)


def send_bulk(env: dict[str, str], numbers: list[str]) -> BulkSend:
    code = (
        "from notifications import services\n"
        f"print(services.send_bulk(recipients={numbers!r}, body={BODY!r}).id)"
    )
    return BulkSend.objects.get(id=web(env, code))


def accepted(message_id) -> bool:
    """Taken by the provider (the sandbox sends no status callbacks here: it stays queued)."""
    message = SMSLog.objects.get(id=message_id)
    return message.status == SMSStatus.QUEUED and bool(message.provider_sid)


def state_of(bulk) -> str:
    return BulkSend.objects.get(id=bulk.id).state


def per_number(sandbox, limit: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for message in sandbox.messages(limit=limit):
        counts[message["to"]] = counts.get(message["to"], 0) + 1
    return counts


def started(worker) -> None:
    wait_for(lambda: READY.search(worker.console()), timeout=60, what="the worker's ready line")


def test_the_projects_queues_are_quorum_queues_on_a_topic_exchange(stack, vhost):
    name, _ = vhost
    with running(COMMAND, stack()) as worker:
        started(worker)
        declared = queues(name)
    assert {queue: declared[queue]["type"] for queue in QUEUES} == dict.fromkeys(QUEUES, "quorum")
    # RabbitMQ's delayed delivery: 28 levels of quorum queues, one per bit of the delay.
    delayed = {n: row["type"] for n, row in declared.items() if n.startswith("celery_delayed_")}
    assert delayed == {f"celery_delayed_{level}": "quorum" for level in range(28)}
    exchanges = dict(
        line.split("\t")
        for line in rabbitmqctl("list_exchanges", "-p", name, "name", "type").splitlines()
    )
    assert exchanges[django_settings.CELERY_TASK_DEFAULT_QUEUE] == "topic"
    # Each queue is bound by its own name (and by "#.<name>" for delayed delivery) only.
    bindings = rabbitmqctl("list_bindings", "-p", name, "source_name", "destination_name",
                           "routing_key").splitlines()  # fmt: skip
    exchange = django_settings.CELERY_TASK_DEFAULT_QUEUE
    for queue in QUEUES:
        keys = {line.split("\t")[2] for line in bindings if line.startswith(f"{exchange}\t")
                and line.split("\t")[1] == queue}  # fmt: skip
        assert keys == {queue, f"#.{queue}"}, (queue, keys)
    assert "Global QoS is disabled" in worker.console()


def test_a_single_send_reaches_the_provider_exactly_once(stack, sandbox, vhost):
    _, url = vhost
    env = stack()
    with running(COMMAND, env) as worker:
        started(worker)
        message_id = send_sms(env)
        wait_for(
            lambda: accepted(message_id),
            timeout=30,
            what="accepted",
        )
        time.sleep(1)  # long enough for a second delivery to show up
    assert ready(url) == 0  # acknowledged: a stopped worker gives back what it has not
    # One task, in the one queue it is routed to (not a copy in each queue of the exchange).
    assert len(re.findall(r"deliver_sms\[\S+\] received", worker.console())) == 1
    message = SMSLog.objects.get(id=message_id)
    [received] = sandbox.messages(to=TO)
    assert (message.attempts, message.provider_sid) == (1, received["sid"])


def test_a_retry_counted_down_goes_through_rabbitmqs_delayed_delivery(stack, sandbox, vhost):
    """A 503 defers the message for 5 to 6 s: it waits in a celery_delayed_* queue, not in the
    worker's memory (which would receive it at once and hold it), and is sent after that."""
    _, url = vhost
    env = stack(SMS_RETRY_BACKOFF=6.0, SMS_RETRY_MIN_DELAY=5.0, TWILIO_RETRY_DELAY=10)
    sandbox.set_faults(http_503={"next": 1, "scope": "messages", "methods": ["POST"]})
    with running(COMMAND, env) as worker:
        started(worker)
        message_id = send_sms(env)
        wait_for(lambda: "failed transiently" in worker.console(), timeout=30, what="the 503")
        wait_for(lambda: ready(url, "celery_delayed_") == 1, timeout=3, what="a delayed task")
        wait_for(lambda: accepted(message_id), timeout=30, what="accepted after the countdown")
    [failed] = logged_at(worker.console(), "failed transiently")
    first, second = logged_at(worker.console(), r"deliver_sms\[\S+\] received")
    assert first <= failed and (second - failed).total_seconds() >= 4.5
    message = SMSLog.objects.get(id=message_id)
    assert message.attempts == 2 and len(sandbox.messages(to=TO)) == 1
    assert ready(url) == 0


def test_a_bulk_of_200_gives_each_recipient_one_message(stack, sandbox, vhost):
    _, url = vhost
    env = stack(SMS_BATCH_SIZE=20)
    numbers = recipients(200)
    with running(COMMAND, env) as worker:
        started(worker)
        bulk = send_bulk(env, numbers)
        wait_for(lambda: state_of(bulk) == BulkSend.State.COMPLETED, timeout=60, what="done")
        time.sleep(1)
    assert ready(url) == 0
    assert per_number(sandbox, 400) == dict.fromkeys(numbers, 1)
    recorded = SMSLog.objects.filter(bulk_id=bulk.id).values_list("provider_sid", flat=True)
    assert sorted(recorded) == sorted(m["sid"] for m in sandbox.messages(limit=400))


def test_a_node_restart_mid_bulk_loses_nothing_and_the_worker_consumes_again(stack, sandbox, vhost):
    """stop_app / start_app while most of a bulk's tasks wait in the queue and two are running
    (slow provider calls, two at a time). The lease and stall timeouts are left long: only what
    RabbitMQ kept (and beat's dispatcher, for a publish refused during the outage) can finish
    the bulk in time, and a task redelivered after the restart must not send twice."""
    _, url = vhost
    sandbox.set_faults(latency={"ms": 100, "scope": "messages", "methods": ["POST"]})
    env = stack(
        SMS_BATCH_SIZE=5,
        SMS_SEND_CONCURRENCY=2,
        CELERY_BEAT_SCHEDULE={
            "dispatch-due-messages": {
                "task": "notifications.tasks.dispatch_due_messages",
                "schedule": 1.0,
                "options": {"expires": 1.0},
            }
        },
    )
    numbers = recipients(200)
    with running(COMMAND.replace("-c 4", "-c 2") + " -B", env) as worker:
        started(worker)
        bulk = send_bulk(env, numbers)
        wait_for(lambda: len(sandbox.messages(limit=400)) >= 20, timeout=30, what="under way")
        assert ready(url, "bulk") > 10  # tasks on the broker when it goes down
        try:
            rabbitmqctl("stop_app")
            stopped = len(sandbox.messages(limit=400))
            time.sleep(1)
        finally:
            rabbitmqctl("start_app")
        assert stopped < 150
        wait_for(
            lambda: worker.console().count("Connected to amqp://") >= 2,
            timeout=30,
            what="the worker's reconnection",
        )
        wait_for(lambda: state_of(bulk) == BulkSend.State.COMPLETED, timeout=60, what="done")
        # It consumes new work too, not only what it had been given before.
        message_id = send_sms(env, to="+12015550123")
        wait_for(lambda: accepted(message_id), timeout=30, what="a send after the restart")
    assert per_number(sandbox, 400) == {**dict.fromkeys(numbers, 1), "+12015550123": 1}
    messages = SMSLog.objects.filter(bulk_id=bulk.id)
    assert set(messages.values_list("status", flat=True)) == {SMSStatus.QUEUED}
    assert ready(url) == 0
