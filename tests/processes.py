"""Real worker processes for tests: the project's commands as subprocesses, with their consoles.

`worker_environment` writes a settings module on top of config.settings.test that points the
subprocesses at this test's database, Redis index and sandbox (plus any settings a test needs);
`running` starts a shell command in its own session, as honcho does, and stops it afterwards.
"""

import os
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager, suppress
from pathlib import Path

from django.conf import settings as django_settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
# Settings that config/settings/base.py reads from the environment.
ENVIRONMENT_PREFIXES = ("SMS_", "TWILIO_")
WORKER = ".venv/bin/celery -A worker worker --loglevel INFO --without-mingle --without-gossip"


def worker_environment(directory: Path, sandbox, **settings) -> dict[str, str]:
    """The environment of subprocesses that share this test's database, Redis and sandbox."""
    lines = [
        "from config.settings.test import *  # noqa",
        f"DATABASES['default']['NAME'] = {connection.settings_dict['NAME']!r}",
        f"CELERY_BROKER_URL = {django_settings.CELERY_BROKER_URL!r}",
        f"CACHES['default']['LOCATION'] = {django_settings.CACHES['default']['LOCATION']!r}",
        "SMS_BACKEND = 'notifications.backends.twilio.TwilioBackend'",
        f"TWILIO_API_BASE_URL = {sandbox.base_url!r}",
        *(f"{name} = {value!r}" for name, value in settings.items()),
    ]
    (directory / "subprocess_settings.py").write_text("\n".join(lines) + "\n")
    return {
        **os.environ,
        # The environment too, as in production: settings derived from these when base.py
        # reads them (beat's schedule from SMS_REFRESH_INTERVAL, say) would otherwise keep the
        # defaults' values under the module's overrides.
        **{name: str(value) for name, value in settings.items()
           if name.startswith(ENVIRONMENT_PREFIXES) and isinstance(value, str | int | float)},
        "DJANGO_SETTINGS_MODULE": "subprocess_settings",
        "DJANGO_ENV_FILE": "",
        "PYTHONPATH": os.pathsep.join([str(directory), str(ROOT)]),
    }  # fmt: skip


class Console:
    """What a subprocess printed so far (kept once it has stopped)."""

    def __init__(self) -> None:
        self.log = tempfile.TemporaryFile()  # a file, not a pipe: a chatty process never blocks
        self.final: str | None = None

    def __call__(self) -> str:
        if self.final is not None:
            return self.final
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def close(self) -> None:
        self.final = self()
        self.log.close()


class Running:
    """A started command: its console, and a way to kill it as a crash would."""

    def __init__(self, process: subprocess.Popen, console: Console) -> None:
        self.process, self.console = process, console

    def kill(self) -> None:
        """SIGKILL to the whole process group: no shutdown, nothing acknowledged or released."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@contextmanager
def running(command: str, env: dict[str, str]):
    """Run a shell command in its own session (as honcho does); yield it, then stop it."""
    console = Console()
    process = subprocess.Popen(  # noqa: S602 (a Procfile line is a shell command)
        command,
        shell=True,
        cwd=ROOT,
        env=env,
        stdout=console.log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    started = Running(process, console)
    try:
        yield started
    finally:
        stop_group(process)
        console.close()


def stop_group(process: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM to the command's whole process group, SIGKILL to what is left after `timeout`.

    The group, not the shell: a worker outlives its shell (the shell exits at once on SIGTERM,
    the worker shuts down warm, and one whose broker is gone waits for it), and a worker left
    running would take CPU and database connections from every later test.
    """
    group = process.pid  # start_new_session: the shell leads its own group
    with suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process.poll()  # reap the shell: a zombie would still count as a member
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    process.wait()
