"""The benchmark's read-only window on the server: telemetry counters and bytes held.

The harness reads it through a callback of the /benchmark page (so it works the same
for a site it started, a site at --url, several hosts on one Redis, and the page's own
background job). Only registered strategy slugs and a fixed list of data folders are
answered; nothing is written.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

import dash

import stores
from stores import telemetry

KINDS = ("compute", "hit", "miss", "evict")
# Data-directory folders a strategy keeps server-side data in (the probe answers no other path).
DIRS = ("session-files", "flask-cache")
BASELINE = "baseline-noop"
SITE_KEY = "benchmark:site"
MAX_SLUGS = 32


def known_slugs() -> set[str]:
    slugs = {BASELINE}
    for page in dash.page_registry.values():
        if page.get("strategy"):
            slugs.add(page["strategy"]["slug"])
    return slugs


def dir_bytes(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # removed while we walked: it holds nothing now
                total += os.stat(os.path.join(root, name)).st_size
    return total


def site_token(lab: stores.Lab) -> str:
    """A random name for this site's store, so a job can check it benchmarks its own site."""
    lab.store.add(SITE_KEY, secrets.token_hex(16).encode())
    value = lab.store.get(SITE_KEY)
    return value.decode() if value else ""


def flask_cache_bytes(lab: stores.Lab) -> int:
    if lab.settings.redis_url:
        return lab.store.bytes_held("fc:")  # flask-caching's keys share the store's Redis namespace
    return dir_bytes(lab.settings.data_dir / "flask-cache")


def snapshot(lab: stores.Lab, ask) -> dict:
    """Counters and bytes held for the asked strategies; unknown names are ignored."""
    ask = ask if isinstance(ask, dict) else {}
    known = known_slugs()
    slugs = [s for s in ask.get("slugs") or [] if isinstance(s, str) and s in known][:MAX_SLUGS]
    dirs = [d for d in ask.get("dirs") or [] if d in DIRS]
    answer = {
        "pid": os.getpid(),
        "site": site_token(lab),
        "counters": {kind: {slug: telemetry.counter(lab.store, kind, slug) for slug in slugs} for kind in KINDS},
        "bytes": {f"{slug}:": lab.store.bytes_held(f"{slug}:") for slug in slugs},
        "dirs": {d: (flask_cache_bytes(lab) if d == "flask-cache" else dir_bytes(lab.settings.data_dir / d)) for d in dirs},
    }
    if "flask-cache" in dirs:
        answer["flask_cache_bytes"] = answer["dirs"]["flask-cache"]
    return answer
