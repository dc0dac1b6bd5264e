"""The whole system for a reliability scenario, as separate processes, and the audit of a run.

A scenario gets its own broker and cache Redis (a `redis-server` on a spare port, with or
without an append-only file), the web (gunicorn) on a spare port, worker processes (prefork, as
in production), beat, the suite's Twilio sandbox and this test's PostgreSQL database. It drives
the API over HTTP, breaks things, and then audits what reached "Twilio" (the sandbox's record of
provider calls) against what the API accepted (Jepsen's queue checks): lost, duplicated and
unexpected messages, and rows that never ended.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import redis
import requests
from django.conf import settings as django_settings
from django.db import connection
from rest_framework.authtoken.models import Token

from config.settings.base import rabbitmq_settings
from notifications.models import SMSLog
from notifications.status import TERMINAL_STATUSES
from tests.processes import WORKER, Running, running, worker_environment

# How many messages a scenario sends: small in `make test`, 10,000 in `make chaos`.
MESSAGES = int(os.environ.get("CHAOS_MESSAGES", "60"))
BODY = "Interview shortlist published: check the portal."
QUEUES = "verify,sms,housekeeping,bulk"
# Retries at test pace: the storms last seconds, not the minutes the production backoff covers.
FAST_RETRIES = {
    "SMS_RETRY_BACKOFF": 0.5,
    "SMS_RETRY_MIN_DELAY": 0.2,
    "TWILIO_RETRY_DELAY": 4,
    "SMS_RETRY_ATTEMPTS": 12,
}


def spare_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def numbers(count: int, start: int = 0) -> list[str]:
    return [f"+91981{i:07d}" for i in range(start, start + count)]


class PrivateRedis:
    """A redis-server of the scenario's own: killed and restarted as a crash would."""

    def __init__(self, directory: Path, *, persistent: bool) -> None:
        self.directory, self.persistent = directory, persistent
        self.port = spare_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        # As in production (docker-compose.yml): an append-only file synced every second.
        persistence = ["--appendonly", "yes", "--appendfsync", "everysec"]
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--dir", str(self.directory), *(persistence if self.persistent else
             ["--appendonly", "no"]), "--logfile", str(self.directory / "redis.log")],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                # Loading an append-only file answers LOADING until it is done.
                if client.info("persistence").get("loading", 0) == 0:
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on {self.port} did not start")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=2)


class TcpProxy:
    """A TCP relay in front of PostgreSQL that can cut every connection and refuse new ones."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open = threading.Event()
        self.open.set()
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.close()
                except OSError:
                    pass

    def cut(self) -> None:
        """The database is gone: every open connection drops, new ones are refused."""
        self.open.clear()
        with self.lock:
            cut, self.sockets = self.sockets, set()
        for end in cut:
            try:
                end.shutdown(socket.SHUT_RDWR)
                end.close()
            except OSError:
                pass

    def restore(self) -> None:
        self.open.set()

    def close(self) -> None:
        self.cut()
        self.listener.close()


# The reliability table's columns, in order: an Audit's row(), printed after the run and written
# to test-artifacts/reliability.json by tests/reliability/conftest.py.
COLUMNS = ("scenario", "broker", "messages", "lost", "duplicates", "unexpected",
           "non_terminal", "failed_recorded", "api_errors", "recover_s")  # fmt: skip


@dataclass
class Audit:
    """What one run did, against what the API accepted."""

    scenario: str
    broker: str
    messages: int = 0
    lost: int = 0
    duplicates: int = 0
    unexpected: int = 0
    non_terminal: int = 0
    failed_recorded: int = 0
    api_errors: int = 0
    recover_seconds: float | None = None
    notes: list[str] = field(default_factory=list)

    def row(self) -> dict:
        """The table's row, by COLUMNS: recover_s is recover_seconds, rounded to 0.1 s."""
        seconds = self.recover_seconds
        recover_s = None if seconds is None else round(seconds, 1)
        return {c: recover_s if c == "recover_s" else getattr(self, c) for c in COLUMNS}


