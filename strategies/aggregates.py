"""Aggregates up front: the record of pages/aggregates.py (strategies/__init__.py says what a record is).

Its texts and values are strategies/records/aggregates.toml; this module adds only what must be code.
"""

from __future__ import annotations

from strategies.datafile import record

STRATEGY = record(__name__, figures={
    80: lambda g: {"aggregates": g.traffic("aggregates"), "hidden_div": g.traffic("hidden-div")},
})
SPEC = STRATEGY.spec
