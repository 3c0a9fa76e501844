"""What a Locust worker sends its master about one session, and how the records are read back.

A worker's sink (locustfile.Shipper) turns each call a SessionDriver makes on its sink — joined, loaded, round,
error, gave_up, reset, reload, held — into one JSON-able message; the master appends it as one line of the run's
records file; collect.py replays the lines into LoadSteps (the same calls, on the analysis side)."""

from __future__ import annotations

from dataclasses import asdict

from ..dashclient import Call, Interaction
from ..session import RoundRecord


def interaction_out(interaction: Interaction | None) -> dict | None:
    return None if interaction is None else asdict(interaction)


def interaction_in(data: dict | None) -> Interaction | None:
    if data is None:
        return None
    return Interaction(calls=[Call(**c) for c in data.get("calls", [])], ms=data.get("ms", 0.0),
                       skipped_clientside=data.get("skipped_clientside", 0), errors=list(data.get("errors", [])))


def frozen(value):
    """JSON gives lists where the reads had tuples (region, rows): back to tuples, so they compare and hash."""
    if isinstance(value, list):
        return tuple(frozen(v) for v in value)
    return value


def round_out(record: RoundRecord, t0: float, t1: float, expected, shown: list[str]) -> dict:
    return {"session": record.session, "round": record.round, "interaction": interaction_out(record.interaction),
            "checks": [[e, g] for e, g in record.checks], "t0": t0, "t1": t1, "expected": expected, "shown": shown}


def round_in(a: dict, shift: float) -> tuple[RoundRecord, float, float, object, list[str]]:
    interaction = interaction_in(a["interaction"])
    if interaction is not None:
        for call in interaction.calls:
            call.started -= shift
    record = RoundRecord(a["session"], a["round"], interaction, [(frozen(e), frozen(g)) for e, g in a["checks"]])
    return record, a["t0"] - shift, a["t1"] - shift, frozen(a["expected"]), list(a.get("shown") or [])


def replay(ls, kind: str, a: dict, shift: float):
    """Apply one worker message to a LoadStep (times shifted from wall clock to seconds since the load began).
    Returns the RoundRecord of a round (None for the other kinds)."""
    if kind == "round":
        record, t0, t1, expected, shown = round_in(a, shift)
        ls.round(record, t0, t1, expected, shown)
        return record
    if kind == "error":
        ls.error(a["t0"] - shift, a["t1"] - shift, a["session"], a["message"])
    elif kind == "gave_up":
        ls.gave_up(a["t0"] - shift, a["session"], a["why"])
    elif kind == "joined":
        ls.joined(a["session"])
    elif kind == "loaded":
        ls.loaded(interaction_in(a["interaction"]))
    elif kind == "held":
        ls.held(a["nbytes"])
    elif kind == "reset":
        ls.reset()
    elif kind == "reload":
        ls.reload()
    return None
