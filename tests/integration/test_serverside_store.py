"""The serverside strategy's store on a real DiskStore and a real Redis: the same tests for both."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pandas as pd
import pytest

import stores
import workload
from stores import serverside, telemetry
from tests.support import wait_until

SECRET = "serverside-test-secret"
SLUG = "serverside"
KEYS = serverside.Keys(SLUG)


def produce(svs, session_id, rows, region):
    """What the page does: it names the content and hands the workload's compute down to the store."""
    return svs.produce(session_id, f"v1.{rows}.{region}",
                       lambda: workload.expensive_step(rows, region, delay=svs.lab.settings.compute_delay))


def namespaced_store(settings, namespace: str) -> stores.Store:
    """The backend's store; in Redis under a namespace of the test's own, since every test of the
    session shares the private redis-server (a fresh directory is the test's own already)."""
    if settings.redis_url:
        return stores.RedisStore(settings.redis_url, timeout=settings.redis_timeout, namespace=namespace)
    return stores.open_store(settings)


def make_lab(settings, **changes) -> stores.Lab:
    settings = settings.replace(secret=SECRET, compute_delay=0.0, **changes)
    return stores.Lab(settings, namespaced_store(settings, f"t{time.time_ns()}:"))


def _crowd_member(settings, namespace, barrier, results, rows, region, threads):
    """One process of the stampede: `threads` sessions asking for the same cold value at once."""
    settings = settings.replace(secret=SECRET, compute_delay=1.0)
    lab = stores.Lab(settings, namespaced_store(settings, namespace))
    svs = serverside.ServersideStore(lab, SLUG)

    def ask():
        session_id = lab.new_session()
        barrier.wait(60)
        try:
            made = produce(svs, session_id, rows, region)
            entry = svs.open(made.key)
            results.put(("ok", made.computed, len(svs.frame(entry))))
        except Exception as exc:  # reported to the test, which fails on it
            results.put(("error", f"{type(exc).__name__}: {exc}", 0))

    workers = [threading.Thread(target=ask) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)


