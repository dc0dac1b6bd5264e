"""Production settings as a deployment runs them: `check --deploy` clean, health checks exempt
from the HTTPS redirect, logs on stdout only, JSON lines on request, numbers masked."""

import json
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "PATH": "/usr/bin:/bin",
    "DJANGO_ENV_FILE": "",
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "sms.example.com,testserver",
}


def run(*args: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**PRODUCTION, **env},
    )  # fmt: skip


def test_check_deploy_finds_nothing_under_production_settings():
    result = run("manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_a_weak_secret_key_is_reported_by_check_deploy():
    """The check above can fail: the same command refuses a short key."""
    result = run("manage.py", "check", "--deploy", "--fail-level", "WARNING", DJANGO_SECRET_KEY="x")
    assert result.returncode != 0
    assert "security.W009" in result.stderr


def test_health_checks_answer_over_plain_http_and_pages_redirect_to_https():
    code = (
        "import django; django.setup();"
        "from django.test import Client; c = Client();"
        "print(c.get('/healthz/live').status_code, c.get('/portal/').status_code,"
        " c.get('/portal/')['Location'])"
    )
    result = run("-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["200", "301", "https://testserver/portal/"]


def _log_a_line(**env) -> subprocess.CompletedProcess:
    code = (
        "import django, logging; django.setup();"
        "from django.conf import settings;"
        "logging.getLogger('notifications.delivery').warning('SMS to %s failed', '+919812345610');"
        "print(sorted(settings.LOGGING['handlers']))"
    )
    return run("-c", code, **env)


def test_production_logs_to_stdout_only_with_numbers_masked():
    result = _log_a_line()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['console']"  # no file in a container
    assert "SMS to +9198******10 failed" in result.stderr
    assert "+919812345610" not in result.stderr


def test_json_logs_are_one_object_per_line_with_the_number_masked():
    result = _log_a_line(LOG_FORMAT="json")
    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stderr.splitlines() if "SMS to" in line]
    record = json.loads(line)
    assert record["message"] == "SMS to +9198******10 failed"
    assert (record["level"], record["logger"]) == ("WARNING", "notifications.delivery")
    assert {"time", "process"} <= set(record)


def test_an_unknown_log_format_is_refused_at_start():
    result = _log_a_line(LOG_FORMAT="xml")
    assert result.returncode != 0
    assert "LOG_FORMAT must be one of ['json', 'text']" in result.stderr
