"""Control surface: inbox page and JSON, stats, health, reset, config; CLI and process."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests

from twilio_sandbox.__main__ import parse_args, settings_from
from twilio_sandbox.testing import SandboxProcess

from .conftest import ACCOUNT_SID, AUTH_TOKEN, SENDER


def get(sandbox, path):
    return requests.get(sandbox.url(path), timeout=5)


def test_health(sandbox):
    response = get(sandbox, "/_sandbox/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_inbox_page_lists_messages_newest_first_and_filters(client, sandbox):
    sandbox.configure(fail_numbers={"+15557770002": 30005})
    first = client.messages.create(to="+15557770001", from_=SENDER, body="first <b>bold</b>")
    failed = client.messages.create(to="+15557770002", from_=SENDER, body="second")
    sandbox.wait_for(failed.sid, "undelivered")
    sandbox.inbound("+15557770003", "an inbound one")
    response = get(sandbox, "/_sandbox/")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    page = response.text
    assert 'http-equiv="refresh"' in page
    assert "first &lt;b&gt;bold&lt;/b&gt;" in page  # escaped
    assert page.index("an inbound one") < page.index("second") < page.index("first")
    assert first.sid in page and "30005" in page and "inbound" in page
    filtered = get(sandbox, "/_sandbox/?to=%2B15557770001&refresh=0").text
    assert first.sid in filtered and failed.sid not in filtered
    assert 'http-equiv="refresh"' not in filtered
    assert get(sandbox, "/").url.endswith("/_sandbox/")


def test_inbox_json(client, sandbox):
    a = client.messages.create(to="+15557770004", from_=SENDER, body="a").sid
    b = client.messages.create(to="+15557770005", from_="+15005550010", body="b").sid
    assert [m["sid"] for m in sandbox.messages()] == [b, a]
    assert [m["sid"] for m in sandbox.messages(to="+15557770004")] == [a]
    assert [m["sid"] for m in sandbox.messages(sender="+15005550010")] == [b]
    record = sandbox.messages()[0]
    assert {"history", "status_callback", "source", "webhook"} <= set(record)


def test_stats_count_requests_by_endpoint_and_outcome(client, api, sandbox):
    client.messages.create(to="+15557770006", from_=SENDER, body="x")
    api.send(To=None)
    api.call("GET", "Messages.json")
    stats = sandbox.stats()
    assert stats["requests"]["messages.create"] == {"201": 1, "400": 1}
    assert stats["requests"]["messages.list"] == {"200": 1}
    assert stats["messages_created"] == 1 and stats["requests_total"] == 3


def test_reset_clears_everything(client, sandbox):
    sandbox.configure(step_delay=5, fail_numbers={"+15557770007": 30003})
    client.messages.create(to="+15557770007", from_=SENDER, body="x")
    sandbox.inbound("+15557770008", "STOP")
    sandbox.reset()
    assert sandbox.messages() == []
    stats = sandbox.stats()
    assert stats["messages_created"] == 0 and stats["requests"] == {} and stats["opted_out"] == []
    config = requests.get(sandbox.url("/_sandbox/config"), timeout=5).json()
    assert config["step_delay"] == 0.02 and config["fail_numbers"] == {}
    assert client.messages.create(to="+15557770008", from_=SENDER, body="ok").sid


def test_invalid_config_is_rejected(sandbox):
    for bad in ({"step_delay": -1}, {"unknown": 1}, {"fail_numbers": {"+1555": 21211}},
                {"fail_numbers": {"+1555": {"error_code": 30003, "at": "create"}}},
                {"verify_code_length": 3}):  # fmt: skip
        with pytest.raises(RuntimeError, match="400"):
            sandbox.configure(**bad)


def test_cli_parsing():
    args = parse_args([
        "--port", "0", "--account-sid", ACCOUNT_SID, "--auth-token", "t", "--step-delay", "0.5",
        "--fail-number", "+15557770009=30003", "--fail-number", "+15557770010=30001:failed",
        "--fail-number", "+15557770011=30007:failed:create",
        "--fault", '{"http_500": {"rate": 0.1, "seed": 1}}', "--fault", '{"http_429": {"next": 1}}',
        "--inbound-url", "http://127.0.0.1:9/in", "--verify-code-length", "8",
    ])  # fmt: skip
    settings, faults = settings_from(args)
    assert settings.step_delay == 0.5 and settings.verify_code_length == 8
    assert settings.fail_numbers == {
        "+15557770009": ("undelivered", 30003, False), "+15557770010": ("failed", 30001, False),
        "+15557770011": ("failed", 30007, True),
    }  # fmt: skip
    assert set(faults) == {"http_500", "http_429"}
    defaults = parse_args([])
    assert (defaults.host, defaults.port, defaults.step_delay) == ("127.0.0.1", 8025, 1.0)


def test_cli_help_documents_defaults():
    result = subprocess.run(
        [sys.executable, "-m", "twilio_sandbox", "--help"], capture_output=True, text=True,
        timeout=30, check=True,
    )  # fmt: skip
    assert "--step-delay" in result.stdout and "8025" in result.stdout
    assert "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" in result.stdout


def test_process_stops_cleanly_on_sigterm():
    process = SandboxProcess(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN).start()
    popen = process._process
    assert get(process, "/_sandbox/health").status_code == 200
    assert "listening on http://127.0.0.1:" in process.output()
    process.stop()
    assert popen.returncode == 0


def test_start_failure_reports_the_server_output():
    broken = SandboxProcess(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, step_delay=-1)
    with pytest.raises(RuntimeError, match="step_delay|negative"):
        broken.start()
