"""The chart of `make bench` (bench/results/latest.png), drawn from latest.json with matplotlib.

Left: the headline, how long a portal action and an API send take when Twilio answers in
300 ms, done here (enqueued) and the seed's way (Twilio called in the request). Right: every
row's ratio to the baseline measured in the same run, on a log scale with 1 marked: the
machine's noise moves both sides of a ratio alike.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server or in CI

import matplotlib.pyplot as plt  # noqa: E402


def draw(latest: dict[str, Any], path: Path) -> None:
    rows = [(name, row) for name, run in latest["benchmarks"].items() for row in run["rows"]]
    blocking = [row for name, row in rows if name == "web_requests" and row["row"] == 1]
    ratios = [(f"{name} {row['row']}: {row['name']}"
               + (f" [{row['ratio_label']}]" if row.get("ratio_label") else ""), row["ratio"])
              for name, row in rows
              if isinstance(row.get("ratio"), int | float) and row["ratio"] > 0]  # fmt: skip

    figure, (left, right) = plt.subplots(
        1, 2, figsize=(15, max(4.5, 0.42 * len(ratios) + 1.5)), width_ratios=(1, 1.6)
    )
    title = "make bench" + (" --quick (smoke run: small counts)" if latest["quick"] else "")
    machine = latest["machine"]
    figure.suptitle(
        f"{title}: {machine['cpus']} CPUs, Python {machine['python']}, {latest['at']}",
        fontsize=11,
    )

    if blocking:
        labels = [row["name"].split(",")[0] for row in blocking]
        places = range(len(blocking))
        width = 0.2
        series = (
            ("enqueued p50", [row["result"]["p50_ms"] for row in blocking], -1.5, "#2a7ab9"),
            ("enqueued p99", [row["result"]["p99_ms"] for row in blocking], -0.5, "#8cc3e8"),
            ("Twilio in request p50", [row["baseline"]["p50_ms"] for row in blocking], 0.5,
             "#c0392b"),
            ("Twilio in request p99", [row["baseline"]["p99_ms"] for row in blocking], 1.5,
             "#f1a9a0"),
        )  # fmt: skip
        for label, values, offset, colour in series:
            left.bar([p + offset * width for p in places], values, width, label=label,
                     color=colour)  # fmt: skip
        left.set_xticks(list(places), labels)
        left.set_ylabel("ms per request (4 concurrent clients)")
        left.set_title("Requests with Twilio answering in 300 ms", fontsize=10)
        left.legend(fontsize=8)
    else:
        left.set_axis_off()

    labels = ["\n".join(textwrap.wrap(label, 60)) for label, _ in ratios]
    values = [value for _, value in ratios]
    right.barh(range(len(values)), values, color="#5b8c5a")
    right.set_yticks(range(len(values)), labels, fontsize=7)
    right.invert_yaxis()
    right.set_xscale("log")
    right.axvline(1.0, color="black", linewidth=0.8)
    for place, value in enumerate(values):
        right.annotate(f"{value:.2f}", (value, place), xytext=(3, 0), textcoords="offset points",
                       va="center", fontsize=7)  # fmt: skip
    right.set_title("Each row against its baseline of the same run (ratio, log scale)",
                    fontsize=10)  # fmt: skip

    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
