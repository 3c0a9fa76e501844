"""The capacity ramp's rules, pure: the steps, when a step is within the limits, and the capacity (the last step
within them). The Locust master judges each step with them as it ends (to stop the ramp); the report applies the
same rules to every record once the run is over (bench/capacity/)."""

from __future__ import annotations

import i18n
from reports.run_words import ended_by, step_why

from ..metrics import percentile

DEFAULT_STEPS = (2, 4, 8, 16, 32, 64)
P95_LIMIT_MS = 500.0
ERROR_LIMIT = 0.01  # errors over 1 % of a step's interactions
OPEN_FAILED = "could not open"


def step_type(k: int) -> str:
    """Locust's request_type of step k's interactions: Locust's own stats then split by step."""
    return f"step {k:02d}"


def ramp_steps(steps: list[int] | None, max_sessions: int) -> list[int]:
    """The sessions of each step, up to max_sessions: the given steps, or doubling from 2 (2, 4, 8, ...)."""
    if steps:
        return [s for s in sorted(set(steps)) if s <= max_sessions] or [max_sessions]
    out, n = [], DEFAULT_STEPS[0]
    while n <= max_sessions:
        out.append(n)
        n *= 2
    return out or [max_sessions]


def within(p95_ms, error_rate, attempts: int, p95_limit_ms: float, error_limit: float) -> tuple[bool, str]:
    """Whether a step is within the limits, and why not (in English: report.json's)."""
    with i18n.speaking("en"):
        return step_why(p95_ms, error_rate, attempts, p95_limit_ms, error_limit)


def capacity(steps: list[dict]) -> tuple[int, str]:
    """The capacity: the sessions of the last step of the unbroken run of steps within the limits (0: not even
    the first), and how the ramp ended."""
    with i18n.speaking("en"):
        return ended_by(steps)


class Judge:
    """The master's running figures per step, from the workers' messages as they arrive."""

    def __init__(self, cfg: dict):
        self.p95_limit = float(cfg.get("p95_limit_ms", P95_LIMIT_MS))
        self.error_limit = float(cfg.get("error_limit", ERROR_LIMIT))
        self.ms: dict[int, list[float]] = {}
        self.attempts: dict[int, int] = {}
        self.failed: dict[int, int] = {}
        self.warm = 0

    def see(self, data: dict) -> None:
        k, kind, a = data.get("step"), data.get("k"), data.get("a") or {}
        if k is not None and k < 0 and kind == "round":
            self.warm += 1  # the warm-up's rounds: counted (it ends on them), never judged
        if k is None or k < 0:  # the load scenario, or the warm-up
            return
        if kind == "round":
            if a.get("interaction") is None:
                return
            self.attempts[k] = self.attempts.get(k, 0) + 1
            if a.get("ms") is not None:
                self.ms.setdefault(k, []).append(a["ms"])
            if a.get("failed"):
                self.failed[k] = self.failed.get(k, 0) + 1
        elif kind == "gave_up" or (kind == "error" and OPEN_FAILED in str(a.get("message", ""))):
            self.attempts[k] = self.attempts.get(k, 0) + 1
            self.failed[k] = self.failed.get(k, 0) + 1

    def close(self, k: int, users: int) -> dict:
        ms = self.ms.get(k, [])
        attempts = self.attempts.get(k, 0)
        rate = self.failed.get(k, 0) / attempts if attempts else 0.0
        p95 = percentile(ms, 95)
        ok, why = within(p95, rate, attempts, self.p95_limit, self.error_limit)
        return {"k": k, "users": users, "interactions": attempts, "p95_ms": p95, "error_rate": round(rate, 4),
                "within": ok, "why": why}
