"""Fault injection rules (probability or next-N, scoped by endpoint) and throughput limits."""

from __future__ import annotations

import random
from typing import Any

from .numbers import DEFAULT_MPS, sender_kind

SCOPES = ("all", "messages", "verify")
# Faults decided per request (HTTP answers), per callback event, or per message.
RULE_FAULTS = (
    "latency",  # {"ms": 200, "jitter_ms": 50}: every matching request waits
    "http_500",  # answer 500 / Twilio 20500 instead of handling the request
    "http_503",  # answer 503 / Twilio 20503
    "http_429",  # answer 429 / Twilio 20429 with Retry-After ("retry_after" seconds)
    "accept_then_500",  # create the resource, then answer 500
    "accept_then_drop",  # create the resource, then close the connection with no answer
    "callback_duplicate",  # deliver a status callback twice (same idempotency token)
    "callback_out_of_order",  # hold a message's callbacks until its final status, shuffle them
    "callback_drop",  # never deliver a status callback
)
RULE_KEYS = {"rate", "next", "scope", "seed", "methods", "ms", "jitter_ms", "retry_after"}
# Twilio fails messages that waited too long in a sender's queue with 30001 (4 h per
# https://www.twilio.com/docs/errors/30001; newer pages say 10 h, hence configurable).
DEFAULT_QUEUE_MAX_SECONDS = 4 * 3600.0


class Rule:
    """Fires with probability `rate` (seeded RNG) or for the `next` N matching events."""

    def __init__(self, name: str, spec: dict[str, Any], seed: Any = None) -> None:
        if not isinstance(spec, dict):
            raise ValueError(f"fault {name!r} must be an object")
        unknown = set(spec) - RULE_KEYS
        if unknown:
            raise ValueError(f"fault {name!r}: unknown keys {sorted(unknown)}")
        self.name = name
        self.scope = spec.get("scope", "all")
        if self.scope not in SCOPES:
            raise ValueError(f"fault {name!r}: scope must be one of {SCOPES}")
        self.next: int | None = int(spec["next"]) if spec.get("next") is not None else None
        default_rate = 1.0 if name == "latency" and self.next is None else 0.0
        self.rate = float(spec.get("rate", default_rate))
        if not 0.0 <= self.rate <= 1.0 or (self.next is not None and self.next < 0):
            raise ValueError(f"fault {name!r}: rate must be 0..1 and next >= 0")
        methods = spec.get("methods")
        self.methods = frozenset(m.upper() for m in methods) if methods else None
        self.ms = float(spec.get("ms", 0))
        self.jitter_ms = float(spec.get("jitter_ms", 0))
        self.retry_after = int(spec.get("retry_after", 1))
        self.seed = spec.get("seed", seed)
        # Each rule gets its own stream so that adding one fault doesn't shift another's draws.
        self.rng = (
            random.Random(f"{self.seed}:{name}") if self.seed is not None else random.Random()
        )
        self.fired = 0

    def fires(self, scope: str = "all", method: str | None = None) -> bool:
        if self.scope != "all" and scope != self.scope:
            return False
        if self.methods is not None and method not in self.methods:
            return False
        if self.next:
            self.next -= 1
            self.fired += 1
            return True
        if self.rate > 0.0 and (self.rate >= 1.0 or self.rng.random() < self.rate):
            self.fired += 1
            return True
        return False

    def delay(self) -> float:
        """Seconds to wait for the latency fault."""
        jitter = self.rng.uniform(0, self.jitter_ms) if self.jitter_ms else 0.0
        return (self.ms + jitter) / 1000.0

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"rate": self.rate, "next": self.next, "scope": self.scope,
                                "seed": self.seed, "fired": self.fired}  # fmt: skip
        if self.methods:
            data["methods"] = sorted(self.methods)
        if self.name == "latency":
            data.update(ms=self.ms, jitter_ms=self.jitter_ms)
        if self.name == "http_429":
            data["retry_after"] = self.retry_after
        return data


class Throughput:
    """Per-sender MPS queueing: messages wait as `queued` until their sender has a free slot."""

    def __init__(self, spec: Any) -> None:
        spec = {} if spec is True else spec
        if not isinstance(spec, dict):
            raise ValueError("throughput must be true or an object")
        unknown = set(spec) - {"senders", "kinds", "queue_max_seconds"}
        if unknown:
            raise ValueError(f"throughput: unknown keys {sorted(unknown)}")
        self.senders = {str(k): float(v) for k, v in (spec.get("senders") or {}).items()}
        self.kinds = dict(DEFAULT_MPS)
        self.kinds.update({str(k): float(v) for k, v in (spec.get("kinds") or {}).items()})
        self.queue_max_seconds = float(spec.get("queue_max_seconds", DEFAULT_QUEUE_MAX_SECONDS))
        if any(v <= 0 for v in (*self.senders.values(), *self.kinds.values())):
            raise ValueError("throughput: MPS values must be > 0")

    def mps(self, sender: str) -> float:
        return self.senders.get(sender) or self.kinds.get(sender_kind(sender), 1.0)

    def to_json(self) -> dict[str, Any]:
        return {"senders": self.senders, "kinds": self.kinds,
                "queue_max_seconds": self.queue_max_seconds}  # fmt: skip


class Faults:
    """The active faults; POST /_sandbox/faults merges into it (a null value removes one)."""

    def __init__(self) -> None:
        self.rules: dict[str, Rule] = {}
        self.throughput: Throughput | None = None
        self.seed: Any = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Faults:
        faults = cls()
        faults.update(data)
        return faults

    def update(self, data: dict[str, Any]) -> None:
        if not isinstance(data, dict):
            raise ValueError("faults must be a JSON object")
        unknown = set(data) - set(RULE_FAULTS) - {"seed", "throughput", "clear"}
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; known: {RULE_FAULTS}")
        rules = {} if data.get("clear") else dict(self.rules)
        throughput = None if data.get("clear") else self.throughput
        seed = data.get("seed", self.seed)
        for name in RULE_FAULTS:
            if name in data:
                spec = data[name]
                if spec is None:
                    rules.pop(name, None)
                else:
                    rules[name] = Rule(name, spec, seed)
        if "throughput" in data:
            spec = data["throughput"]
            throughput = Throughput(spec) if spec not in (None, False) else None
        # Validate everything before touching live state, so a bad request changes nothing.
        self.rules, self.throughput, self.seed = rules, throughput, seed

    def fires(self, name: str, scope: str = "all", method: str | None = None) -> bool:
        rule = self.rules.get(name)
        return rule is not None and rule.fires(scope, method)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {name: rule.to_json() for name, rule in self.rules.items()}
        data["throughput"] = self.throughput.to_json() if self.throughput else None
        data["seed"] = self.seed
        return data
