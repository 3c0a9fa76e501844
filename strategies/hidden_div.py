"""Hidden div: the record of pages/hidden_div.py (strategies/__init__.py says what a record is).

Its texts and values are strategies/records/hidden_div.toml; this module adds only what must be code.
"""

from __future__ import annotations

from strategies.datafile import record

STRATEGY = record(__name__)
SPEC = STRATEGY.spec
