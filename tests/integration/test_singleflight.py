"""Single-flight across processes: 16 concurrent callers over 4 processes compute once."""

import multiprocessing
import os
import threading
import time

import pytest

from stores import ComputeFailed, open_store, single_flight
from tests.support import wait_until


def _caller(settings, key, barrier, results):
    store = open_store(settings)

    def compute():
        store.incr("computations")
        time.sleep(0.5)
        return f"value-from-{os.getpid()}".encode()

    def one():
        barrier.wait()
        value, _ = single_flight(store, key, compute, timeout=30)
        results.put(value)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


@pytest.fixture
def settings(backend, tmp_path):
    """A store of the test's own: a fresh directory, or the private Redis emptied."""
    settings = backend.settings(tmp_path)
    if settings.redis_url:
        open_store(settings).client.flushdb()
    return settings


def test_sixteen_concurrent_callers_in_four_processes_compute_once(settings):
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(16), ctx.Queue()
    processes = [ctx.Process(target=_caller, args=(settings, "cold", barrier, results)) for _ in range(4)]
    for p in processes:
        p.start()
    values = [results.get(timeout=60) for _ in range(16)]
    for p in processes:
        p.join(30)
    assert open_store(settings).get_int("computations") == 1
    assert len(set(values)) == 1


class Waiting:
    """The real store, as one caller uses it, noting the moment that caller found the lease taken:
    from then on it is waiting for the computing caller, not computing itself."""

    def __init__(self, store):
        self.store = store
        self.waiting = threading.Event()

    def __getattr__(self, name):
        return getattr(self.store, name)

    def add(self, key, value, ttl):
        added = self.store.add(key, value, ttl)
        if not added:
            self.waiting.set()
        return added


def test_waiters_see_the_computing_error(settings):
    store = open_store(settings)
    watched = Waiting(open_store(settings))
    started = threading.Event()

    def failing():
        started.set()
        # Fail only once the waiter is really waiting on this computation, however slow the machine.
        assert watched.waiting.wait(30), "the waiter never found the computation in flight"
        raise ValueError("the query timed out")

    outcome = []

    def waiter():
        assert started.wait(30)
        try:
            outcome.append(single_flight(watched, "bad", lambda: b"never", timeout=30))
        except ComputeFailed as exc:
            outcome.append(str(exc))

    thread = threading.Thread(target=waiter)
    thread.start()
    with pytest.raises(ValueError, match="timed out"):
        single_flight(store, "bad", failing)
    thread.join(60)
    assert not thread.is_alive(), "the waiter was still waiting 60 s after the computation failed"
    assert len(outcome) == 1 and "ValueError: the query timed out" in str(outcome[0]), outcome


def _die_while_computing(settings):
    store = open_store(settings)

    def compute():
        store.set("dying:started", b"1")
        # Die only once the other caller waits on this computation, however slow the machine.
        deadline = time.monotonic() + 30
        while store.get("dying:waited") is None and time.monotonic() < deadline:
            time.sleep(0.02)
        os._exit(1)  # the process vanishes mid-computation, as a killed worker would

    single_flight(store, "orphan", compute, lease=0.6)


def test_a_waiter_takes_over_when_the_computing_process_dies(settings):
    store = open_store(settings)
    watched = Waiting(open_store(settings))
    ctx = multiprocessing.get_context("spawn")
    dying = ctx.Process(target=_die_while_computing, args=(settings,))
    dying.start()
    wait_until(lambda: store.get("dying:started"), 30, message="the doomed computation to start")
    threading.Thread(target=lambda: watched.waiting.wait(30) and store.set("dying:waited", b"1"), daemon=True).start()
    value, computed_here = single_flight(watched, "orphan", lambda: b"from the waiter", timeout=20, lease=0.6)
    assert watched.waiting.is_set(), "the caller never found the doomed computation in flight"
    assert (value, computed_here) == (b"from the waiter", True)
    dying.join(10)
    assert dying.exitcode == 1
    assert single_flight(store, "orphan", lambda: b"again", lease=0.6) == (b"from the waiter", False)
