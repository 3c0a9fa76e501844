"""Global variable: the record of pages/global_variable.py (strategies/__init__.py says what a record is).

Its texts and values are strategies/records/global_variable.toml; this module adds only what must be code.
"""

from __future__ import annotations

from strategies.datafile import record


def _read_only(g) -> dict:
    return {"p50": g.ms("global-variable"), "noop": g.ms("baseline-noop"),
            "stale_one_host": g.stale("global-variable", "default"), "stale_two_hosts": g.stale("global-variable")}


STRATEGY = record(__name__, figures={10: _read_only, 110: lambda g: {"stale": g.stale("global-variable")}})
SPEC = STRATEGY.spec
