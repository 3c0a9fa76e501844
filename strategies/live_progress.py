"""Progress pushed, not polled: the record of pages/live_progress.py (the live page is live/progress.py).

Its texts and values are strategies/records/live_progress.toml; this module adds only what must be code.
"""

from __future__ import annotations

from strategies.datafile import record

STRATEGY = record(__name__)
