"""Everything a site holds stays under STATELAB_MAX_DATA_BYTES, each strategy under its share.

Issue 9, "everything a visitor can cause is bounded … by bytes": a real gunicorn site (4 workers,
embedded and Redis) with a 16 MB total is filled from many sessions through the pages' own
callbacks — session-cache, session-files and serverside each asked for far more than their
shares — and then measured from outside: the data directory's files (embedded) or the MEMORY
USAGE of every key in the site's own Redis database plus the files it still keeps on disk, per
strategy and in total. The sessions
squeezed out, and a value larger than a whole share, get the page's message naming the bound.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis

import stores
import workload
from stores import budget
from tests.callbacks import Callbacks

TOTAL = 16 * 2**20
# serverside gets less than its default share, so that its dozen distinct frames overflow it too.
SHARES = "serverside=0.1"
SESSIONS = 24
ROWS = 100_000  # ~650 KB of Arrow per copy: 24 copies are several times each share


@pytest.fixture(scope="module")
def site(backend, start_site):
    return start_site(workers=4, celery=False, compute_delay=0.0, max_data_bytes=TOTAL, data_shares=SHARES,
                      **backend.changes(database=11))


def fill(site, cb: Callbacks, lab: stores.Lab) -> list[dict]:
    """Every session asks each strategy for a 100,000-row result (serverside: every content)."""

    def one(n: int) -> dict:
        session_id = lab.new_session()
        region = workload.REGIONS[n % 4]
        cache = cb.call("session-cache__table.children", {
            "session-cache__fetch.n_clicks": 1, "session-cache__region.value": region,
            "session-cache__rows.value": ROWS, "session-cache__session.data": session_id})
        files = cb.call("session-files__signal.data", {
            "session-files__save.n_clicks": 1, "session-files__region.value": region,
            "session-files__rows.value": ROWS, "session-files__session.data": session_id})
        rows = (1_000, 10_000, 100_000)[n % 3]
        key = cb.call("serverside__key.data", {
            "serverside__rows.value": str(rows), "serverside__region.value": region,
            "serverside__session.data": session_id})
        for answer in (cache, files, key):
            assert answer.status_code == 200, answer.text[:300]
        return {"session": session_id, "key": key.json()["response"]["serverside__key"]["data"]}

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, range(SESSIONS)))


def disk_bytes(site) -> dict[str, int]:
    """Bytes of the files under the data directory, by what holds them (the logs are not data)."""
    held: dict[str, int] = {}
    for path in Path(site.settings.data_dir).rglob("*"):
        if path.is_file() and not path.is_relative_to(site.log_dir):
            top = path.relative_to(site.settings.data_dir).parts[0]
            held[top] = held.get(top, 0) + path.stat().st_size
    return held


def redis_bytes(site) -> dict[str, int]:
    """MEMORY USAGE of every key in the site's database, by the strategy prefix after the namespace."""
    client = redis.Redis.from_url(site.settings.redis_url)
    held: dict[str, int] = {}
    for key in client.scan_iter(count=1000):
        name = key.decode(errors="replace").removeprefix("statelab:").split(":", 1)[0]
        held[name] = held.get(name, 0) + int(client.memory_usage(key, samples=0) or 0)
    client.close()
    return held


def test_many_sessions_keep_every_strategy_under_its_share_and_the_site_under_the_total(site):
    settings = site.settings
    lab = stores.Lab(settings)
    cb = Callbacks(site)
    sessions = fill(site, cb, lab)

    store = stores.open_store(settings)
    bounds = {name: budget.bound(settings, name) for name in ("serverside", "session-cache", "session-files")}
    held = {"serverside": store.bytes_held("serverside:"), "session-cache": store.bytes_held("session-cache:")}
    files = Path(settings.data_dir) / "session-files"
    held["session-files"] = sum(p.stat().st_size for p in files.iterdir() if p.is_file())
    asked = SESSIONS * 651_328  # what one 100,000-row copy per session would have taken
    for name, bound in bounds.items():
        assert 0 < held[name] <= bound, f"{name} holds {held[name]:,} B, its bound is {bound:,} B"
    assert held["session-cache"] < asked / 3 and held["session-files"] < asked / 3, "the bounds must have bitten"

    # Redis mode still keeps session files (and nothing else) on the disk: both count.
    total = disk_bytes(site) | ({f"redis:{k}": v for k, v in redis_bytes(site).items()} if settings.redis_url else {})
    assert sum(total.values()) <= TOTAL, f"the site holds {sum(total.values()):,} B in all, the bound is {TOTAL:,} B: {total}"
    print(f"{settings.mode}: held {held}, bounds {bounds}, total {sum(total.values()):,} B of {TOTAL:,} ({total})")

    # Where it bites, the page says which bound: the first sessions were squeezed out.
    first = sessions[0]
    scatter = cb.call("session-cache__graph.figure", {
        "session-cache__fruit.value": "figs", "session-cache__region.value": "north",
        "session-cache__rows.value": ROWS, "session-cache__session.data": first["session"]},
        changed=["session-cache__fruit.value"])
    assert "STATELAB_MAX_DATA_BYTES" in scatter.text and "evicted" in scatter.text, scatter.text[:600]
    table = cb.call("session-files__table.children", {
        "session-files__signal.data": "saved", "session-files__session.data": first["session"]})
    assert "STATELAB_MAX_DATA_BYTES" in table.text and "No data for this session" in table.text, table.text[:600]
    summary = cb.call("serverside__summary.children", {"serverside__key.data": first["key"]})
    assert "Expired key" in summary.text and "STATELAB_MAX_DATA_BYTES" in summary.text, summary.text[:600]

    # A value larger than a whole share is refused, with the bound, and nothing is written for it.
    before = store.bytes_held("serverside:")
    big = cb.call("serverside__key.data", {
        "serverside__rows.value": "1000000", "serverside__region.value": "east",
        "serverside__session.data": lab.new_session()})
    assert big.status_code == 200 and "STATELAB_MAX_DATA_BYTES" in big.text and "not stored" in big.text, big.text[:600]
    assert store.bytes_held("serverside:") <= max(before, bounds["serverside"])
    store.close()


def test_telemetry_and_job_results_are_sized_by_their_shares(site):
    """The capped log's cap and the job-result cache's size limit come from the same budget."""
    settings = site.settings
    assert budget.telemetry_cap(settings) * budget.RECORD_BYTES <= budget.bound(settings, "telemetry")
    bounds = [budget.bound(settings, name) for name in settings.shares]
    assert sum(bounds) <= settings.max_data_bytes
