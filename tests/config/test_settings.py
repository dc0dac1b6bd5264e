"""Settings: production refuses to start without its secrets; the environment is read in config/."""

import json
import subprocess

from notifications.conf import DEFAULTS
from tests.helpers import ROOT, run_in_environment


def load(module: str, **env) -> subprocess.CompletedProcess:
    code = (
        f"import importlib; s = importlib.import_module('{module}');"
        "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.ALLOWED_HOSTS)"
    )
    return run_in_environment(code, **env)


def test_production_needs_a_secret_key_and_hosts():
    result = load("config.settings.production")
    assert result.returncode != 0 and "DJANGO_SECRET_KEY" in result.stderr


def test_production_is_hardened():
    result = load(
        "config.settings.production",
        DJANGO_SECRET_KEY="x" * 50,
        DJANGO_ALLOWED_HOSTS="sms.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "True", "['sms.example.com']"]


def test_only_config_reads_the_environment():
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("notifications", "portal", "worker")
        for path in (ROOT / package).rglob("*.py")
        if "os.environ" in path.read_text() and path.name != "app.py"
    ]
    # worker/app.py only sets the default DJANGO_SETTINGS_MODULE, as manage.py does.
    assert offenders == []
    assert "environ[" not in (ROOT / "worker" / "app.py").read_text()


def test_the_base_settings_and_the_apps_defaults_cannot_drift_apart():
    """With a clean environment, every setting notifications.conf knows has its one default."""
    code = (
        "import json; from config.settings import base; from notifications.conf import DEFAULTS;"
        "names = [n for n in dir(base) if n.startswith(('SMS_', 'TWILIO_'))];"
        "print(json.dumps({'unknown': [n for n in names if n not in DEFAULTS],"
        " 'drifted': {n: [getattr(base, n), d] for n, d in DEFAULTS.items()"
        " if getattr(base, n, d) != d}}))"
    )
    result = run_in_environment(code)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"unknown": [], "drifted": {}}


def test_the_defaults_are_the_documented_ones():
    assert DEFAULTS["SMS_DEFAULT_REGION"] == "IN"
    assert DEFAULTS["SMS_VERIFY_ALLOWED_COUNTRIES"] == ["IN", "US"]