class TestServersideStore:
    @pytest.fixture
    def settings(self, backend, tmp_path):
        return backend.settings(tmp_path)

    @pytest.fixture
    def lab(self, settings):
        lab = make_lab(settings)
        yield lab
        lab.store.close()

    def test_round_trip_is_arrow_and_the_browser_key_is_small(self, lab):
        svs = serverside.ServersideStore(lab, SLUG)
        made = produce(svs, lab.new_session(), 20_000, "east")
        assert made.computed and made.cold
        assert len(made.key) < 100 and made.key.startswith("v1.20000.east@")
        raw = lab.store.get(KEYS.frame + made.content)
        assert raw[:4] == b"\xff\xff\xff\xff", "frames are Arrow IPC streams"
        assert not raw.startswith(b"\x80"), "no pickle in this path"
        expected = workload.expensive_step(20_000, "east")
        # A fresh instance (another worker: nothing in memory) reads and decodes from the store.
        other = serverside.ServersideStore(lab, SLUG)
        pd.testing.assert_frame_equal(other.frame(other.open(made.key)), expected, check_dtype=False)
        # The same content for a second session is shared, not recomputed.
        again = produce(svs, lab.new_session(), 20_000, "east")
        assert not again.computed and not again.cold and again.content == made.content
        assert telemetry.counter(lab.store, "compute", SLUG) == 1

    def test_a_view_is_built_once_and_read_from_the_store_by_other_workers(self, lab):
        built = []

        def build(frame):
            built.append(len(frame))
            return {"rows": len(frame), "revenue": round(float(frame["revenue"].sum()), 2)}

        svs = serverside.ServersideStore(lab, SLUG)
        made = produce(svs, lab.new_session(), 30_000, "north")
        first = svs.view(svs.open(made.key), ("summary",), build)
        assert built == [first["rows"]]
        # Another worker: no frame or view in memory. It reads the view, never the frame.
        other = serverside.ServersideStore(lab, SLUG)
        assert other.view(other.open(made.key), ("summary",), build) == first
        assert built == [first["rows"]], "the second worker rebuilt a view that was in the store"
        assert len(other.frames) == 0, "the second worker decoded the frame to answer with a stored view"
        assert other.stats()["views"] == 1 and other.stats()["view_hits"] == 1
        # A view's name becomes part of a store key: anything but short plain words is refused.
        for name in [("summary", "../frame"), ("Density",), (), ("x" * 30,)]:
            with pytest.raises(serverside.KeyRejected):
                other.view(other.open(made.key), name, build)
        assert lab.store.get(KEYS.view_key(made.content, ("summary",))) is not None

    def test_bad_keys_are_refused_clearly(self, lab):
        svs = serverside.ServersideStore(lab, SLUG)
        made = produce(svs, lab.new_session(), 1_000, "west")
        content, _, session_id = made.key.partition("@")
        with pytest.raises(serverside.KeyRejected):
            svs.open("SERVERSIDE_{}")
        with pytest.raises(stores.sessions.InvalidSessionId):
            svs.open(f"{content}@{session_id[:-1]}0" if not session_id.endswith("0") else f"{content}@{session_id[:-1]}1")
        with pytest.raises(serverside.EntryExpired):
            svs.open(f"{content}@{lab.new_session()}")  # a valid session that never asked for it
        assert svs.forget(made.key)
        with pytest.raises(serverside.EntryExpired):
            svs.open(made.key)

    def test_ttl_is_refreshed_on_read(self, settings):
        lab = make_lab(settings)
        ttl = 1.5
        svs = serverside.ServersideStore(lab, SLUG, ttl=ttl)
        made = produce(svs, lab.new_session(), 1_000, "north")
        reader = serverside.ServersideStore(lab, SLUG, ttl=ttl)  # reads like another worker
        deadline = time.monotonic() + 3 * ttl
        reads = 0
        while time.monotonic() < deadline:  # three TTLs long, reading every fifth of one
            entry = reader.open(made.key)
            assert len(reader.frame(entry)) > 0
            reads += 1
            time.sleep(ttl / 5)
        assert reads >= 10
        # Left alone, the entry and then the frame lapse.
        wait_until(lambda: lab.store.get(KEYS.entry_key(entry.session_id, entry.content)) is None, 3 * ttl, message="entry to expire")
        with pytest.raises(serverside.EntryExpired):
            reader.open(made.key)
        wait_until(lambda: lab.store.get(KEYS.frame + made.content) is None, 3 * ttl, message="frame to expire")
        lab.store.close()

    def test_bound_holds_through_200_sessions_and_spares_the_requester(self, settings):
        bound = 160_000
        lab = make_lab(settings, serverside_max_bytes=bound)
        svs = serverside.ServersideStore(lab, SLUG, seen_every=0)
        regular = produce(svs, lab.new_session(), 3_000, "south")  # a session that keeps reading
        keys = []
        for number in range(200):
            made = produce(svs, lab.new_session(), 1_000 + number, workload.REGIONS[number % 4])
            keys.append(made.key)
            held = lab.store.bytes_held(KEYS.prefix)
            assert held <= bound, f"{held} bytes held after session {number}, bound {bound}"
            entry = svs.open(made.key)  # the requester's entry survived its own eviction pass
            assert len(svs.frame(entry)) > 0
            # Views count against the bound too, and go with their frame.
            svs.view(entry, ("trend", "apples"), lambda df: {"points": df["y"].round(1).tolist()[:400]})
            svs.open(regular.key)  # the regular reader stays recent
        evicted = telemetry.counter(lab.store, "evict", SLUG)
        assert evicted >= 100, f"only {evicted} entries evicted: the bound was never exercised"
        with pytest.raises(serverside.EntryExpired):
            svs.open(keys[0])  # the oldest sessions went first
        svs.open(keys[-1])
        svs.open(regular.key)
        views = {k[len(KEYS.view) :].rpartition(":")[0] for k in lab.store.scan(KEYS.view)}
        frames = {k[len(KEYS.frame) :] for k in lab.store.scan(KEYS.frame)}
        assert views and views <= frames | {made.content}, "views outlived their frames"
        lab.store.close()

    def test_a_crowd_computes_a_cold_value_once(self, settings):
        ctx = multiprocessing.get_context("spawn")
        barrier, results = ctx.Barrier(16), ctx.Queue()
        namespace = f"crowd{time.time_ns()}:"
        processes = [
            ctx.Process(target=_crowd_member, args=(settings, namespace, barrier, results, 40_000, "west", 4))
            for _ in range(4)
        ]
        for process in processes:
            process.start()
        outcomes = [results.get(timeout=120) for _ in range(16)]
        for process in processes:
            process.join(30)
        errors = [o for o in outcomes if o[0] != "ok"]
        assert not errors, errors
        assert sum(1 for o in outcomes if o[1]) == 1, "exactly one of the 16 sessions computed"
        assert len({o[2] for o in outcomes}) == 1
        store = namespaced_store(settings, namespace)
        assert telemetry.counter(store, "compute", SLUG) == 1
        store.close()

