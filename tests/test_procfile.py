"""`make run`'s processes (Procfile.dev) started as real subprocesses: what their console shows.

Each command runs exactly as written in the Procfile, against the suite's database, its Redis
index and the sandbox, through a settings module written for the test.
"""

import re
import socket
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from notifications import services
from tests.helpers import wait_for
from tests.processes import running, worker_environment

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[1]
TO = "+919812345610"
FULL_NUMBER = re.compile(r"\+\d{8,15}")
DELIVER = r"Task notifications\.tasks\.deliver_sms\[[0-9a-f-]{36}\]"


def procfile_command(name: str) -> str:
    for line in (ROOT / "Procfile.dev").read_text().splitlines():
        process, _, command = line.partition(":")
        if process.strip() == name:
            return command.strip()
    raise AssertionError(f"no {name!r} process in Procfile.dev")


@pytest.fixture
def environment(tmp_path, sandbox):
    """The subprocesses' environment: the suite's settings, database, Redis index and sandbox."""
    from worker import app

    app.control.purge()  # nothing left over from other tests for these workers
    yield worker_environment(
        tmp_path,
        sandbox,
        CELERY_BEAT_SCHEDULE={
            "purge-webhook-events": {
                "task": "notifications.tasks.purge_webhook_events",
                "schedule": 1.0,
            }
        },
    )
    app.control.purge()


@contextmanager
def console_of(command: str, env: dict[str, str]):
    with running(command, env) as process:
        yield process.console


def test_the_worker_shows_its_ready_line_and_each_task_received_retried_and_succeeded(
    environment, sandbox
):
    sandbox.set_faults(http_503={"next": 1, "scope": "messages", "methods": ["POST"]})
    with console_of(procfile_command("worker"), environment) as console:
        wait_for(lambda: re.search(r"celery@\S+ ready\.", console()), timeout=60, what="ready")
        services.send_sms(to=TO, body="Your interview is at 10:00")
        wait_for(lambda: "accepted by the provider" in console(), timeout=30, what="accepted")
        wait_for(lambda: len(re.findall(DELIVER + " succeeded", console())) == 2, what="both runs")
    lines = console().splitlines()
    # The retry is scheduled by the delivery engine: a second task, after a warning line.
    assert len([line for line in lines if re.search(DELIVER + " received", line)]) == 2
    assert len([line for line in lines if "failed transiently" in line and "retry in" in line]) == 1
    assert len([line for line in lines if re.search(DELIVER + " succeeded", line)]) == 2
    assert not FULL_NUMBER.search(console())


def test_beat_shows_each_task_it_sends(environment):
    with console_of(procfile_command("beat"), environment) as console:
        wait_for(
            lambda: "Sending due task purge-webhook-events" in console(),
            timeout=60,
            what="beat's send",
        )


def test_flower_asks_for_its_login_and_lists_the_worker_and_its_recent_tasks(environment):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    flower = procfile_command("flower")
    assert "--port=5555" in flower
    flower = flower.replace("--port=5555", f"--port={port}")

    def healthy() -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/healthcheck", timeout=1).ok
        except requests.RequestException:
            return False

    def api(path: str, auth=("admin", "admin")) -> requests.Response:
        return requests.get(f"http://127.0.0.1:{port}{path}", auth=auth, timeout=5)

    # Started together, as honcho starts them: Flower inspects the workers as it starts.
    with console_of(procfile_command("worker"), environment) as worker:
        with console_of(flower, environment) as console:
            wait_for(healthy, timeout=90, interval=0.2, what="Flower")
            time.sleep(2.5)  # the start-up inspection waits up to 1 s for answers
            assert re.search(r"celery@\S+ ready\.", worker())
            assert api("/", auth=None).status_code == 401
            assert api("/", auth=("admin", "wrong")).status_code == 401
            message = services.send_sms(to=TO, body="Your interview is at 10:00")

            def delivery_listed() -> list:
                tasks = api("/api/tasks?limit=50").json().values()
                name = "notifications.tasks.deliver_sms"
                return [t for t in tasks if t["name"] == name and t["state"] == "SUCCESS"]

            [task] = wait_for(delivery_listed, timeout=30, what="the delivery in Flower")
            workers = api("/api/workers?refresh=1").json()
    assert task["args"] == f"([{message.id}],)"  # ids only, never a number or a body
    assert not FULL_NUMBER.search(str(task)) and "interview" not in str(task)
    assert len(workers) == 1 and next(iter(workers)).startswith("celery@")
    assert "Inspect method" not in console()
    assert "WARNING" not in console()
