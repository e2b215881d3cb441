"""Failures the stand-in injects into the loyalty API: errors, dropped connections, delays."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sandbox.http_errors import BadRequest


@dataclass
class Faults:
    """Failures to inject into the loyalty API (token and control endpoints are exempt)."""

    fail_next: int = 0  # answer `fail_status` to the next N loyalty requests, no effect
    fail_status: int = 500
    drop_next: int = 0  # close the connection without answering, no effect
    # Apply the request, then close the connection: the answer is lost but the effect stays,
    # which is exactly the case that makes a retry dangerous without an idempotency key.
    drop_after_apply_next: int = 0
    delay_ms: int = 0  # wait this long before handling (to provoke client read timeouts)
    delay_next: int | None = None  # only delay the next N requests; None: all of them
    fail_percent: float = 0.0  # answer `fail_status` to this share of requests, at random
    seed: int | None = None
    injected: int = 0  # how many faults were injected so far
    rng: random.Random = field(default_factory=random.Random, repr=False)

    _INT_OPTIONS = ("fail_next", "drop_next", "drop_after_apply_next", "delay_ms")

    @classmethod
    def from_payload(cls, payload: Any) -> Faults:
        if payload is None:
            payload = {}
        if not isinstance(payload, dict):
            raise BadRequest("The fault configuration must be a JSON object.")
        known = {
            "fail_next",
            "fail_status",
            "drop_next",
            "drop_after_apply_next",
            "delay_ms",
            "delay_next",
            "fail_percent",
            "seed",
        }
        unknown = set(payload) - known
        if unknown:
            raise BadRequest(f"Unknown fault options: {', '.join(sorted(unknown))}.")
        faults = cls()
        for name in cls._INT_OPTIONS:
            setattr(faults, name, non_negative_int(payload.get(name, 0), name))
        if payload.get("delay_next") is not None:
            faults.delay_next = non_negative_int(payload["delay_next"], "delay_next")
        status = payload.get("fail_status", 500)
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise BadRequest("fail_status must be an HTTP error status (400-599).")
        faults.fail_status = status
        percent = payload.get("fail_percent", 0)
        if isinstance(percent, bool) or not isinstance(percent, int | float | Decimal):
            raise BadRequest("fail_percent must be a number from 0 to 100.")
        if not 0 <= percent <= 100:
            raise BadRequest("fail_percent must be a number from 0 to 100.")
        faults.fail_percent = float(percent)
        seed = payload.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise BadRequest("seed must be an integer.")
        faults.seed = seed
        # Seeded, so a flaky-network scenario replays identically run after run.
        faults.rng = random.Random(seed)
        return faults

    def as_dict(self) -> dict[str, Any]:
        return {
            "fail_next": self.fail_next,
            "fail_status": self.fail_status,
            "drop_next": self.drop_next,
            "drop_after_apply_next": self.drop_after_apply_next,
            "delay_ms": self.delay_ms,
            "delay_next": self.delay_next,
            "fail_percent": self.fail_percent,
            "seed": self.seed,
            "injected": self.injected,
        }

    def decide(self) -> tuple[float, str | None]:
        """Consume the fault for one loyalty request: (delay in seconds, action or None)."""
        delay = 0.0
        if self.delay_ms and (self.delay_next is None or self.delay_next > 0):
            delay = self.delay_ms / 1000
            if self.delay_next is not None:
                self.delay_next -= 1
        action: str | None = None
        if self.drop_next > 0:
            self.drop_next -= 1
            action = "drop"
        elif self.fail_next > 0:
            self.fail_next -= 1
            action = "fail"
        elif self.fail_percent and self.rng.random() * 100 < self.fail_percent:
            action = "fail"
        elif self.drop_after_apply_next > 0:
            self.drop_after_apply_next -= 1
            action = "drop_after_apply"
        if action or delay:
            self.injected += 1
        return delay, action


def non_negative_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadRequest(f"{name} must be a non-negative integer.")
    return value
