""".env.example documents every variable the code, the start scripts and docker-compose.yml
read, each under a comment with its default, and still holds `make run`'s development values."""

import subprocess
from collections import Counter

from notifications.conf import DEFAULTS as SMS_DEFAULTS
from portal.conf import DEFAULTS as PORTAL_DEFAULTS
from tests.ops.files import (
    ROOT,
    SCRIPTS,
    compose_variables,
    env_example,
    script_default,
    script_variables,
    settings_variables,
)

# Set by Docker in every container, read by the worker's healthcheck: not ours to document.
DOCKERS_OWN = {"HOSTNAME"}
# The development values `make run` copies to .env: any other uncommented line would change the
# local stack, since honcho exports .env to every process it starts.
DEVELOPMENT = {
    "DJANGO_DEBUG", "DJANGO_SECRET_KEY", "PUBLIC_BASE_URL", "REDIS_URL", "SMS_ENABLED",
    "SMS_DEFAULT_REGION", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_PHONE_NUMBER",
    "TWILIO_VERIFY_SERVICE_SID", "TWILIO_API_BASE_URL", "TWILIO_SANDBOX_INBOX_URL",
    "SMS_VERIFY_ALLOWED_COUNTRIES", "TWILIO_RATE_LIMIT",
}  # fmt: skip


def scripts_variables() -> set[str]:
    return {name for path in SCRIPTS.glob("start-*") for name in script_variables(path)}


def documented() -> set[str]:
    return {entry.name for entry in env_example()}


def test_the_scan_of_the_settings_finds_what_they_read():
    found = settings_variables()
    assert {"DJANGO_ENV_FILE", "DJANGO_SECRET_KEY", "DJANGO_SECURE_SSL_REDIRECT"} <= found
    assert {"TWILIO_RATE_LIMIT", "SMS_VERIFY_CODE_TTL", "TEST_REDIS_URL", "PORTAL_NAME"} <= found
    assert "DJANGO_SETTINGS_MODULE" in found  # manage.py and worker/app.py


def test_every_variable_the_settings_read_is_documented():
    assert settings_variables() - documented() == set()


def test_every_variable_the_start_scripts_and_compose_use_is_documented():
    assert {"PORT", "CELERY_WORKER_QUEUES", "FLOWER_BASIC_AUTH"} <= scripts_variables()
    assert {"POSTGRES_PASSWORD", "DATABASE_URL"} <= compose_variables()
    assert scripts_variables() - documented() == set()
    assert compose_variables() - DOCKERS_OWN - documented() == set()


def test_every_documented_variable_is_read_by_something():
    used = settings_variables() | scripts_variables() | compose_variables()
    assert documented() - used == set()


def test_each_variable_is_documented_once_under_a_comment_of_its_own():
    assert [name for name, n in Counter(e.name for e in env_example()).items() if n > 1] == []
    assert [entry.name for entry in env_example() if not entry.description] == []


def test_the_defaults_shown_are_the_apps_and_the_scripts():
    defaults = {**SMS_DEFAULTS, **PORTAL_DEFAULTS}
    for entry in env_example():
        if entry.active or entry.value == "":
            continue
        if entry.name in defaults:
            default = defaults[entry.name]
            if isinstance(default, list):
                default = ",".join(default)
            elif isinstance(default, bool):
                default = str(default).lower()
            elif isinstance(default, int | float):
                assert float(entry.value) == default, entry
                continue
            assert entry.value == default, entry
        for path in SCRIPTS.glob("start-*"):
            if f"${{{entry.name}:-" in path.read_text():
                assert entry.value == script_default(path, entry.name), (entry, path.name)


def test_make_runs_development_values_are_the_only_active_lines():
    assert {entry.name for entry in env_example() if entry.active} == DEVELOPMENT


def test_no_active_value_is_a_real_secret():
    for entry in env_example():
        if entry.active and any(w in entry.name for w in ("SECRET", "TOKEN", "PASSWORD")):
            assert "not-secret" in entry.value or "not-a-secret" in entry.value, entry.name


def test_make_run_can_source_it():
    """make run reads .env with bash (`set -a; . ./.env`) before anything else."""
    result = subprocess.run(
        ["bash", "-c", "set -euo pipefail; set -a; . ./.env.example; echo $TWILIO_RATE_LIMIT"],
        cwd=ROOT, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.strip() == "600"
