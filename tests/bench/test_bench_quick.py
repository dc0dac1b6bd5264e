"""`make bench` at its smoke size (`bench/run.py --quick`), as CI runs it so that the benchmarks
never rot: each benchmark starts the real stack, prints its table and writes its results; the
run writes latest.json and the chart. The figures of a smoke run mean little and are not
checked; that every row ran, exactly (nothing lost or repeated, no error answer), is."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.integration


def test_every_benchmark_runs_at_its_smoke_size_and_the_chart_is_drawn(tmp_path):
    run = subprocess.run(
        [sys.executable, "bench/run.py", "--quick", "--results", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-5000:]

    latest = json.loads((tmp_path / "latest.json").read_text())
    assert latest["quick"] is True and latest["machine"]["cpus"] >= 1
    assert {"django", "celery", "redis-server", "postgresql", "wrk"} <= set(
        latest["machine"]["versions"]
    )
    assert set(latest["benchmarks"]) == {"web_requests", "bulk_delivery"}
    web = latest["benchmarks"]["web_requests"]["rows"]
    assert sorted({row["row"] for row in web}) == [1, 2, 3, 4]
    bulk = latest["benchmarks"]["bulk_delivery"]["rows"]
    assert sorted({row["row"] for row in bulk}) == [1, 2, 3, 4, 5, 6]
    for row in web + bulk:
        assert row["exact"], row
        assert row["ratio"] > 0, row
    # Row 1 compares like with like: the seed's way called the provider once per request.
    assert all(row["provider_calls_in_requests"] > 0 for row in web if row["row"] == 1)

    chart = (tmp_path / "latest.png").read_bytes()
    assert chart.startswith(PNG_SIGNATURE) and len(chart) > 20_000
    assert "| 2 | enqueue throughput" in run.stdout  # each benchmark printed its table
