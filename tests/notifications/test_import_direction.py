"""Imports in the notifications app go one way: no module imports, even indirectly, one that
imports it back; the request side never reaches the worker side; nothing imports the tasks."""

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "notifications"


def module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    module_name(path): path
    for path in APP.rglob("*.py")
    if "migrations" not in path.parts and "management" not in path.parts
}


def imports_of(name: str) -> set[str]:
    """The app's modules that `name` imports, anywhere in it (functions included)."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {module for module in found if module in MODULES and module != name}


GRAPH = {name: imports_of(name) for name in MODULES}


def reachable(start: str) -> set[str]:
    seen, stack = set(), [start]
    while stack:
        for module in GRAPH[stack.pop()] - seen:
            seen.add(module)
            stack.append(module)
    return seen


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_imports_itself_back(name):
    assert name not in reachable(name)


@pytest.mark.parametrize(
    "request_side",
    ["notifications.services", "notifications.verification", "notifications.api.views"],
)
def test_the_request_side_never_reaches_the_worker_side(request_side):
    worker_side = ("notifications.tasks", "notifications.delivery", "notifications.recovery")
    worker_side += ("notifications.verification_worker",)
    reached = [name for name in reachable(request_side) if name.startswith(worker_side)]
    assert reached == []


def test_nothing_imports_the_tasks():
    assert [name for name, imported in GRAPH.items() if "notifications.tasks" in imported] == []


def test_only_the_twilio_client_imports_twilio():
    importers = [
        name
        for name, path in MODULES.items()
        if any(
            (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("twilio"))
            or (
                isinstance(node, ast.Import)
                and any(a.name.startswith("twilio") for a in node.names)
            )
            for node in ast.walk(ast.parse(path.read_text()))
        )
    ]
    assert importers == ["notifications.twilio_client"]
