"""Live shared state: the record of pages/live_shared.py (the live page is live/pages/shared.py).

Its texts and values are strategies/records/live_shared.toml; this module adds only what must be code.
"""

from __future__ import annotations

from strategies.datafile import record


def _figure(g) -> dict:
    """Propagation to the other tabs, pushed and polled, from the push reference run."""
    return {kind + "_p95": g.push_ms("live-shared", kind, "propagation_ms_p95") for kind in ("push", "poll")}


STRATEGY = record(__name__, figures={36: _figure})
