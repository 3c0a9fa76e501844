"""Live shared state: the record of pages/live_shared.py (the live page is live/shared.py).

Its texts and values are strategies/records/live_shared.toml; this module adds only what must be code.
"""

from __future__ import annotations

from strategies.datafile import record

STRATEGY = record(__name__)
