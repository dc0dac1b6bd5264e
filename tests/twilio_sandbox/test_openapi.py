"""The vendored OpenAPI subsets: reproducible by bin/vendor-twilio-openapi, closed under $ref."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from . import openapi

SPEC_FILES = sorted(openapi.vendor.KEEP)


def vendor(source: Path, dest: Path) -> None:
    subprocess.run(
        [sys.executable, str(openapi.VENDOR_SCRIPT), "--source", str(source), "--dest", str(dest)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip


def files(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def test_the_repository_carries_the_specs_and_twilios_license():
    assert sorted(files(openapi.SPEC_DIR)) == sorted(["LICENSE", *SPEC_FILES])
    license_text = (openapi.SPEC_DIR / "LICENSE").read_text()
    assert license_text.startswith("MIT License") and "Twilio, Inc." in license_text
    for name in SPEC_FILES:
        spec = openapi.load_spec(name)
        assert spec["openapi"].startswith("3.") and spec["info"]["title"].startswith("Twilio")
        assert spec["x-vendored"]["from"].endswith("spec/json/" + name)


def test_the_script_run_on_the_vendored_files_reproduces_them_byte_for_byte(tmp_path):
    """It would fail on a $ref the subset cannot resolve, so the subset is closed under $ref."""
    vendor(openapi.SPEC_DIR, tmp_path)
    assert files(tmp_path) == files(openapi.SPEC_DIR)


def test_the_script_keeps_only_what_is_listed_and_finds_the_license_of_a_checkout(tmp_path):
    """From a twilio-oai checkout (spec/json/, LICENSE at the root) with more than we keep."""
    checkout = tmp_path / "twilio-oai"
    source = checkout / "spec" / "json"
    source.mkdir(parents=True)
    (checkout / "LICENSE").write_bytes((openapi.SPEC_DIR / "LICENSE").read_bytes())
    for name in SPEC_FILES:
        spec = openapi.load_spec(name)
        full = json.loads(json.dumps(spec))  # a copy: load_spec's result is cached
        full.pop("x-vendored")
        for path_item in full.get("paths", {}).values():
            for operation in path_item.values():
                operation["parameters"] = [{"$ref": "#/components/parameters/Unrelated"}]
                for response in operation["responses"].values():
                    media = response["content"]["application/json"]
                    media["examples"] = {"page": {"value": {"to": "+15558675310"}}}
        full["components"]["schemas"]["unrelated.resource"] = {"type": "object"}
        full.setdefault("paths", {})["/v1/Unrelated"] = {"get": {"responses": {}}}
        full["servers"] = [{"url": "https://api.twilio.com"}]
        (source / name).write_text(json.dumps(full), encoding="utf-8")
    vendor(source, tmp_path / "out")
    assert files(tmp_path / "out") == files(openapi.SPEC_DIR)


def test_the_message_status_enum_comes_with_the_message_schema():
    statuses = openapi.message_statuses()
    assert {"queued", "sent", "delivered", "failed", "received"} <= set(statuses)
