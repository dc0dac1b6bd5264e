"""The sandbox's whole mutable state: settings, records, opt-outs, counters, clock."""

from __future__ import annotations

import asyncio
import copy
import time
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

from .errors import DELIVERY_ERRORS
from .faults import Faults
from .records import Message, Verification

DEFAULT_ACCOUNT_SID = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
DEFAULT_AUTH_TOKEN = "sandbox-auth-token"
DEFAULT_SERVICE_NUMBER = "+15005550006"


class Failure(NamedTuple):
    """How messages to a configured number end: a final status with its error code.

    `on_create`: the create response itself is already final (Twilio's spec allows any status
    there), so no lifecycle and no status callback follow, as for any initial status.
    """

    status: str
    code: int
    on_create: bool = False


def parse_fail_spec(spec: Any) -> Failure:
    """`30003`, `"30003"` or `{"error_code": 30003, "status": "failed", "on_create": true}`."""
    on_create = False
    if isinstance(spec, dict):
        unknown = set(spec) - {"error_code", "status", "on_create"}
        if unknown:
            raise ValueError(f"fail_numbers: unknown keys {sorted(unknown)}")
        code = int(spec.get("error_code", 30008))
        status = spec.get("status") or DELIVERY_ERRORS.get(code, ("undelivered", ""))[0]
        on_create = bool(spec.get("on_create", False))
    else:
        code = int(spec)
        status = DELIVERY_ERRORS.get(code, ("undelivered", ""))[0]
    if status not in ("undelivered", "failed"):
        raise ValueError(f"fail status must be 'undelivered' or 'failed', not {status!r}")
    if code not in DELIVERY_ERRORS and not 30000 <= code <= 30999:
        others = sorted(c for c in DELIVERY_ERRORS if not 30000 <= c <= 30999)
        raise ValueError(f"delivery error codes are 30xxx or one of {others}, not {code}")
    return Failure(status, code, on_create)


@dataclass
class Settings:
    """Runtime settings: CLI values, changeable through POST /_sandbox/config."""

    account_sid: str = DEFAULT_ACCOUNT_SID
    auth_token: str = DEFAULT_AUTH_TOKEN
    step_delay: float = 1.0
    inbound_url: str | None = None
    verify_code_length: int = 6
    service_number: str = DEFAULT_SERVICE_NUMBER
    fail_numbers: dict[str, Failure] = field(default_factory=dict)
    verify_services: dict[str, int] = field(default_factory=dict)  # per-service code length
    callback_retries: int = 3
    callback_backoff: float = 0.1
    callback_timeout: float = 5.0

    EDITABLE = (
        "step_delay", "inbound_url", "verify_code_length", "service_number", "fail_numbers",
        "verify_services", "callback_retries", "callback_backoff", "callback_timeout",
    )  # fmt: skip

    def update(self, data: dict[str, Any]) -> None:
        unknown = set(data) - set(self.EDITABLE)
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}; editable: {self.EDITABLE}")
        new = copy.deepcopy(self)
        for key, value in data.items():
            if key == "fail_numbers":
                new.fail_numbers = {str(k): parse_fail_spec(v) for k, v in (value or {}).items()}
            elif key == "verify_services":
                new.verify_services.update({str(k): int(v) for k, v in (value or {}).items()})
            elif key == "inbound_url":
                new.inbound_url = value or None
            elif key == "service_number":
                new.service_number = str(value)
            elif key in ("verify_code_length", "callback_retries"):
                setattr(new, key, int(value))
            else:
                setattr(new, key, float(value))
        if not 4 <= new.verify_code_length <= 10:
            raise ValueError("verify_code_length must be 4..10")
        if any(not 4 <= n <= 10 for n in new.verify_services.values()):
            raise ValueError("verify code lengths must be 4..10")
        if new.step_delay < 0 or new.callback_backoff < 0 or new.callback_retries < 0:
            raise ValueError("delays and retries must not be negative")
        self.__dict__.update(new.__dict__)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("auth_token")
        data["fail_numbers"] = {
            number: {"status": f.status, "error_code": f.code, "on_create": f.on_create}
            for number, f in self.fail_numbers.items()
        }
        return data


class Stats:
    """Counters for GET /_sandbox/stats."""

    def __init__(self) -> None:
        self.requests: dict[str, dict[str, int]] = {}
        self.counters: dict[str, int] = {}
        self.faults: dict[str, int] = {}

    def inc(self, name: str, n: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n

    def request(self, endpoint: str, status: int | str) -> None:
        by_status = self.requests.get(endpoint)
        if by_status is None:
            by_status = self.requests[endpoint] = {}
        key = str(status)
        by_status[key] = by_status.get(key, 0) + 1

    def fault(self, name: str) -> None:
        self.faults[name] = self.faults.get(name, 0) + 1

    def to_json(self) -> dict[str, Any]:
        names = (
            "messages_created", "inbound_received", "verifications_created",
            "verification_checks", "callbacks_sent", "callbacks_failed", "callbacks_dropped",
            "callbacks_retried", "callbacks_duplicated", "callbacks_dropped_by_fault",
            "callbacks_given_up", "inbound_webhooks_sent", "inbound_webhooks_failed",
        )  # fmt: skip
        data: dict[str, Any] = {name: self.counters.get(name, 0) for name in names}
        data.update({k: v for k, v in self.counters.items() if k not in data})
        data["requests"] = {k: dict(v) for k, v in self.requests.items()}
        data["requests_total"] = sum(sum(v.values()) for v in self.requests.values())
        data["faults_fired"] = dict(self.faults)
        return data


class State:
    """Everything the handlers share; `reset()` returns it to the CLI's starting point."""

    def __init__(self, settings: Settings, fault_spec: dict[str, Any] | None = None) -> None:
        self.initial_settings = copy.deepcopy(settings)
        self.initial_faults = copy.deepcopy(fault_spec or {})
        self.settings = settings
        self.faults = Faults.from_json(self.initial_faults)
        self.messages: dict[str, Message] = {}
        self.verifications: dict[str, Verification] = {}
        self.latest_verification: dict[tuple[str, str], str] = {}
        self.opted_out: set[str] = set()
        self.stats = Stats()
        self.clock_offset = 0.0
        self.generation = 0
        self.sender_free_at: dict[str, float] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        self.http: Any = None  # aiohttp.ClientSession, created on startup
        self.expected_auth = ""

    def now(self) -> float:
        return time.time() + self.clock_offset

    def spawn(self, coro: Any) -> asyncio.Future:
        """Run a background coroutine, keeping a reference so it is not garbage-collected."""
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def reset(self) -> None:
        self.generation += 1  # pending timers and callbacks of older generations stand down
        for message in self.messages.values():
            if message.handle is not None:
                message.handle.cancel()
        for task in list(self.tasks):
            task.cancel()
        self.messages.clear()
        self.verifications.clear()
        self.latest_verification.clear()
        self.opted_out.clear()
        self.sender_free_at.clear()
        self.stats = Stats()
        self.clock_offset = 0.0
        self.settings.__dict__.update(copy.deepcopy(self.initial_settings).__dict__)
        self.faults = Faults.from_json(self.initial_faults)
