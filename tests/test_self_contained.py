"""The repository carries everything its code and tests read: no path points outside it."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCANNED = ("bench", "bin", "config", "notifications", "portal", "tests", "twilio_sandbox", "worker")
TEXT_SUFFIXES = {"", ".py", ".md", ".txt", ".toml", ".cfg", ".ini", ".html", ".sh", ".example"}
OUTSIDE = [
    re.compile(r"\.\./shared|shared/twilio-openapi"),  # the old home of Twilio's specs
    re.compile(r"""/\s*["']shared["']"""),  # Path(...) / "shared"
    re.compile(r"\b(?:REPO|ROOT|BASE_DIR|REPO_ROOT|PROJECT_ROOT)\.parent\b"),  # above the root
    re.compile(r"TWILIO_OPENAPI_DIR|/work/|/home/\w"),  # a directory of one machine
]
CLIMB = re.compile(r"Path\(__file__\)\.resolve\(\)((?:\.parent\b)+|\.parents\[(\d+)\])")


def scanned_files() -> list[Path]:
    found = [REPO / name for name in ("Makefile", "Procfile.dev", "pyproject.toml", "manage.py")]
    for top in SCANNED:
        for path in sorted((REPO / top).rglob("*")):
            if path.is_file() and path.suffix in TEXT_SUFFIXES and "__pycache__" not in path.parts:
                found.append(path)
    return [path for path in found if path.resolve() != Path(__file__).resolve()]


def outside_references(relative: Path, text: str) -> list[str]:
    """What in `text` (the file at `relative` in the repository) points outside the repository."""
    found = [match.group(0) for pattern in OUTSIDE for match in pattern.finditer(text)]
    depth = len(relative.parts) - 1  # Path(__file__).parents[depth] is the repository
    for match in CLIMB.finditer(text):
        index = int(match.group(2)) if match.group(2) else match.group(1).count(".parent") - 1
        if index > depth:
            found.append(match.group(0))
    return found


def test_no_code_or_test_reads_a_path_outside_the_repository():
    offenders = {}
    for path in scanned_files():
        relative = path.relative_to(REPO)
        found = outside_references(relative, path.read_text(encoding="utf-8", errors="replace"))
        if found:
            offenders[str(relative)] = found
    assert offenders == {}


def test_the_check_recognizes_the_ways_out_of_the_repository():
    relative = Path("tests/twilio_sandbox/openapi.py")
    for line in (
        'REPO.parent / "shared" / "twilio-openapi"',
        'os.environ.get("TWILIO_OPENAPI_DIR")',
        "Path(__file__).resolve().parents[3]",
        "Path(__file__).resolve().parent.parent.parent.parent",
        'open("../shared/spec.json")',
    ):
        assert outside_references(relative, line), line
    assert outside_references(relative, "Path(__file__).resolve().parents[2]") == []
