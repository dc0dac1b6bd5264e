"""bin/run, behind `make run`: Ctrl-C stops every process and is no error, for make either."""

import os
import pty
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "bin" / "run"
SLEEPER = 'python3 -c "import time; time.sleep(60)"'


def procfile(tmp_path: Path, **processes: str) -> Path:
    path = tmp_path / "Procfile"
    path.write_text("".join(f"{name}: {command}\n" for name, command in processes.items()))
    return path


def wait_until_started(output, count: int) -> None:
    deadline = time.monotonic() + 30
    while output().count(" started (pid=") < count:
        assert time.monotonic() < deadline, output()
        time.sleep(0.05)


def test_a_ctrl_c_stops_every_process_and_exits_0(tmp_path):
    path = procfile(tmp_path, one=SLEEPER, two=SLEEPER)
    log = tmp_path / "console"
    with log.open("wb") as out:
        run = subprocess.Popen(
            [RUN, "-e", "/dev/null", "-f", path],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    wait_until_started(log.read_text, 2)
    os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
    assert run.wait(timeout=30) == 0
    console = log.read_text()
    assert "SIGINT received" in console
    assert "one.1 stopped" in console and "two.1 stopped" in console


def test_a_process_that_dies_on_its_own_stops_the_rest_and_fails_with_its_status(tmp_path):
    path = procfile(tmp_path, fails='python3 -c "import sys; sys.exit(3)"', other=SLEEPER)
    run = subprocess.run(
        [RUN, "-e", "/dev/null", "-f", path], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 3
    assert "fails.1 stopped (rc=3)" in run.stdout


def test_make_reports_no_error_when_ctrl_c_stops_make_run(tmp_path):
    """A terminal's Ctrl-C reaches make too: make then stops silently, without `*** Error`."""
    path = procfile(tmp_path, one=SLEEPER)
    (tmp_path / "Makefile").write_text(f"run:\n\t{RUN} -e /dev/null -f {path}\n")
    pid, terminal = pty.fork()
    if pid == 0:  # the child: make, in the terminal's foreground process group
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.execvp("make", ["make", "-C", str(tmp_path), "--no-print-directory", "run"])  # noqa: S606
    output = b""

    def read() -> str:
        nonlocal output
        output += os.read(terminal, 65536)
        return output.decode("utf-8", "replace")

    wait_until_started(read, 1)
    os.write(terminal, b"\x03")  # Ctrl-C
    while True:
        try:
            chunk = os.read(terminal, 65536)
        except OSError:  # the terminal closed: everything has exited
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    os.close(terminal)
    console = output.decode("utf-8", "replace")
    assert "SIGINT received" in console and "one.1 stopped" in console
    assert "***" not in console
    # make re-raises the SIGINT on itself, as every program stopped by Ctrl-C should.
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGINT


def test_make_run_starts_the_development_processes_through_bin_run():
    # Under `make test` the parent make's flags would add "Entering/Leaving directory" lines.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "run"],
        cwd=ROOT, capture_output=True, text=True, check=True, env=env,
    ).stdout  # fmt: skip
    assert "bin/run -f Procfile.dev" in dry_run.splitlines()[-1]
