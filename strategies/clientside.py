"""Clientside callbacks on data loaded once: the record of pages/clientside.py (strategies/__init__.py says what a record is).

Its texts and values are strategies/records/clientside.toml; this module adds only what must be code.
"""

from __future__ import annotations

from strategies.datafile import record


def _request_load(payload: dict) -> dict:
    """The clientside page's requestLoad, in Python: ask the server for the chosen row count."""
    state = {s["id"]: s.get("value") for s in payload.get("state") or []}
    return {"clientside__request": {"data": {"rows": int(state.get("clientside__rows") or 0), "sweep": [], "seq": 1}}}


STRATEGY = record(__name__, spec={"clientside": {"clientside__request.data": _request_load}})
SPEC = STRATEGY.spec
