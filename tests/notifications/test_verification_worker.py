"""The two sides of verification import one way: the request side publishes by name, tasks call
the worker side, neither side imports the other, and both reach the provider through the backend."""

import ast
from pathlib import Path

import notifications

PACKAGE = Path(notifications.__file__).parent


def imported_by(module: str) -> set[str]:
    """The notifications modules (and `twilio`) that notifications/<module>.py imports."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "notifications":
                found |= {alias.name for alias in node.names}
            else:
                found.add(node.module.removeprefix("notifications."))
        elif isinstance(node, ast.Import):
            found |= {alias.name.removeprefix("notifications.") for alias in node.names}
    return found


def test_the_worker_side_never_imports_the_request_side_or_the_tasks():
    assert not imported_by("verification_worker") & {"verification", "tasks", "publishing"}


def test_the_request_side_publishes_by_name_and_never_imports_the_worker_side():
    imports = imported_by("verification")
    assert "publishing" in imports and not imports & {"tasks", "verification_worker"}


def test_the_tasks_call_the_worker_side_only():
    imports = imported_by("tasks")
    assert "verification_worker" in imports and "verification" not in imports


def test_neither_side_calls_twilio_but_through_the_backend():
    for module in ("verification", "verification_worker"):
        assert not imported_by(module) & {"twilio_client", "twilio"}
