"""SessionData: per-session frames in the (real, on-disk) store, bounded and expiring."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from stores import DiskStore, sessions
from stores.sessiondata import NoSessionData, SessionData
from stores.sessions import InvalidSessionId
from tests.support import wait_until

SECRET = b"unit-test-secret-for-session-data"


def check(session_id):
    return sessions.validate(session_id, SECRET)


@pytest.fixture
def store(tmp_path):
    store = DiskStore(tmp_path / "store")
    yield store
    store.close()


class Counter:
    def __init__(self, delay: float = 0.0):
        self.runs, self.delay = 0, delay

    def __call__(self, rows: int = 4):
        def compute():
            self.runs += 1
            time.sleep(self.delay)
            return pd.DataFrame({"x": range(rows)})

        return compute


def test_first_fetch_computes_and_later_fetches_read_the_store(store):
    data, compute = SessionData(store, check), Counter()
    sid = sessions.mint(SECRET)
    first = data.fetch(sid, {"region": "east"}, compute())
    second = data.fetch(sid, {"region": "east"}, compute())
    assert (first.computed, second.computed, compute.runs) == (True, False, 1)
    assert second.meta["computed_at"] == first.meta["computed_at"] and second.meta["bytes"] > 0
    assert list(store.scan("session-cache:")) and all(k.startswith("session-cache:") for k in store.scan("session-cache:"))
    changed = data.fetch(sid, {"region": "west"}, compute(9))
    assert changed.computed and len(changed.frame) == 9 and compute.runs == 2


def test_sessions_are_isolated(store):
    data, compute = SessionData(store, check), Counter()
    alice, bob = sessions.mint(SECRET), sessions.mint(SECRET)
    data.fetch(alice, {"region": "east"}, compute(2))
    with pytest.raises(NoSessionData, match="no data"):
        data.load(bob)
    data.fetch(bob, {"region": "east"}, compute(5))
    assert len(data.load(alice)[0]) == 2 and len(data.load(bob)[0]) == 5


def test_forged_ids_store_nothing(store):
    data, compute = SessionData(store, check), Counter()
    real = sessions.mint(SECRET)
    for forged in (real.split(".")[0], real[:-1] + ("0" if real[-1] != "0" else "1"), "../x", None, "x" * 10_000):
        with pytest.raises(InvalidSessionId):
            data.fetch(forged, {"region": "east"}, compute())
    assert compute.runs == 0 and list(store.scan("session-cache:")) == []


def test_two_outputs_of_one_session_compute_once(store):
    data, compute = SessionData(store, check), Counter(delay=0.3)
    sid = sessions.mint(SECRET)
    results = []
    threads = [threading.Thread(target=lambda: results.append(data.fetch(sid, {"r": 1}, compute()))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert compute.runs == 1 and sorted(r.computed for r in results) == [False, False, True]


def test_least_recently_used_other_sessions_are_evicted(store):
    evicted = []
    data, compute = SessionData(store, check, threshold=2, on_evict=evicted.append), Counter()
    a, b, c = (sessions.mint(SECRET) for _ in range(3))
    data.fetch(a, {"r": 1}, compute())
    data.fetch(b, {"r": 1}, compute())
    data.load(a)  # a is now more recently used than b
    third = data.fetch(c, {"r": 1}, compute())
    assert third.evicted == 1 and evicted == [1]
    assert set(data.sessions()) == {a.split(".")[0], c.split(".")[0]}
    with pytest.raises(NoSessionData, match="evicted"):
        data.load(b)
    assert data.fetch(b, {"r": 1}, compute()).computed  # b comes back by recomputing, evicting a
    assert set(data.sessions()) == {b.split(".")[0], c.split(".")[0]}


def test_the_session_being_served_is_never_evicted(store):
    data, compute = SessionData(store, check, threshold=1), Counter()
    a, b = sessions.mint(SECRET), sessions.mint(SECRET)
    data.fetch(a, {"r": 1}, compute())
    got = data.fetch(b, {"r": 1}, compute())
    assert got.evicted == 1 and len(data.load(b)[0]) == 4


def test_session_data_expires_after_its_ttl(store):
    data = SessionData(store, check, ttl=0.4)
    sid = sessions.mint(SECRET)
    data.fetch(sid, {"r": 1}, Counter()())

    # Poll without reading the data: a read is a use, and a use renews the TTL.
    wait_until(lambda: not data.sessions() and data.bytes_held() == 0, timeout=5, message="the session's data to expire")
    with pytest.raises(NoSessionData, match="expired"):
        data.load(sid)
