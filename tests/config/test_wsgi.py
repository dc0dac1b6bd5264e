"""The WSGI application under gunicorn: chunked bodies are read, and refused past the limit."""

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 2_621_440


@pytest.fixture(scope="module")
def gunicorn():
    """gunicorn serving config.wsgi:application with the test settings, on a free port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DJANGO_ENV_FILE": ""}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-w", "1",
         "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def post(port: int, path: str, body, headers: dict) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def chunks(data: bytes, size: int = 64 * 1024):
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_the_suite_and_the_server_share_the_limit():
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == LIMIT


def test_a_chunked_body_is_read(gunicorn):
    """Before, Django read a body without Content-Length as empty: a validation error."""
    status, body = post(
        gunicorn,
        "/api/sms/verify/start/",
        chunks(b'{"phone_number": "+919812345610", "channel": '),  # malformed on purpose
        {"Content-Type": "application/json"},  # http.client sends an iterable chunked
    )
    assert status == 400 and body["error"]["code"] == "parse_error"


def test_a_chunked_body_over_the_limit_is_413(gunicorn):
    status, body = post(
        gunicorn,
        "/api/sms/verify/start/",
        chunks(b"x" * (LIMIT + 16 * 1024)),
        {"Content-Type": "application/json"},
    )
    assert status == 413 and body["error"]["code"] == "payload_too_large"


def test_a_declared_body_over_the_limit_is_413(gunicorn):
    status, body = post(
        gunicorn,
        "/webhooks/sms/status/",
        b"x" * (LIMIT + 16 * 1024),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 413 and body["error"]["code"] == "payload_too_large"
