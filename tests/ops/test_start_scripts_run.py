"""The start scripts of docker/ run for real, outside Docker, as the containers run them: the
venv's programs on PATH, the suite's Redis index and database. Each compose healthcheck is run
against what the script started."""

import os
import socket
import subprocess
import uuid
from types import SimpleNamespace
from urllib.parse import quote

import pytest
import requests
from django.conf import settings
from django.db import connection

from tests.helpers import wait_for
from tests.ops.files import ROOT, SCRIPTS, compose, environment, healthcheck
from tests.processes import running, worker_environment
from worker.app import QUEUES

pytestmark = pytest.mark.integration
ENV = {"POSTGRES_PASSWORD": "compose-test-not-secret", "FLOWER_BASIC_AUTH": "ops:not-secret"}
SERVICES = compose(ENV)["services"]
OURS = ("CELERY_", "FLOWER_", "DJANGO_", "WEB_CONCURRENCY", "PORT", "TWILIO_", "PUBLIC_BASE_URL")


def script_env(**extra: str) -> dict[str, str]:
    """The environment of a container, outside one: the venv's programs first on PATH, the
    suite's settings and Redis index, none of this shell's own settings for the scripts."""
    return {
        **{name: value for name, value in os.environ.items() if not name.startswith(OURS)},
        "PATH": os.pathsep.join([str(ROOT / ".venv" / "bin"), os.environ["PATH"]]),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DJANGO_ENV_FILE": "",
        "TEST_REDIS_URL": settings.REDIS_URL,
        **extra,
    }


def wait_until(probe, started, what: str, timeout: float = 60):
    """wait_for, with what the process printed when it times out."""
    try:
        return wait_for(probe, timeout=timeout, interval=0.1, what=what)
    except AssertionError as error:
        raise AssertionError(f"{error}; its console:\n{started.console()}") from None


def spare_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_healthcheck(
    service: str, env: dict[str, str], **replace: str
) -> subprocess.CompletedProcess:
    """The service's compose healthcheck, as its container runs it (a shell line)."""
    check = healthcheck(SERVICES[service])
    for old, new in replace.items():
        check = check.replace(old, new)
    return subprocess.run(["bash", "-c", check], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)  # fmt: skip


def answers(url: str, **kwargs) -> bool:
    try:
        return requests.get(url, timeout=2, **kwargs).ok
    except requests.RequestException:
        return False


@pytest.fixture
def app():
    from worker import app

    app.control.purge()
    yield app
    app.control.purge()


def node_queues(app, node: str) -> list[str]:
    replies = app.control.inspect(destination=[node], timeout=2).active_queues() or {}
    return [queue["name"] for queue in replies[node]]


def test_the_worker_answers_its_healthcheck_and_consumes_every_queue_by_default(app):
    host = f"ops-{uuid.uuid4().hex[:8]}"
    env = script_env(CELERY_WORKER_NAME=f"celery@{host}")
    with running("docker/start-worker", env) as worker:
        wait_until(
            lambda: app.control.ping([f"celery@{host}"], timeout=0.5),
            worker,
            f"celery@{host}",
            timeout=60,
        )
        assert node_queues(app, f"celery@{host}") == list(QUEUES)
        [stats] = app.control.inspect([f"celery@{host}"], timeout=2).stats().values()
        assert stats["pool"]["implementation"] == "celery.concurrency.prefork:TaskPool"
        assert stats["pool"]["max-concurrency"] == 2

        healthy = run_healthcheck("worker", {**env, "HOSTNAME": host})
        assert healthy.returncode == 0 and "pong" in healthy.stdout, healthy.stderr
        # A node that is not running fails it (a shorter wait than the container's).
        other = run_healthcheck("worker", {**env, "HOSTNAME": "ops-nobody"},
                                **{"--timeout 10": "--timeout 1"})  # fmt: skip
        assert other.returncode != 0


def test_the_worker_consumes_exactly_the_queues_it_is_given(app):
    node = f"celery@ops-{uuid.uuid4().hex[:8]}"
    env = script_env(CELERY_WORKER_NAME=node, CELERY_WORKER_QUEUES="verify,bulk",
                     CELERY_WORKER_POOL="solo")  # fmt: skip
    with running("docker/start-worker --without-mingle", env) as worker:
        wait_until(lambda: app.control.ping([node], timeout=0.5), worker, node, timeout=60)
        assert node_queues(app, node) == ["verify", "bulk"]


