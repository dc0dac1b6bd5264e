"""Every command the README shows works as written from a fresh clone after `make run`/`make test`.

Commands are the lines of its `sh` blocks and the inline code that starts like a command. Each
must be one this test knows how to check: a make target of the Makefile, a program of the venv
(a management command with options that parse, a module that exists, a celery subcommand), or a
curl call to a URL the project serves. A bare `python ...` fails: on a fresh machine it is not
the venv's.
"""

import importlib.util
import re
import shlex
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import get_commands, load_command_class
from django.urls import Resolver404, resolve

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
FENCED = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
COMMAND_WORDS = {"python", "python3", "celery", "make", "curl", "gunicorn", "pip", "pytest"}
COMMAND_WORDS |= {"docker"}


def shell_commands() -> list[str]:
    commands = []
    for language, block in FENCED.findall(README):
        if language in ("sh", "bash", "shell"):
            for line in block.replace("\\\n", " ").splitlines():
                words = shlex.split(line, comments=True)
                if words and not re.fullmatch(r"\w+=.*", words[0]):  # skip TOKEN=...
                    commands.append(line.strip())
    return commands


def inline_commands() -> list[str]:
    prose = FENCED.sub("", README)
    return [
        code
        for code in re.findall(r"`([^`\n]+)`", prose)
        if len(code.split()) > 1
        and (code.split()[0] in COMMAND_WORDS or code.startswith((".venv/bin/", "bin/")))
    ]


# Each command once, its comment left out.
COMMANDS = sorted(
    {shlex.join(shlex.split(c, comments=True)) for c in shell_commands() + inline_commands()}
)


def check_make(args: list[str]) -> None:
    targets = [a for a in args if not a.startswith("-")]
    assert targets, "a bare `make`"
    for target in targets:
        dry_run = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True)
        assert dry_run.returncode == 0, dry_run.stderr


def check_manage(args: list[str]) -> None:
    name, options = args[0], args[1:]
    commands = get_commands()
    assert name in commands, f"no management command {name!r}"
    command = load_command_class(commands[name], name)
    command.create_parser("manage.py", name).parse_args(options)  # exits on a bad option


def check_venv_program(program: str, args: list[str]) -> None:
    path = ROOT / program
    assert path.is_file() and path.stat().st_mode & 0o111, f"{program} is not in the venv"
    if program == ".venv/bin/python" and args[:1] == ["manage.py"]:
        check_manage(args[1:])
    elif program == ".venv/bin/python" and args[:1] == ["-m"]:
        assert importlib.util.find_spec(args[1]), f"no module {args[1]!r}"
    elif program == ".venv/bin/celery":
        app, subcommand = args[args.index("-A") + 1], args[args.index("-A") + 2]
        helped = subprocess.run(
            [path, "-A", app, subcommand, "--help"], cwd=ROOT, capture_output=True, text=True
        )
        assert helped.returncode == 0, helped.stderr
    else:
        raise AssertionError(f"this test does not know how to check {program} {args}")


def check_script(program: str) -> None:
    """A script of the repository's bin/ that explains itself (its options are its own to check)."""
    path = ROOT / program
    assert path.is_file() and path.stat().st_mode & 0o111, f"{program} is not an executable"
    helped = subprocess.run([path, "--help"], cwd=ROOT, capture_output=True, text=True)
    assert helped.returncode == 0, helped.stderr


def check_curl(args: list[str]) -> None:
    method = args[args.index("-X") + 1] if "-X" in args else "GET"
    [url] = [a for a in args if a.startswith("http://127.0.0.1:8000/")]
    # A placeholder id (`5b0c…`) stands for a real one.
    path = "/".join(
        str(uuid.uuid4()) if "…" in part else part for part in urlsplit(url).path.split("/")
    )
    try:
        view = resolve(path).func
    except Resolver404:
        raise AssertionError(f"{path} is not a URL of the project") from None
    handlers = getattr(view, "cls", None) or getattr(view, "view_class", None)
    assert handlers is None or hasattr(handlers, method.lower()), f"{method} {path}"


COMPOSE_SUBCOMMANDS = {"build", "up", "ps", "exec", "logs", "stop", "start", "cp", "down", "pull"}


def check_docker_compose(args: list[str]) -> None:
    """No Docker engine here: a `docker compose` line must name a subcommand this test knows,
    and only services and profiles that docker-compose.yml defines."""
    import yaml

    assert args[:1] == ["compose"], f"`docker {' '.join(args)}`: only `docker compose` is used"
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    profiles = {p for service in services.values() for p in service.get("profiles", [])}
    words = args[1:]
    while words and words[0] == "--profile":
        assert words[1] in profiles, f"no profile {words[1]!r}"
        words = words[2:]
    subcommand, rest = words[0], words[1:]
    assert subcommand in COMPOSE_SUBCOMMANDS, f"docker compose {subcommand}?"
    named = []
    while rest:
        word, rest = rest[0], rest[1:]
        if word == "--scale":
            named.append(rest[0].partition("=")[0])
            rest = rest[1:]
        elif word.startswith("-"):
            continue
        elif subcommand in ("exec", "cp"):
            named.append(word.partition(":")[0] if subcommand == "cp" else word)
            break  # the rest is the command run inside, or the copy's destination
        else:
            named.append(word)
    unknown = [name for name in named if name not in services and not name.startswith(".")]
    assert unknown == [], f"not services of docker-compose.yml: {unknown}"


@pytest.mark.parametrize("command", COMMANDS)
def test_the_readme_command_works_as_written(command):
    words = shlex.split(command)
    program, args = words[0], words[1:]
    if program == "make":
        check_make(args)
    elif program.startswith(".venv/bin/"):
        check_venv_program(program, args)
    elif program.startswith("bin/"):
        check_script(program)
    elif program == "curl":
        check_curl(args)
    elif program == "docker":
        check_docker_compose(args)
    else:
        raise AssertionError(f"`{command}` does not work from a fresh clone: use .venv/bin/")


def test_the_readme_shows_the_commands_this_test_checks():
    assert "make run" in COMMANDS and "make test" in COMMANDS
    assert any(c.startswith("curl") for c in COMMANDS)
    assert any("manage.py test_sms" in c for c in COMMANDS)


def test_every_table_row_sits_inside_its_table():
    """A row after a paragraph renders as text: each starts a table (a header) or follows a row."""
    lines = FENCED.sub("", README).splitlines()
    strays = [
        line
        for number, line in enumerate(lines)
        if line.startswith("|")
        and not lines[number - 1].startswith("|")
        and not lines[number + 1].startswith("|---")
    ]
    assert strays == []


def test_every_image_the_readme_shows_is_in_the_repository():
    images = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", README)
    assert images, "the README shows the portal's screenshots"
    missing = [path for path in images if not (ROOT / path).is_file()]
    assert missing == []
