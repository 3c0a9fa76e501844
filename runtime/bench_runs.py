"""The benchmark runs the site keeps: the site's run (the operator's latest, what every browser and the home
catalogue show) and each visitor's own latest run. Read by the pages without loading the harness."""

from __future__ import annotations

import hashlib
import json

import reports
import stores
from reports.capacity import STORE_KEY as CAPACITY
from reports.capacity import is_capacity

LATEST = "benchmark:latest"  # the site's run (the operator's latest): what every browser is shown
VISITOR_RUN = "benchmark:visitor:"  # + a digest of the visitor id: that browser's own latest run
VISITOR_TTL = 6 * 3600


def _visitor_key(who: str) -> str:
    return VISITOR_RUN + hashlib.sha256(who.encode()).hexdigest()[:32]


def save(lab: stores.Lab, result: dict) -> None:
    """Keep result as the site's run (what every browser and the home catalogue show)."""
    reports.check(result)
    lab.store.set(LATEST, reports.to_json(result).encode())


def save_for(lab: stores.Lab, result: dict, who: str) -> None:
    """The operator's run becomes the site's; a visitor's is kept for that browser only."""
    if who == "operator":
        save(lab, result)
        return
    reports.check(result)
    lab.store.set(_visitor_key(who), reports.to_json(result).encode(), ttl=VISITOR_TTL)


def _read(lab: stores.Lab, key: str) -> dict | None:
    raw = lab.store.get(key)
    if raw is None:
        return None
    try:
        return reports.check(json.loads(raw))
    except (ValueError, reports.ReportError):
        return None


def latest(lab: stores.Lab) -> dict | None:
    """The site's run kept in the store, or None (none yet, or unreadable)."""
    return _read(lab, LATEST)


def mine(lab: stores.Lab, who: str | None) -> dict | None:
    """This browser's own latest run (a visitor's, by its visitor id), or None."""
    return _read(lab, _visitor_key(who)) if who else None


def latest_capacity(lab: stores.Lab) -> dict | None:
    """The capacity report the operator published (python -m bench --scenario capacity --publish), or None."""
    found = _read(lab, CAPACITY)
    return found if is_capacity(found) else None
