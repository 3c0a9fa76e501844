"""Background callbacks: the record of pages/background.py (strategies/__init__.py says what a record is).

Its texts and values are strategies/records/background.toml; this module adds only what must be code.
"""

from __future__ import annotations

from strategies.datafile import record


def _figure(g) -> dict:
    p50, measured = g.ms("background"), g.result("background") or {}
    return {"p50": p50, "polls": measured.get("polls_per_interaction", "unknown"), "errors": measured.get("errors", "unknown")}


# A job reports the session's row count and no region: that is what a correct read shows.
STRATEGY = record(__name__, spec={"expect": lambda c, s: (None, c.rows)}, figures={30: _figure})
SPEC = STRATEGY.spec
