"""The start scripts of docker/ call their programs with the documented defaults and overrides:
run against stand-ins for python, gunicorn and celery that print how they were called."""

import os
import re
import subprocess

import pytest

from tests.ops.files import ROOT, SCRIPTS
from worker.app import QUEUES

# A stand-in program: one line per call: its name, each argument in brackets, WEB_CONCURRENCY
# and the directory it runs in.
STAND_IN = """#!/bin/sh
printf '%s' "$(basename "$0")"
printf ' [%s]' "$@"
printf ' WEB_CONCURRENCY=%s PWD=%s\\n' "${WEB_CONCURRENCY-unset}" "$PWD"
"""


@pytest.fixture
def run(tmp_path):
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for program in ("python", "gunicorn", "celery"):
        (bin_ / program).write_text(STAND_IN)
        (bin_ / program).chmod(0o755)

    def run(script: str, *args: str, **env: str) -> list[str]:
        result = subprocess.run(
            [SCRIPTS / script, *args], cwd=tmp_path, capture_output=True, text=True, timeout=30,
            env={"PATH": os.pathsep.join([str(bin_), "/usr/bin", "/bin"]), **env},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    return run


def words(line: str) -> list[str]:
    return re.findall(r"\[([^]]*)\]", line)


def variable(line: str, name: str) -> str:
    return re.search(rf" {name}=(\S*)", line)[1]


def test_every_script_is_strict_bash_and_ends_by_exec():
    for script in SCRIPTS.glob("start-*"):
        lines = script.read_text().splitlines()
        assert lines[0] == "#!/usr/bin/env bash", script.name
        assert "set -euo pipefail" in lines, script.name
        last = [line for line in lines if line and not line.startswith((" ", "#"))][-1]
        assert last.startswith("exec "), script.name


def test_web_migrates_first_then_execs_gunicorn_with_its_defaults(run):
    migrate, gunicorn = run("start-web")
    assert migrate.startswith("python") and words(migrate) == ["manage.py", "migrate", "--noinput"]
    assert gunicorn.startswith("gunicorn")
    args = words(gunicorn)
    assert args[0] == "config.wsgi:application"
    assert args[args.index("--bind") + 1] == "0.0.0.0:8000"
    assert args[args.index("--access-logfile") + 1] == "-"
    assert int(args[args.index("--graceful-timeout") + 1]) < int(args[args.index("--timeout") + 1])
    assert variable(gunicorn, "WEB_CONCURRENCY") == str(
        min(2 * len(os.sched_getaffinity(0)) + 1, 8)
    )


def test_web_takes_its_port_worker_count_and_extra_arguments_from_outside(run):
    _, gunicorn = run("start-web", "--max-requests", "1000", PORT="9001", WEB_CONCURRENCY="3")
    args = words(gunicorn)
    assert args[args.index("--bind") + 1] == "0.0.0.0:9001"
    assert args[-2:] == ["--max-requests", "1000"]
    assert variable(gunicorn, "WEB_CONCURRENCY") == "3"


def test_the_worker_consumes_every_queue_with_the_documented_defaults(run):
    [celery] = run("start-worker")
    args = words(celery)
    assert args[:3] == ["-A", "worker", "worker"]
    options = dict(zip(args[3:], args[4:], strict=False))
    assert options["--queues"] == ",".join(QUEUES)
    assert options["--pool"] == "prefork" and options["--concurrency"] == "2"
    assert options["--loglevel"] == "INFO" and options["--hostname"] == "celery@%h"
    assert "-E" in args


def test_the_worker_takes_its_queues_pool_size_name_and_level_from_outside(run):
    [celery] = run(
        "start-worker", "--without-gossip", CELERY_WORKER_QUEUES="bulk",
        CELERY_WORKER_POOL="threads", CELERY_WORKER_CONCURRENCY="16",
        CELERY_WORKER_NAME="bulk@%h", CELERY_LOG_LEVEL="WARNING",
    )  # fmt: skip
    args = words(celery)
    options = dict(zip(args[3:], args[4:], strict=False))
    assert options["--queues"] == "bulk" and options["--pool"] == "threads"
    assert options["--concurrency"] == "16" and options["--hostname"] == "bulk@%h"
    assert options["--loglevel"] == "WARNING" and args[-1] == "--without-gossip"


def test_beat_uses_the_settings_scheduler_and_writes_no_pidfile(run):
    [celery] = run("start-beat")
    args = words(celery)
    assert args[:3] == ["-A", "worker", "beat"]
    assert not {"--scheduler", "-S", "--pidfile", "--detach"} & set(args)


def test_flower_listens_on_every_address_on_its_port(run):
    [celery] = run("start-flower", FLOWER_BASIC_AUTH="ops:not-secret", FLOWER_PORT="5600")
    assert words(celery) == ["-A", "worker", "flower", "--address=0.0.0.0", "--port=5600"]


def test_the_sandbox_accepts_the_configured_account_and_posts_inbound_sms_to_web(run):
    [python] = run(
        "start-sandbox", TWILIO_ACCOUNT_SID="AC" + "0" * 32, TWILIO_AUTH_TOKEN="not-secret",
        PUBLIC_BASE_URL="http://web:8000",
    )  # fmt: skip
    args = words(python)
    options = dict(zip(args[2::2], args[3::2], strict=True))
    assert args[:2] == ["-m", "twilio_sandbox"]
    assert options == {
        "--host": "0.0.0.0",
        "--port": "8025",
        "--account-sid": "AC" + "0" * 32,
        "--auth-token": "not-secret",
        "--inbound-url": "http://web:8000/webhooks/sms/inbound/",
    }


@pytest.mark.parametrize("missing", ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL"])
def test_the_sandbox_refuses_to_start_without_its_account_or_the_web_address(tmp_path, missing):
    env = {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "not-secret",
           "PUBLIC_BASE_URL": "http://web:8000", "PATH": "/usr/bin:/bin"}  # fmt: skip
    del env[missing]
    result = subprocess.run([SCRIPTS / "start-sandbox"], env=env, capture_output=True, text=True,
                            cwd=tmp_path, timeout=30)  # fmt: skip
    assert result.returncode != 0 and missing in result.stderr


def test_the_scripts_run_in_the_project_directory_wherever_they_are_started(run):
    """They change to it first, so that manage.py and `-A worker` are found."""
    lines = run("start-web") + run("start-worker") + run("start-beat")
    assert {variable(line, "PWD") for line in lines} == {str(ROOT)}
