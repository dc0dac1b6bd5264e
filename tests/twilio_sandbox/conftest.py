"""Fixtures: one sandbox process per session (reset before each test), clients, a receiver."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from twilio.http.response import Response
from twilio.rest import Client

from twilio_sandbox.testing import SandboxHttpClient, SandboxProcess

from . import openapi

ACCOUNT_SID = "AC" + "5a" * 16
AUTH_TOKEN = "test-auth-token-0123456789"
SENDER = "+15005550006"
SERVICE_SID = "VA" + "c0ffee00" * 4
MG_SID = "MG" + "ab" * 16


class ValidatingHttpClient(SandboxHttpClient):
    """Validates every sandbox response against the OpenAPI schemas before the library sees it."""

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        response = super().request(method, url, *args, **kwargs)
        path = urlsplit(url).path
        openapi.validate_response(method.upper(), path, response.status_code, response.text)
        return response


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxProcess]:
    with SandboxProcess(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, step_delay=0.02) as sb:
        yield sb
        # Faults and failing webhooks must never make the server itself blow up.
        log = sb.output()
        assert "Traceback" not in log and "Error handling request" not in log, log


@pytest.fixture(autouse=True)
def _reset_sandbox(sandbox_server: SandboxProcess) -> None:
    sandbox_server.reset()


@pytest.fixture
def sandbox(sandbox_server: SandboxProcess) -> SandboxProcess:
    return sandbox_server


@pytest.fixture
def client(sandbox: SandboxProcess) -> Client:
    return Client(ACCOUNT_SID, AUTH_TOKEN, http_client=ValidatingHttpClient(sandbox.base_url))


class Api:
    """Raw HTTP calls to the sandbox's Twilio API (for headers and status codes), validated."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.trust_env = False

    def call(
        self,
        method: str,
        path: str,
        data: dict[str, Any] | None = None,
        auth: tuple[str, str] | None = (ACCOUNT_SID, AUTH_TOKEN),
        validate: bool = True,
    ) -> tuple[requests.Response, Any]:
        if path.startswith("Messages"):
            path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/{path}"
        response = self.session.request(
            method, self.base_url + path, data=data, auth=auth, timeout=10
        )
        body = None
        if validate:
            route = urlsplit(path).path
            body = openapi.validate_response(method, route, response.status_code, response.text)
        return response, body

    def send(self, **fields: Any) -> tuple[requests.Response, Any]:
        data = {"From": SENDER, "Body": "hello", **fields}
        return self.call("POST", "Messages.json", {k: v for k, v in data.items() if v is not None})


@pytest.fixture
def api(sandbox: SandboxProcess) -> Iterator[Api]:
    api = Api(sandbox.base_url)
    yield api
    api.session.close()


class Receiver:
    """A tiny webhook receiver on a free 127.0.0.1 port that records every request."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.fail_next = 0  # answer 500 to this many requests first
        self.fail_status: dict[str, int] = {}  # or to this many callbacks with a MessageStatus
        self.status = 200
        self.reply = ""
        self.reply_type = "text/xml"
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length).decode()
                params = dict(parse_qsl(body, keep_blank_values=True))
                status = params.get("MessageStatus", "")
                with receiver.lock:
                    failing = receiver.fail_next > 0 or receiver.fail_status.get(status, 0) > 0
                    receiver.fail_next -= receiver.fail_next > 0
                    if receiver.fail_status.get(status, 0) > 0:
                        receiver.fail_status[status] -= 1
                    receiver.requests.append(
                        {
                            "path": self.path,
                            "url": receiver.base_url + self.path,
                            "headers": dict(self.headers.items()),
                            "params": params,
                            "answered": 500 if failing else receiver.status,
                            "at": time.monotonic(),
                        }
                    )
                payload = receiver.reply.encode()
                self.send_response(500 if failing else receiver.status)
                self.send_header("Content-Type", receiver.reply_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.closed = False
        self.thread.start()

    def url(self, path: str = "/status") -> str:
        return self.base_url + path

    def received(self, predicate: Callable[[dict[str, Any]], bool] | None = None) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if predicate is None or predicate(r)]

    def wait(
        self, count: int, predicate: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 5.0,
    ) -> list[dict[str, Any]]:  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            found = self.received(predicate)
            if len(found) >= count or time.monotonic() > deadline:
                assert len(found) >= count, f"got {len(found)} of {count} requests: {found}"
                return found
            time.sleep(0.01)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.01) -> Any:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)