@pytest.mark.parametrize("value", [None, ""])
def test_flower_refuses_to_start_without_a_login(value):
    env = script_env() if value is None else script_env(FLOWER_BASIC_AUTH=value)
    result = subprocess.run([SCRIPTS / "start-flower"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=30)  # fmt: skip
    assert result.returncode != 0
    assert "FLOWER_BASIC_AUTH" in result.stderr and "user:password" in result.stderr


def test_flower_asks_for_its_login(app):
    port = spare_port()
    env = script_env(FLOWER_BASIC_AUTH="ops:pw-not-secret", FLOWER_PORT=str(port))
    base = f"http://127.0.0.1:{port}"
    with running("docker/start-flower", env) as flower:
        wait_until(lambda: answers(f"{base}/healthcheck"), flower, "Flower", timeout=60)
        assert requests.get(f"{base}/", timeout=10).status_code == 401
        assert requests.get(f"{base}/", auth=("ops", "wrong"), timeout=10).status_code == 401
        assert (
            requests.get(f"{base}/", auth=("ops", "pw-not-secret"), timeout=10).status_code == 200
        )
        # The container's healthcheck needs no login.
        assert run_healthcheck("flower", env, **{":5555/": f":{port}/"}).returncode == 0


@pytest.mark.django_db(transaction=True)
def test_web_migrates_and_serves_the_liveness_url_under_the_production_settings():
    """As the web container runs: production settings (HTTPS redirect on), compose's hosts,
    gunicorn on $PORT; its compose healthcheck passes and each request is in the access log."""
    db = connection.settings_dict
    port = spare_port()
    env = script_env(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY="web-test-only-not-secret-" + "x" * 40,
        DJANGO_ALLOWED_HOSTS=environment(SERVICES["web"])["DJANGO_ALLOWED_HOSTS"],
        DATABASE_URL=f"postgres://{quote(db['USER'])}:{quote(db['PASSWORD'] or '')}"
        f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        REDIS_URL=settings.REDIS_URL,
        PORT=str(port),
        WEB_CONCURRENCY="1",
    )
    with running("docker/start-web", env) as web:
        live = f"http://127.0.0.1:{port}/healthz/live"
        wait_until(lambda: answers(live), web, "web", timeout=60)
        assert requests.get(live, timeout=5).json() == {"status": "ok"}
        assert run_healthcheck("web", env, **{":8000/": f":{port}/"}).returncode == 0
        home = requests.get(f"http://127.0.0.1:{port}/", allow_redirects=False, timeout=5)
        assert home.status_code == 301 and home.headers["Location"].startswith("https://")
        wait_for(lambda: "GET /healthz/live" in web.console(), what="the access log line")
    assert "No migrations to apply." in web.console()


def _files_of_the_checkout() -> set:
    """What is in the checkout's top directory, but coverage's data files of subprocesses."""
    return {path for path in ROOT.iterdir() if not path.name.startswith(".coverage")}


@pytest.mark.django_db(transaction=True)
def test_beat_runs_the_database_scheduler_and_leaves_no_file_behind(tmp_path, app):
    before = _files_of_the_checkout()
    # The suite's database: a settings module on top of config.settings.test (tests.processes).
    shared = worker_environment(tmp_path, SimpleNamespace(base_url=""))
    env = script_env(DJANGO_SETTINGS_MODULE=shared["DJANGO_SETTINGS_MODULE"],
                     PYTHONPATH=shared["PYTHONPATH"])  # fmt: skip
    with running("docker/start-beat", env) as beat:
        wait_until(
            lambda: "Sending due task" in beat.console(), beat, "beat's first send", timeout=60
        )
    assert "django_celery_beat.schedulers.DatabaseScheduler" in beat.console()
    assert _files_of_the_checkout() == before  # no celerybeat-schedule, no pidfile


def test_the_sandbox_accepts_the_account_and_posts_inbound_sms_to_public_base_url():
    port = spare_port()
    account = "AC" + uuid.uuid4().hex
    env = script_env(TWILIO_ACCOUNT_SID=account, TWILIO_AUTH_TOKEN="sandbox-test-not-secret",
                     PUBLIC_BASE_URL="http://web:8000")  # fmt: skip
    with running(f"docker/start-sandbox --port {port}", env) as sandbox:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers(f"{base}/_sandbox/health"), sandbox, "the sandbox", timeout=30)
        config = requests.get(f"{base}/_sandbox/config", timeout=5).json()
        assert config["inbound_url"] == "http://web:8000/webhooks/sms/inbound/"
        assert config["account_sid"] == account
        assert run_healthcheck("sandbox", env, **{":8025/": f":{port}/"}).returncode == 0
