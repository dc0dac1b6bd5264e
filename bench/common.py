"""What every benchmark needs: processes and their memory and CPU, the machine, a database.

The benchmarks run from the repository with the project's venv; they talk to 127.0.0.1 only.
"""

from __future__ import annotations

import fcntl
import math
import os
import platform
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("django", "djangorestframework", "celery", "kombu", "redis", "twilio", "gunicorn",
            "psycopg")  # fmt: skip
# Each server's version: a command and a pattern that finds it in the output.
SERVERS = {
    "redis-server": (["redis-cli", "-h", "127.0.0.1", "INFO", "server"], r"redis_version:(\S+)"),
    "postgresql": (["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "SHOW server_version"],
                   r"^(\S+)"),
    "wrk": (["wrk", "--version"], r"wrk (?:debian/)?(\S+)"),
}  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- processes ------------------------------------------------------------------------------


class Service:
    """A subprocess in its own session, its output in a file; stopped with its whole group."""

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop)
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def wait_for_output(self, text: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start:\n{self.output()[-3000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def process_tree(pid: int) -> list[int]:
    """The process and its descendants, from /proc."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    todo.extend(int(child) for child in f.read().split())
        except OSError:
            continue  # it exited meanwhile
    return pids


def rss_bytes(pid: int) -> int:
    """VmRSS of a process tree, in bytes."""
    total = 0
    for member in process_tree(pid):
        try:
            with open(f"/proc/{member}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these process trees so far (all their threads), from /proc."""
    ticks = 0
    for pid in pids:
        for member in process_tree(pid):
            try:
                with open(f"/proc/{member}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
            except (OSError, IndexError, ValueError):
                pass
    return ticks / os.sysconf("SC_CLK_TCK")


class RssSampler:
    """Samples the RSS of each worker process tree every 0.1 s; keeps each one's peak."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.peaks = dict.fromkeys(pids, 0)
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self.pids:
                self.peaks[pid] = max(self.peaks[pid], rss_bytes(pid))
            self.samples += 1
            self._stop.wait(0.1)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "memory_mb": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024),
    }


def versions() -> dict[str, str]:
    """The libraries and servers every figure depends on."""
    found = {}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    for name, (command, pattern) in SERVERS.items():
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            continue
        if match := re.search(pattern, done.stdout + done.stderr, re.MULTILINE):
            found[name] = match.group(1)
    return found


def database(name: str, action: str) -> None:
    """Create (dropping any leftover) or drop a benchmark's own PostgreSQL database."""
    base = ["-h", "127.0.0.1", "-U", "postgres"]
    subprocess.run(["dropdb", *base, "--if-exists", "--force", name], check=action == "create")
    if action == "create":
        subprocess.run(["createdb", *base, name], check=True)


@contextmanager
def one_at_a_time(name: str) -> Iterator[None]:
    """Refuse to run beside another run of the same benchmark: it would drop this one's
    database as it starts."""
    with open(Path(tempfile.gettempdir()) / f"{name}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(f"Another {name} benchmark is running.") from None
        yield


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (share 0.99 for p99)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(len(ordered) * share) - 1))]
