"""Benchmark: latency of the status webhook and of POST /api/sms/send/ on a real server.

Usage: .venv/bin/python bench/request_latency.py [--messages 500] [--concurrency 4]

Creates its own PostgreSQL database (`sms_bench`) and uses Redis database 11, starts gunicorn
(config.wsgi, 2 workers) on a free 127.0.0.1 port, then times, from this process:
  * baseline: GET / (a template render, no database), the floor of any request on this stack;
  * the status webhook: signed Twilio callbacks (sent, delivered, 20 % duplicates, shuffled);
  * POST /api/sms/send/: validation, INSERT, publish to Redis after commit, 202.
Prints median and p99 per kind and their ratio to the baseline. No worker runs: only the
request path is measured. Talks to 127.0.0.1 only; stops its server when done.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "sms_bench"
AUTH_TOKEN = "bench-auth-token-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DJANGO_DEBUG="false",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=os.environ.get(
            "BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
        ),
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11"),
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        TWILIO_ACCOUNT_SID="AC" + "0" * 32,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_PHONE_NUMBER="+15005550006",
        SMS_BACKEND="notifications.backends.locmem.LocmemBackend",
        SMS_SEND_THROTTLE_RATE="1000000/min",
        LOG_LEVEL="WARNING",
    )
    return env


def manage(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
        capture_output=True, text=True, input=stdin,
    ).stdout  # fmt: skip


def prepare(env: dict[str, str], messages: int) -> tuple[str, list[str]]:
    """Fresh database, migrated; a staff token; `messages` rows with provider SIDs."""
    subprocess.run(
        ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DB_NAME], check=True
    )
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB_NAME], check=True)
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput", "-v0")
    script = f"""
import json, uuid
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from notifications.models import SMSLog
user = get_user_model().objects.create_user("bench", is_staff=True)
sids = ["SM" + uuid.uuid4().hex for _ in range({messages})]
SMSLog.objects.bulk_create(
    SMSLog(to="+919812345610", body="bench", provider_sid=sid, status="queued") for sid in sids
)
print(json.dumps({{"token": Token.objects.create(user=user).key, "sids": sids}}))
"""
    data = json.loads(manage(env, "shell", "--no-imports", stdin=script).strip().splitlines()[-1])
    return data["token"], data["sids"]


def timed(call) -> float:
    started = time.perf_counter()
    response = call()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code >= 300:
        raise RuntimeError(f"unexpected {response.status_code}: {response.text[:200]}")
    return elapsed


def run_kind(calls, concurrency: int) -> list[float]:
    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(timed, calls))


def summary(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args(argv)

    port = free_port()
    env = environment(port)
    token, sids = prepare(env, args.messages)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-w", "2",
         "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=args.concurrency))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if session.get(base + "/", timeout=5).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.2)

        n = len(sids) * 2
        baseline = run_kind([lambda: session.get(base + "/")] * n, args.concurrency)

        validator = RequestValidator(AUTH_TOKEN)
        url = base + "/webhooks/sms/status/"
        events = [(sid, status) for sid in sids for status in ("sent", "delivered")]
        events += random.Random(1).choices(events, k=len(events) // 5)
        random.Random(2).shuffle(events)

        def callback(sid: str, status: str):
            params = {
                "MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status,
                "AccountSid": "AC" + "0" * 32, "To": "+919812345610", "From": "+15005550006",
                "ApiVersion": "2010-04-01",
            }  # fmt: skip
            signature = validator.compute_signature(url, params)
            return lambda: session.post(url, data=params, headers={"X-Twilio-Signature": signature})

        webhook = run_kind([callback(*e) for e in events], args.concurrency)

        headers = {"Authorization": f"Token {token}"}
        sends = [
            (
                lambda i=i: session.post(
                    base + "/api/sms/send/",
                    json={"to": "+919812345610", "body": f"bench {i}"},
                    headers=headers,
                )
            )  # fmt: skip
            for i in range(len(sids))
        ]
        api = run_kind(sends, args.concurrency)
    finally:
        server.terminate()
        server.wait(timeout=15)

    base_median, base_p99 = summary(baseline)
    rows = [
        ("GET / (baseline)", baseline),
        ("POST /webhooks/sms/status/", webhook),
        ("POST /api/sms/send/", api),
    ]
    print(
        f"\nRequest latency, gunicorn 2 workers, concurrency {args.concurrency}, PostgreSQL + Redis"
    )
    print(f"{'request':<30} {'n':>6} {'median ms':>10} {'p99 ms':>8} {'median/baseline':>16}")
    for name, latencies in rows:
        median, p99 = summary(latencies)
        ratio = median / base_median
        print(f"{name:<30} {len(latencies):>6} {median:>10.2f} {p99:>8.2f} {ratio:>16.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
