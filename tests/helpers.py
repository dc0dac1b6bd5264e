"""Small helpers for tests: waiting on real workers and servers, running Python in a clean
environment."""

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]


def wait_for(
    probe: Callable[[], T], *, timeout: float = 15.0, interval: float = 0.05, what: str = ""
) -> T:
    """Poll `probe` until it returns something truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or probe}")
        time.sleep(interval)


def run_in_environment(code: str, /, **environment: str) -> subprocess.CompletedProcess[str]:
    """Run `code` (Python, e.g. importing config.settings.base) in a fresh interpreter at the
    repository's root, whose environment is only PATH, an empty DJANGO_ENV_FILE (no .env file is
    read) and `environment`: how the settings read the environment, unaffected by this one's."""
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin", "DJANGO_ENV_FILE": "", **environment},
    )  # fmt: skip
