"""bin/ensure-browser, run by `make test`: Chromium is there, or it says what to install."""

import os
import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bin" / "ensure-browser"


def test_it_answers_0_when_chromium_is_installed():
    run = subprocess.run([SCRIPT], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0 and run.stdout == run.stderr == ""


def test_without_chromium_nor_apt_get_it_says_what_to_install_and_fails(tmp_path):
    # A PATH with the shell's basics and no apt-get: the script can only explain.
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("bash", "id"):
        os.symlink(shutil.which(tool), tools / tool)
    run = subprocess.run(
        ["bash", SCRIPT],
        env={"PATH": str(tools), "CHROMIUM": str(tmp_path / "chromium")},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 1
    assert "sudo apt-get install chromium" in run.stderr
