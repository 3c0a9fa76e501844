"""Partial updates with Patch: the record of pages/patch.py (strategies/__init__.py says what a record is).

Its texts and values are strategies/records/patch.toml; this module adds only what must be code.
"""

from __future__ import annotations

from strategies.datafile import record
from strategies.spec import Read


def _patch_count(value, ctx, candidates):
    return len(value) if isinstance(value, list) else None


# Each round appends 1,000 rows: the table a correct read shows has 1,000 per round so far.
STRATEGY = record(
    __name__,
    spec={"reads": (Read("table", "data", _patch_count),), "expect": lambda c, s: (c.round + 1) * 1000},
    figures={100: lambda g: {"traffic": g.traffic("patch")}},
)
SPEC = STRATEGY.spec
