"""Test support: run the sandbox in a subprocess and talk to it (control calls, twilio Client)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

PACKAGE_ROOT = str(Path(__file__).resolve().parents[1])
TWILIO_HOSTS = ("https://api.twilio.com", "https://verify.twilio.com")
_LISTENING = re.compile(r"listening on (http://[\d.]+:\d+)")


class SandboxHttpClient(TwilioHttpClient):
    """The twilio library's HTTP client, with Twilio's hosts rewritten to the sandbox."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")
        if self.session is not None:
            self.session.trust_env = False  # the sandbox is local: never via a proxy

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        for host in TWILIO_HOSTS:
            if url.startswith(host):
                url = self.base_url + url[len(host) :]
                break
        return super().request(method, url, *args, **kwargs)


class SandboxProcess:
    """Runs `python -m twilio_sandbox` in a subprocess on a free 127.0.0.1 port."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        step_delay: float = 0.02,
        inbound_url: str | None = None,
        port: int = 0,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.step_delay = step_delay
        self.inbound_url = inbound_url
        self.port = port
        self.base_url = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Any = None
        self._session = requests.Session()
        self._session.trust_env = False  # never send local control calls through a proxy

    # --- process ---------------------------------------------------------------------------

    def start(self, timeout: float = 15.0) -> SandboxProcess:
        """Start the server and wait until /_sandbox/health answers."""
        command = [
            sys.executable, "-m", "twilio_sandbox", "--host", "127.0.0.1",
            "--port", str(self.port), "--account-sid", self.account_sid,
            "--auth-token", self.auth_token, "--step-delay", str(self.step_delay),
        ]  # fmt: skip
        if self.inbound_url:
            command += ["--inbound-url", self.inbound_url]
        # The log goes to a file, not a pipe, so a chatty server can never block on it.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115
        # Importable from any working directory: put this package's parent on the path.
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [PACKAGE_ROOT, env.get("PYTHONPATH")]))
        self._process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, env=env
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                message = f"twilio sandbox exited with {self._process.returncode}:\n{self.output()}"
                self.stop()
                raise RuntimeError(message)
            match = _LISTENING.search(self.output())
            if match:
                self.base_url = match.group(1)
                try:
                    if self._session.get(self.url("/_sandbox/health"), timeout=1).ok:
                        return self
                except requests.RequestException:
                    pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"twilio sandbox did not become healthy in {timeout}s:\n{self.output()}")

    def output(self) -> str:
        """Everything the server logged so far."""
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        self._session.close()

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- control API -------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.base_url + path

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        response = self._session.request(method, self.url(path), json=payload, timeout=10)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path} -> {response.status_code}: {response.text}")
        return response.json()

    def reset(self) -> None:
        self._call("POST", "/_sandbox/reset")

    def set_faults(self, **faults: Any) -> None:
        """Merge faults (see POST /_sandbox/faults); a None value removes that fault."""
        self._call("POST", "/_sandbox/faults", faults)

    def faults(self) -> dict[str, Any]:
        return self._call("GET", "/_sandbox/faults")

    def clear_faults(self) -> None:
        self._call("DELETE", "/_sandbox/faults")

    def configure(self, **settings: Any) -> None:
        """Change settings: inbound_url, fail_numbers={number: 30003 | {...}}, step_delay,
        verify_code_length, verify_services={service_sid: length}, service_number, ..."""
        self._call("POST", "/_sandbox/config", settings)

    def messages(
        self, to: str | None = None, sender: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The inbox, newest first (at most 500 unless `limit` says otherwise)."""
        query = {k: v for k, v in (("to", to), ("from", sender), ("limit", limit)) if v}
        return self._call("GET", "/_sandbox/messages.json?" + urlencode(query))

    def message(self, sid: str) -> dict[str, Any]:
        return self._call("GET", f"/_sandbox/messages/{sid}.json")

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/_sandbox/stats")

    def inbound(self, from_: str, body: str, to: str | None = None) -> dict[str, Any]:
        payload = {"From": from_, "Body": body}
        if to:
            payload["To"] = to
        return self._call("POST", "/_sandbox/inbound", payload)

    def verifications(self, to: str | None = None) -> list[dict[str, Any]]:
        """Verifications newest first, including their codes."""
        return self._call("GET", "/_sandbox/verifications.json?" + urlencode({"to": to or ""}))

    def expire_verifications(self, **match: str) -> list[str]:
        """Expire pending verifications (all, or matching sid= / to= / service_sid=)."""
        return self._call("POST", "/_sandbox/verifications/expire", match)["expired"]

    def advance_clock(self, seconds: float) -> None:
        self._call("POST", "/_sandbox/clock", {"advance": seconds})

    def wait_for(
        self, sid: str, statuses: str | tuple[str, ...], timeout: float = 10.0
    ) -> dict[str, Any]:
        """Poll the inbox until message `sid` reaches one of `statuses`; returns the record."""
        wanted = (statuses,) if isinstance(statuses, str) else statuses
        deadline = time.monotonic() + timeout
        while True:
            record = self.message(sid)
            if record["status"] in wanted or time.monotonic() > deadline:
                if record["status"] not in wanted:
                    raise AssertionError(
                        f"{sid} is {record['status']!r}, not {wanted} after {timeout}s: "
                        + json.dumps(record["history"])
                    )
                return record
            time.sleep(0.01)

    def client(self) -> Client:
        """A twilio Client whose requests go to the sandbox."""
        return Client(
            self.account_sid, self.auth_token, http_client=SandboxHttpClient(self.base_url)
        )
