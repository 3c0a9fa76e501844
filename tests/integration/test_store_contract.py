"""The store contract, written once; the disk and the Redis store pass the very same tests."""

import os
import signal
import threading
import time

import pytest

from serve import free_port
from stores import CorruptValue, LockTimeout, RedisStore, StoreUnavailable, open_store
from tests.support import wait_until


class TestStoreContract:
    @pytest.fixture
    def store(self, backend, tmp_path):
        """The backend's store as the site opens it: a fresh directory, or the private Redis emptied."""
        store = open_store(backend.settings(tmp_path))
        if backend.redis_url:
            store.client.flushdb()
        yield store
        store.close()

    def test_set_get_delete(self, store):
        assert store.get("k") is None
        store.set("k", b"\x00value\xff")
        assert store.get("k") == b"\x00value\xff"
        assert store.delete("k") is True
        assert store.delete("k") is False
        assert store.get("k") is None

    def test_ttl_expires_and_touch_renews(self, store):
        store.set("short", b"1", ttl=0.3)
        store.set("renewed", b"2", ttl=0.3)
        assert store.touch("renewed", 5) is True
        wait_until(lambda: store.get("short") is None, 5, message="the short key to expire")
        assert store.get("renewed") == b"2"
        assert store.touch("missing", 5) is False

    def test_add_only_when_absent(self, store):
        assert store.add("once", b"a") is True
        assert store.add("once", b"b") is False
        assert store.get("once") == b"a"

    def test_counters_are_atomic_across_threads(self, store):
        def bump():
            for _ in range(50):
                store.incr("n")

        threads = [threading.Thread(target=bump) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert store.get_int("n") == 200
        assert store.incr("n", 5) == 205

    def test_corrupt_counter_is_named(self, store):
        store.set("not-a-number", b"abc")
        with pytest.raises(CorruptValue, match="'not-a-number' holds"):
            store.get_int("not-a-number")

    def test_compare_and_act(self, store):
        store.set("lease", b"mine")
        assert store.compare_touch("lease", b"theirs", 5) is False
        assert store.compare_delete("lease", b"theirs") is False
        assert store.compare_touch("lease", b"mine", 5) is True
        assert store.compare_delete("lease", b"mine") is True
        assert store.get("lease") is None

    def test_prefix_scan_and_bytes_held(self, store):
        store.set("a:1", b"x" * 100)
        store.set("a:2", b"y" * 50)
        store.set("a*:glob", b"z" * 7)
        store.set("b:1", b"z" * 999)
        store.set("a:gone", b"q", ttl=0.2)
        wait_until(lambda: store.get("a:gone") is None, 5, message="expiry")
        assert sorted(store.scan("a:")) == ["a:1", "a:2"]
        assert sorted(store.scan("a*")) == ["a*:glob"]
        assert store.size("a:1") == 100
        assert store.size("missing") == 0
        assert store.bytes_held("a:") == 150

    def test_lock_excludes_and_expires(self, store):
        with store.lock("job", ttl=5), pytest.raises(LockTimeout, match="still held"), store.lock("job", wait=0.2):
            pass
        with store.lock("job", wait=0.2):
            pass
        # A holder that dies without releasing blocks others only until the TTL.
        store.add("lock:dead", b"token", ttl=0.3)
        started = time.monotonic()
        with store.lock("dead", wait=5):
            assert time.monotonic() - started < 3


def test_redis_that_is_not_there_fails_fast_with_a_clear_message():
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0", timeout=0.5)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=r"Redis at redis://127\.0\.0\.1:\d+/0 did not answer within 0\.5 s"):
        store.get("anything")
    assert time.monotonic() - started < 2


def test_a_hung_redis_times_out_instead_of_blocking(redis_server):
    store = RedisStore(redis_server.url, timeout=0.5)
    store.set("k", b"v")
    os.kill(redis_server.process.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="did not answer"):
            store.get("k")
        assert time.monotonic() - started < 2
    finally:
        os.kill(redis_server.process.pid, signal.SIGCONT)
    wait_until(lambda: _answers(store), 5, message="Redis to answer again after SIGCONT")
    assert store.get("k") == b"v"


def _answers(store):
    try:
        store.ping()
        return True
    except StoreUnavailable:
        return False
