"""Session cache: the record of pages/session_cache.py (strategies/__init__.py says what a record is).

Its texts and values are strategies/records/session_cache.toml; this module adds only what must be code.
"""

from __future__ import annotations

from strategies.datafile import record

STRATEGY = record(__name__)
SPEC = STRATEGY.spec
