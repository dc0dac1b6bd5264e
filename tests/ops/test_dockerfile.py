"""The Dockerfile, parsed with Docker's own parser (the `dockerfile` package), and its build
context: a pinned slim base, a non-root user, the production requirements, static files collected
at build time, and no secret in any layer."""

import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

from tests.ops.files import ROOT, SCRIPTS, dockerfile_commands, workdir

SECRET_LOOKING = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|API_KEY|AUTH|CREDENTIAL", re.I)


def instructions(name: str) -> list:
    return [command for command in dockerfile_commands() if command.cmd == name]


def image_env() -> dict[str, str]:
    env = {}
    for command in instructions("ENV"):
        pairs = command.value
        env.update({k: v.strip('"') for k, v in zip(pairs[::2], pairs[1::2], strict=True)})
    return env


def run_lines() -> list[str]:
    return [" ".join(command.value) for command in instructions("RUN")]


# --- .dockerignore, as Docker reads it (moby/patternmatcher) --------------------------------


@cache
def ignore_rules() -> list[tuple[bool, re.Pattern]]:
    rules = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        include, pattern = line.startswith("!"), line.lstrip("!").strip("/")
        regex = ""
        for token in re.split(r"(\*\*/|\*\*|\*|\?)", pattern):
            regex += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(
                token, re.escape(token)
            )
        rules.append((include, re.compile(regex)))
    return rules


def ignored(relative: str) -> bool:
    """Docker leaves a path out when the last rule matching it, or a directory above it, is an
    exclusion."""
    parts = relative.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    verdict = False
    for include, regex in ignore_rules():
        if any(regex.fullmatch(candidate) for candidate in candidates):
            verdict = not include
    return verdict


def build_context() -> list[str]:
    found = []
    for directory, subdirectories, files in os.walk(ROOT):
        here = Path(directory).relative_to(ROOT).as_posix()
        prefix = "" if here == "." else here + "/"
        subdirectories[:] = [d for d in subdirectories if not ignored(prefix + d)]
        found += [prefix + name for name in files if not ignored(prefix + name)]
    return found


# --- the tests ---------------------------------------------------------------------------


def test_the_base_image_is_a_pinned_slim_python():
    [base] = instructions("FROM")
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", base.value[0])


def test_python_writes_no_bytecode_and_no_buffered_output():
    env = image_env()
    assert env["PYTHONDONTWRITEBYTECODE"] == "1" and env["PYTHONUNBUFFERED"] == "1"
    assert env["DJANGO_SETTINGS_MODULE"] == "config.settings.production"


def test_the_processes_run_as_a_user_who_is_not_root():
    [*_, user] = instructions("USER")
    assert user.value[0].split(":")[0] not in ("root", "0")
    last_run = max(command.start_line for command in instructions("RUN"))
    assert user.start_line > last_run  # nothing after it runs as root again


def test_the_production_requirements_are_installed_without_a_cache():
    assert "pip install --no-cache-dir -r requirements/production.txt" in run_lines()
    assert "gunicorn==" in (ROOT / "requirements" / "production.txt").read_text()
    # Before the code is copied: a change of code reuses the installed layer.
    copies = instructions("COPY")
    assert copies[0].value == ("requirements/", "requirements/")
    assert copies[-1].value == (".", ".")


def test_static_files_are_collected_at_build_time_with_throwaway_values_inline():
    [collect] = [line for line in run_lines() if "collectstatic" in line]
    assert "python manage.py collectstatic --noinput" in collect
    assert re.search(r"DJANGO_SECRET_KEY=\S*not-secret\S*\s", collect)
    [logs] = [line for line in run_lines() if "mkdir -p logs" in line]
    assert re.search(r"chown \S+ logs", logs)


def test_no_env_or_arg_carries_anything_secret_looking():
    names = [*image_env(), *(c.value[0].split("=")[0] for c in instructions("ARG"))]
    assert [name for name in names if SECRET_LOOKING.search(name)] == []
    assert ".env" not in " ".join(" ".join(c.value) for c in instructions("COPY"))


def test_the_default_command_is_the_web_start_script():
    [cmd] = instructions("CMD")
    assert cmd.json and Path(cmd.value[0]).parent == workdir() / "docker"
    assert (SCRIPTS / Path(cmd.value[0]).name).is_file()
    assert "8000" in instructions("EXPOSE")[0].value


def test_the_build_context_leaves_out_secrets_local_state_and_caches():
    for path in (".env", ".env.production", ".venv/bin/python", ".git/HEAD", "db.sqlite3",
                 "db.sqlite3-wal", "logs/sms.log", "staticfiles/x.css", "test-artifacts/a.png",
                 "config/__pycache__/urls.cpython-311.pyc", "tests/conftest.py"):  # fmt: skip
        assert ignored(path), path
    for path in ("manage.py", "requirements/production.txt", "docker/start-web",
                 "config/settings/production.py", "twilio_sandbox/__main__.py"):  # fmt: skip
        assert not ignored(path), path


@pytest.fixture(scope="module")
def context(tmp_path_factory) -> Path:
    """The build context as Docker would send it, copied."""
    target = tmp_path_factory.mktemp("context")
    for relative in build_context():
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, target / relative)
    return target


def test_the_image_gets_every_start_script_executable(context):
    for script in SCRIPTS.glob("start-*"):
        copied = context / "docker" / script.name
        assert copied.is_file() and os.access(copied, os.X_OK), script.name


def test_the_collectstatic_step_works_in_the_build_context_with_nothing_else(context):
    """The build's RUN line, in a copy of the context, with only the image's ENV: no .env, no
    database, no Redis."""
    [collect] = [line for line in run_lines() if "collectstatic" in line]
    step = collect.split("&&")[0]
    env = {
        "PATH": os.pathsep.join([str(ROOT / ".venv" / "bin"), "/usr/bin", "/bin"]),
        "HOME": str(context),
        **image_env(),
    }
    result = subprocess.run(["bash", "-c", step], cwd=context, env=env, capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    manifest = context / "staticfiles" / "staticfiles.json"
    assert manifest.is_file() and "portal/" in manifest.read_text()
