"""The reliability scenarios' table: one row per scenario and broker, printed after the run
and written to test-artifacts/reliability.json (`make chaos` keeps it).

Scenarios run side by side under pytest-xdist, so each writes its row to a file of its own and
the process that reports (the controller, or the only process) gathers them.
"""

import json
import shutil
from pathlib import Path

import pytest

from tests.reliability.stack import COLUMNS, MESSAGES


def _rows_directory(config) -> Path:
    return Path(config.rootpath) / "test-artifacts" / "reliability-rows"


def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):  # the controller, or a run without xdist
        shutil.rmtree(_rows_directory(session.config), ignore_errors=True)


@pytest.fixture
def record(request):
    """Adds an audit to the table."""
    directory = _rows_directory(request.config)
    directory.mkdir(parents=True, exist_ok=True)
    name = "".join(c if c.isalnum() else "_" for c in request.node.nodeid)

    def add(audit) -> None:
        (directory / f"{name}.json").write_text(json.dumps(audit.row()))

    return add


def pytest_terminal_summary(terminalreporter, config):
    if hasattr(config, "workerinput"):
        return
    directory = _rows_directory(config)
    rows = [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))]
    if not rows:
        return
    rows.sort(key=lambda row: (row["broker"], row["scenario"]))
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in COLUMNS]
    terminalreporter.section(f"reliability scenarios ({MESSAGES} messages each)")
    terminalreporter.write_line("  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)))
    for row in rows:
        terminalreporter.write_line(
            "  ".join(str(row[c]).ljust(w) for c, w in zip(COLUMNS, widths, strict=True))
        )
    (directory.parent / "reliability.json").write_text(
        json.dumps({"messages": MESSAGES, "scenarios": rows}, indent=2) + "\n"
    )
