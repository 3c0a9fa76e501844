"""Cache + signal: the record of pages/cache_signal.py (strategies/__init__.py says what a record is).

Its texts and values are strategies/records/cache_signal.toml; this module adds only what must be code.
"""

from __future__ import annotations

import workload
from strategies.datafile import record


def _two_hosts(g) -> dict:
    """Stale reads of each store on the two-host run, by the names the figure's text uses."""
    slugs = ("cache-signal", "serverside", "session-cache", "session-files", "global-variable")
    return {slug.replace("-", "_"): g.stale(slug) for slug in slugs}


def _warm(g) -> dict:
    p50, measured = g.ms("cache-signal"), g.result("cache-signal") or {}
    return {"p50": p50, "computations": measured.get("computations", "unknown")}


# The page has its own fixed row count: the workload's default, wherever that is set.
STRATEGY = record(__name__, spec={"fixed_rows": workload.DEFAULT_ROWS}, figures={40: _two_hosts, 70: _warm})
SPEC = STRATEGY.spec
