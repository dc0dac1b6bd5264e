"""`make bench`: run every benchmark in turn; each prints its own table with baseline ratios."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    ("Twilio sandbox throughput", ["sandbox_throughput.py", "--requests", "20000"]),
    ("Request latency", ["request_latency.py", "--messages", "500"]),
    ("Bulk delivery", ["bulk_delivery.py"]),
]


def main() -> int:
    failed = []
    for title, (script, *args) in BENCHMARKS:
        print(f"\n=== {title} ===", flush=True)
        if subprocess.run([sys.executable, str(HERE / script), *args], cwd=HERE.parent).returncode:
            failed.append(title)
    if failed:
        print(f"\nFailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
