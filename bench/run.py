"""`make bench`: every benchmark in turn, each printing its own table with baseline ratios;
then bench/results/latest.json (all their results, the machine and versions) and the chart
bench/results/latest.png.

Usage: .venv/bin/python bench/run.py [--quick] [--results DIR]

--quick runs each benchmark's smoke size (CI runs it so that the benchmarks never rot); its
figures are labelled so and mean little. Exits 1 when a benchmark failed or saw a wrong
outcome (a message lost or sent twice, an error answer).
"""

import argparse
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.chart import draw  # noqa: E402
from bench.common import machine, versions  # noqa: E402

# name, title, script and arguments; each writes its JSON with --json.
BENCHMARKS = [
    ("web_requests", "Web requests", ["web_requests.py"]),
    ("bulk_delivery", "Bulk delivery", ["bulk_delivery.py"]),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke sizes (for CI)")
    parser.add_argument("--results", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    args.results.mkdir(parents=True, exist_ok=True)
    latest = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": {**machine(), "versions": versions()},
        "benchmarks": {},
    }
    failed = []
    for name, title, (script, *arguments) in BENCHMARKS:
        print(f"\n=== {title} ===", flush=True)
        output = args.results / f"{name}.json"
        output.unlink(missing_ok=True)
        command = [sys.executable, str(HERE / script), *arguments, "--json", str(output)]
        if args.quick:
            command.append("--quick")
        if subprocess.run(command, cwd=HERE.parent).returncode:
            failed.append(title)
        if output.exists():
            latest["benchmarks"][name] = json.loads(output.read_text())
    (args.results / "latest.json").write_text(json.dumps(latest, indent=2, default=str) + "\n")
    if latest["benchmarks"]:
        draw(latest, args.results / "latest.png")
    print(f"\nWritten: {args.results / 'latest.json'}, {args.results / 'latest.png'}")
    if failed:
        print(f"Failed or wrong: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
