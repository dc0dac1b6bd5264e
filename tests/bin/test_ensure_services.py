"""bin/ensure-services --rabbitmq: 0 when RabbitMQ answers; otherwise it starts a local one,
or fails saying how to get one (never silently, so that `make test` stops there)."""

import subprocess

from django.conf import settings

from tests.processes import ROOT

SCRIPT = ROOT / "bin" / "ensure-services"


def ensure(*options: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SCRIPT, *options], capture_output=True, text=True, timeout=90,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "REDIS_URL": settings.REDIS_URL, **env},
    )  # fmt: skip


def test_it_answers_0_when_rabbitmq_answers():
    run = ensure("--rabbitmq", TEST_RABBITMQ_URL=settings.TEST_RABBITMQ_URL)
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")


def test_it_fails_saying_what_to_do_when_a_remote_rabbitmq_does_not_answer():
    # 127.0.0.2 is not "this machine's RabbitMQ" to the script: nothing to start, and no answer.
    run = ensure("--rabbitmq", TEST_RABBITMQ_URL="amqp://guest:guest@127.0.0.2:5679")
    assert run.returncode == 1
    assert "RabbitMQ is not answering at 127.0.0.2:5679" in run.stderr
    assert "apt-get install rabbitmq-server" in run.stderr


def test_an_amqp_broker_url_is_checked_without_the_option():
    run = ensure(CELERY_BROKER_URL="amqp://guest:guest@127.0.0.2:5679//")
    assert run.returncode == 1 and "127.0.0.2:5679" in run.stderr


def test_it_refuses_an_unknown_option():
    run = ensure("--rabbit")
    assert run.returncode == 2 and "usage" in run.stderr
