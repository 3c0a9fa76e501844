"""One total byte bound on everything the site holds, and each strategy's share of it.

STATELAB_MAX_DATA_BYTES is the total; config.DEFAULT_SHARES (or STATELAB_DATA_SHARES) splits it by
the store prefix a strategy writes under, and the shares add up to at most 1, so the bounds add up
to at most the total. Each holder enforces its own bound the way that fits it:

- serverside, session-cache, session-files hold a copy per input or per session: the least recently
  used others are evicted to make room, and a single value larger than the whole bound is refused;
- telemetry is a capped log: its cap is lowered so that cap × RECORD_BYTES fits its share;
- background (embedded): Dash's job-result cache is a diskcache with its share as size_limit.

Messages that a bound produces name it (`describe`), so a visitor told "evicted" or "refused" reads
which bound and how large it is.
"""

from __future__ import annotations

from config import Settings
from reports.fmt import human_bytes

from .base import StoreError

# A telemetry record as stored, at most (its text fields are cut to fit): what the cap is sized by.
RECORD_BYTES = 512


class OverBudget(StoreError):
    """A value larger than its strategy's whole share of the data bound: refused, nothing written."""


def bound(settings: Settings, name: str) -> int:
    """Bytes `name` (a key of config.DEFAULT_SHARES) may hold."""
    share = int(settings.max_data_bytes * settings.shares[name])
    if name == "serverside":  # its older, separate setting still applies when it is the smaller
        return min(share, settings.serverside_max_bytes)
    return share


def describe(settings: Settings, name: str) -> str:
    """The bound in words: "4.8 MB (serverside's share of STATELAB_MAX_DATA_BYTES = 16.0 MB)"."""
    return f"{human_bytes(bound(settings, name))} ({name}'s share of STATELAB_MAX_DATA_BYTES = {human_bytes(settings.max_data_bytes)})"


def telemetry_cap(settings: Settings) -> int:
    """Records the telemetry log keeps: STATELAB_TELEMETRY_MAX_RECORDS, lowered to fit its share."""
    return max(1, min(int(settings.telemetry_max_records), bound(settings, "telemetry") // RECORD_BYTES))
