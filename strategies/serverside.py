"""Server-side store, key in the browser: the record of pages/serverside.py (strategies/__init__.py says what a record is).

Its texts and values are strategies/records/serverside.toml; this module adds only what must be code.
"""

from __future__ import annotations

from strategies.datafile import record


def _figure(g) -> dict:
    """Both server-side stores' p50 and traffic, beside what a dcc.Store would carry."""
    words = {f"{slug.replace('-', '_')}_p50": g.ms(slug) for slug in ("serverside", "session-cache")}
    words |= {f"{slug.replace('-', '_')}_traffic": g.traffic(slug) for slug in ("serverside", "session-cache", "browser-store")}
    return words


STRATEGY = record(__name__, figures={20: _figure})
SPEC = STRATEGY.spec