class Stack:
    """The processes of one scenario. Use as a context manager; everything stops at its end."""

    def __init__(
        self, directory: Path, sandbox, *, persistent_redis: bool = True, workers: int = 2,
        concurrency: int = 2, worker_database: TcpProxy | None = None, broker: str = "redis",
        broker_url: str = "", **overrides,
    ) -> None:  # fmt: skip
        self.directory, self.sandbox = directory, sandbox
        self.redis = PrivateRedis(directory, persistent=persistent_redis)
        self.web_port = spare_port()
        self.web_url = f"http://127.0.0.1:{self.web_port}"
        caches = {**django_settings.CACHES}
        caches["default"] = {**caches["default"], "LOCATION": self.redis.url}
        self.broker = broker
        # Redis stays the cache (limiter, locks, heartbeats) whatever the broker.
        brokers = {"redis": {"CELERY_BROKER_URL": self.redis.url}}
        if broker == "rabbitmq":
            brokers["rabbitmq"] = {"CELERY_BROKER_URL": broker_url, **rabbitmq_settings()}
        self.settings = {
            **brokers[broker],
            "CACHES": caches,
            "PUBLIC_BASE_URL": self.web_url,
            "SMS_SEND_THROTTLE_RATE": "100000/min",
            "SMS_HEARTBEAT_INTERVAL": 2.0,
            # A status callback lost (dropped, or sent while the web or Redis was down) is
            # fetched from the sandbox after 5 s of silence, not the production 10 minutes.
            "SMS_REFRESH_AFTER": 5,
            "SMS_REFRESH_INTERVAL": 2.0,
            **FAST_RETRIES,
            **overrides,
        }
        self.worker_database = worker_database
        self.concurrency = concurrency
        self.worker_count = workers
        self.workers: list[Running] = []
        self.exits = ExitStack()
        self.session = requests.Session()
        self.session.trust_env = False
        self.accepted: set[str] = set()
        self.api_errors: Counter[int] = Counter()

    # --- processes ----------------------------------------------------------------------

    def environment(self, **extra) -> dict[str, str]:
        directory = self.directory / f"settings-{len(list(self.directory.glob('settings-*')))}"
        directory.mkdir()
        return worker_environment(directory, self.sandbox, **{**self.settings, **extra})

    def worker_env(self) -> dict[str, str]:
        if self.worker_database is None:
            return self.environment()
        database = {**connection.settings_dict}
        database.update(HOST="127.0.0.1", PORT=str(self.worker_database.port))
        database.pop("TEST", None)
        return self.environment(DATABASES={"default": database})

    def start_worker(self, name: str | None = None) -> Running:
        name = name or f"w{len(self.workers)}"
        command = f"{WORKER} -Q {QUEUES} --pool prefork -c {self.concurrency} -n {name}@%h"
        env = {**self.worker_env(), "REMAP_SIGTERM": "SIGQUIT"}
        worker = self.exits.enter_context(running(command, env))
        self.workers.append(worker)
        return worker

    def __enter__(self) -> Stack:
        self.exits.__enter__()
        # Twilio waits up to 15 s for a callback's answer (its webhooks' default total timeout).
        self.sandbox.configure(callback_timeout=15.0)
        self.redis.start()
        self.exits.callback(self.redis.kill)
        env = self.environment()
        self.web = self.exits.enter_context(
            running(
                f".venv/bin/gunicorn config.wsgi:application --bind 127.0.0.1:{self.web_port} "
                "--workers 2 --threads 4 --timeout 60 --access-logfile -",
                env,
            )
        )
        self.beat = self.exits.enter_context(
            running(
                f".venv/bin/celery -A worker beat --loglevel INFO -s {self.directory}/beat", env
            )
        )
        for _ in range(self.worker_count):
            self.start_worker()
        user = django_user()
        token, _ = Token.objects.get_or_create(user=user)
        self.session.headers["Authorization"] = f"Token {token.key}"
        self._wait_until_up()
        return self

    def __exit__(self, *exc_info) -> None:
        self.exits.__exit__(*exc_info)

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.session.get(self.web_url + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(
                    "the stack did not become healthy in 60 s\n--- web\n"
                    + self.web.console()[-3000:]
                    + "\n--- worker\n"
                    + self.workers[0].console()[-3000:]
                )
            time.sleep(0.25)

    def pool_children(self, worker: Running) -> list[int]:
        """The prefork pool's processes of a worker (its main process is the shell's exec)."""
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == worker.process.pid:
                children.append(int(stat.parent.name))
        return children

    def terminate(self, worker: Running, timeout: float = 60) -> None:
        """A deploy stops a worker: SIGTERM, then wait for it to hand back and exit."""
        os.kill(worker.process.pid, signal.SIGTERM)
        worker.process.wait(timeout=timeout)

    # --- driving the API ----------------------------------------------------------------

    def send_one(self, to: str) -> None:
        try:
            response = self.session.post(
                self.web_url + "/api/sms/send/", json={"to": to, "body": BODY}, timeout=30
            )
        except requests.RequestException:
            self.api_errors[0] += 1
            return
        if response.status_code == 202:
            self.accepted.add(to)
        else:
            self.api_errors[response.status_code] += 1

    def send_singles(self, recipients: list[str], clients: int = 8) -> None:
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(self.send_one, recipients))

    def send_bulk(self, recipients: list[str]) -> None:
        response = self.session.post(
            self.web_url + "/api/sms/bulk/",
            json={"recipients": recipients, "body": BODY},
            timeout=120,
        )
        if response.status_code != 202:
            self.api_errors[response.status_code] += 1
            return
        assert response.json()["rejected"] == [], response.json()
        self.accepted.update(recipients)

    def send_mix(self, count: int) -> None:
        """A fifth as single sends (portal events), the rest as one bulk (a posting)."""
        recipients = numbers(count)
        singles = max(1, count // 5)
        self.send_bulk(recipients[singles:])
        self.send_singles(recipients[:singles])

    # --- watching and auditing ----------------------------------------------------------

    def provider_calls(self) -> list[dict]:
        return self.sandbox.messages(limit=len(self.accepted) * 3 + 1000)

    def unfinished(self) -> int:
        return SMSLog.objects.filter(to__in=self.accepted).exclude(
            status__in=TERMINAL_STATUSES
        ).count() + (len(self.accepted) - SMSLog.objects.filter(to__in=self.accepted).count())

    def wait_until_settled(self, since: float, timeout: float) -> float | None:
        """Seconds from `since` (monotonic) until every accepted message ended; None if never."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.unfinished() == 0:
                return time.monotonic() - since
            time.sleep(0.5)
        return None

    def wait_for_provider_calls(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while len(self.sandbox.messages(limit=count + 10)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"fewer than {count} provider calls after {timeout} s")
            time.sleep(0.1)

    def audit(self, scenario: str, recover_seconds: float | None) -> Audit:
        calls = Counter(message["to"] for message in self.provider_calls())
        rows = dict(SMSLog.objects.filter(to__in=self.accepted).values_list("to", "status"))
        audit = Audit(scenario=scenario, broker=self.broker, messages=len(self.accepted))
        audit.duplicates = sum(n - 1 for n in calls.values() if n > 1)
        audit.unexpected = sum(n for to, n in calls.items() if to not in self.accepted)
        # Lost: accepted, and neither sent to the provider nor recorded as failed.
        audit.lost = sum(
            1 for to in self.accepted if calls[to] == 0 and rows.get(to) not in ("failed",)
        )
        audit.failed_recorded = sum(1 for status in rows.values() if status == "failed")
        audit.non_terminal = self.unfinished()
        audit.api_errors = sum(self.api_errors.values())
        audit.recover_seconds = recover_seconds
        if self.api_errors:
            audit.notes.append(f"API answers other than 202: {dict(self.api_errors)}")
        unended = Counter(status for status in rows.values() if status not in TERMINAL_STATUSES)
        if unended:
            audit.notes.append(f"rows not ended, by status: {dict(unended)}")
            stats = self.sandbox.stats()
            audit.notes.append(
                "sandbox: " + str({k: v for k, v in stats.items() if "callback" in k})
            )
            answers = Counter(
                line.split('" ')[1].split()[0]
                for line in self.web.console().splitlines()
                if "POST /webhooks/sms/status/" in line and '" ' in line
            )
            audit.notes.append(f"status webhook answers: {dict(answers)}")
        return audit


def django_user():
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(
        username="reliability", defaults={"is_staff": True}
    )
    return user


__all__ = ["COLUMNS", "Audit", "PrivateRedis", "Stack", "TcpProxy", "numbers", "MESSAGES"]
