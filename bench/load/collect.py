"""The master's records file read back: every worker message replayed into one LoadStep per strategy (times in
seconds since the load began), with the ramp's steps, the master's verdicts and the step each event belongs to."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..session import StepData, candidates
from ..specs import Spec
from .driver import LoadStep
from .wire import replay


@dataclass
class Collected:
    t0: float | None  # the load's start (wall clock)
    end: float | None  # when the master quit (seconds since t0)
    steps: dict[str, LoadStep]
    ramp: list[dict] = field(default_factory=list)  # {"k", "users", "t" (s since t0), "strategy"}
    verdicts: list[dict] = field(default_factory=list)  # the master's own verdict at each step's end
    tags: dict[int, int] = field(default_factory=dict)  # id(RoundRecord) -> step
    nodes: dict = field(default_factory=dict)  # step (None: the load) -> the Locust workers whose rounds it holds
    requests: int = 0  # HTTP requests the sessions sent (rounds and page loads)
    events: int = 0


def collect(records: list[dict], specs: list[Spec], rows: int, scenario: str = "load") -> Collected:
    """Replay the records of one Locust run (ignoring strategies not in `specs`)."""
    by_slug = {s.slug: s for s in specs}
    t0 = next((r["t"] for r in records if r.get("type") == "start"), None)
    shift = t0 or 0.0
    steps: dict[str, LoadStep] = {}
    for spec in specs:
        step = StepData(spec, rows, scenario=scenario)
        step.candidates = candidates(spec, [rows])
        steps[spec.slug] = LoadStep(step)
    out = Collected(t0, None, steps)
    for item in records:
        kind = item.get("type")
        if kind == "step":
            out.ramp.append({"k": item["k"], "users": item["users"], "t": item["t"] - shift, "strategy": item.get("strategy")})
        elif kind == "judged":
            out.verdicts.append({**item, "t": item["t"] - shift})
        elif kind == "end":
            out.end = item["t"] - shift
        elif kind == "ev" and item.get("slug") in by_slug:
            _event(out, steps[item["slug"]], item, shift)
    return out


def _event(out: Collected, ls: LoadStep, item: dict, shift: float) -> None:
    out.events += 1
    k, a = item.get("step"), item.get("a") or {}
    record = replay(ls, item["k"], a, shift)
    if record is not None:
        out.nodes.setdefault(k, set()).add(item.get("w"))
        if k is not None:
            out.tags[id(record)] = k
        if record.interaction is not None:
            out.requests += len(record.interaction.calls)
    elif item["k"] == "loaded":
        out.requests += len((a.get("interaction") or {}).get("calls") or [])
    elif item["k"] in ("error", "gave_up") and k is not None:
        target = ls.errors if item["k"] == "error" else ls.unanswered
        target[-1]["step"] = k
