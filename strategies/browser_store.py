"""Browser store: the record of pages/browser_store.py (strategies/__init__.py says what a record is).

Its texts and values are strategies/records/browser_store.toml; this module adds only what must be code.
"""

from __future__ import annotations

from strategies.datafile import record

STRATEGY = record(__name__, figures={60: lambda g: {"traffic": g.traffic("browser-store")}})
SPEC = STRATEGY.spec
