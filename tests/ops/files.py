"""The deployment files read as data: docker-compose.yml (interpolated as compose does), the
start scripts of docker/, .env.example, the Dockerfile, and the variables the settings read."""

import ast
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import dockerfile
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "docker"
ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


# --- docker-compose.yml ---------------------------------------------------------------------

# Compose's interpolation: $$, ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error},
# ${NAME?error}, $NAME. Nested forms are not used here (compose_raw refuses them).
INTERPOLATION = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?[-?])(?P<arg>[^${}]*))?\}|\$(?P<bare>[A-Za-z_]\w*)"
)


class MissingVariable(Exception):
    """A ${NAME:?message} whose variable is unset (or empty): compose refuses to start."""


def compose_raw() -> dict:
    text = (ROOT / "docker-compose.yml").read_text()
    assert not re.search(r"\$\{[^}]*\$\{", text), "nested interpolation: not understood here"
    return yaml.safe_load(text)


def interpolate(value: str, env: dict[str, str]) -> str:
    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("name") or match.group("bare")
        op, arg = match.group("op") or "", match.group("arg") or ""
        set_ = name in env and (env[name] != "" or not op.startswith(":"))
        if op.endswith("?") and not set_:
            raise MissingVariable(f"{name}: {arg}")
        if op.endswith("-") and not set_:
            return arg
        return env.get(name, "")

    return INTERPOLATION.sub(substitute, value)


def compose(env: dict[str, str]) -> dict:
    """docker-compose.yml as compose sees it with `env` (the shell and the project's .env)."""

    def walk(node):
        if isinstance(node, dict):
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(value) for value in node]
        return interpolate(node, env) if isinstance(node, str) else node

    return walk(compose_raw())


def compose_variables() -> set[str]:
    """Every variable docker-compose.yml names: interpolated, set in an `environment:` block,
    or read by a healthcheck inside its container ($$NAME)."""
    raw = compose_raw()
    text = (ROOT / "docker-compose.yml").read_text()
    names = {m.group("name") or m.group("bare") for m in INTERPOLATION.finditer(text)} - {None}
    names |= set(re.findall(r"\$\$\{?([A-Za-z_]\w*)", text))
    for service in raw["services"].values():
        names |= set(service.get("environment") or {})
    return names


def environment(service: dict) -> dict[str, str]:
    value = service.get("environment") or {}
    if isinstance(value, list):
        value = dict(item.split("=", 1) for item in value)
    return {name: str(item) for name, item in value.items()}


def command(service: dict) -> list[str]:
    value = service.get("command") or []
    return shlex.split(value) if isinstance(value, str) else [str(word) for word in value]


def script_of(service: dict) -> Path | None:
    """The docker/ script a service runs, as a path in this checkout (the image's WORKDIR is
    the repository's root)."""
    words = command(service)
    if not words:
        return None
    path = Path(words[0])
    if path.is_absolute():
        path = path.relative_to(workdir())
    return ROOT / path


@dataclass(frozen=True)
class Port:
    host_ip: str
    host: str
    container: int


def ports(service: dict) -> list[Port]:
    found = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            found.append(Port(entry.get("host_ip", ""), str(entry.get("published", "")),
                              int(entry["target"])))  # fmt: skip
            continue
        parts = str(entry).split(":")
        ip = parts[0] if len(parts) == 3 else ""
        host = parts[-2] if len(parts) >= 2 else ""
        found.append(Port(ip, host, int(parts[-1].split("/")[0])))
    return found


def healthcheck(service: dict) -> str:
    """The healthcheck's test as one command line ("" without one)."""
    test = (service.get("healthcheck") or {}).get("test") or []
    if isinstance(test, str):
        return test
    kind, *words = test
    return words[0] if kind == "CMD-SHELL" else shlex.join(words)


# --- the start scripts ------------------------------------------------------------------------


def script_lines(path: Path) -> list[str]:
    """The script's lines without its comments."""
    lines = path.read_text().splitlines()
    return [line for line in lines if not line.lstrip().startswith("#")]


def script_variables(path: Path) -> set[str]:
    return set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", "\n".join(script_lines(path))))


def script_default(path: Path, name: str) -> str:
    """The default a script gives NAME: ${NAME:-default}."""
    match = re.search(r"\$\{" + name + r":-([^}]*)\}", path.read_text())
    assert match, f"{path.name} gives {name} no default"
    return match.group(1)


# --- the Dockerfile -----------------------------------------------------------------------------


def dockerfile_commands() -> tuple:
    return dockerfile.parse_file(str(ROOT / "Dockerfile"))


def workdir() -> Path:
    [*_, last] = [c for c in dockerfile_commands() if c.cmd == "WORKDIR"]
    return Path(last.value[0])


# --- .env.example and the variables the code reads -------------------------------------------


@dataclass(frozen=True)
class Documented:
    name: str
    value: str
    active: bool  # an uncommented line: make run's development value
    description: str  # the comment line above it


def env_example() -> list[Documented]:
    found, previous = [], ""
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.fullmatch(r"(?P<comment>#\s*)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)", line)
        if match:
            description = "" if re.match(r"#\s*[A-Z][A-Z0-9_]*=", previous) else previous
            found.append(Documented(match["name"], match["value"], not match["comment"],
                                    description.lstrip("# ").strip()))  # fmt: skip
        previous = line if line.startswith("#") and not line.startswith("# ---") else ""
    return found


def _reads_environment(func: ast.expr) -> bool:
    """env.str(...), env(...), sms_setting(...), os.environ.get(...), os.getenv(...), ..."""
    if isinstance(func, ast.Name):
        return func.id in ("env", "sms_setting", "getenv")
    if isinstance(func, ast.Attribute):
        owner = ast.unparse(func.value)
        return owner in ("env", "os.environ") or ast.unparse(func) == "os.getenv"
    return False


def settings_variables() -> set[str]:
    """Every environment variable that config/ (the settings, config/env.py), manage.py and the
    Celery app read, found in their code."""
    paths = [*(ROOT / "config").rglob("*.py"), *(ROOT / "worker").rglob("*.py"), ROOT / "manage.py"]
    names = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and _reads_environment(node.func):
                arguments = node.args
            elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
                arguments = [node.slice]
            else:
                continue
            names |= {
                arg.value
                for arg in arguments
                if isinstance(arg, ast.Constant)
                and isinstance(arg.value, str)
                and ENV_NAME.fullmatch(arg.value)
            }
    return names
