"""Single-flight across processes: 16 concurrent callers over 4 processes compute once."""

import multiprocessing
import os
import threading
import time

import pytest

from stores import ComputeDied, ComputeFailed, DiskStore, RedisStore, single_flight
from stores.base import Store
from tests.conftest import wait_until


def _open(kind: str, where: str) -> Store:
    return DiskStore(where) if kind == "disk" else RedisStore(where)


def _caller(kind, where, key, barrier, results):
    store = _open(kind, where)

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


@pytest.fixture(params=["disk", "redis"])
def backend(request, tmp_path):
    if request.param == "disk":
        return "disk", str(tmp_path / "store")
    url = request.getfixturevalue("redis_url")
    RedisStore(url).client.flushdb()
    return "redis", url


def test_sixteen_concurrent_callers_in_four_processes_compute_once(backend):
    kind, where = backend
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(16), ctx.Queue()
    processes = [ctx.Process(target=_caller, args=(kind, where, "cold", barrier, results)) for _ in range(4)]
    for p in processes:
        p.start()
    values = [results.get(timeout=60) for _ in range(16)]
    for p in processes:
        p.join(30)
    assert _open(kind, where).get_int("computations") == 1
    assert len(set(values)) == 1


def test_waiters_see_the_computing_error(backend):
    kind, where = backend
    store = _open(kind, where)
    started = threading.Event()

    def failing():
        started.set()
        time.sleep(0.3)
        raise ValueError("the query timed out")

    errors = []

    def waiter():
        started.wait()
        try:
            single_flight(store, "bad", lambda: b"never", timeout=10)
        except ComputeFailed as exc:
            errors.append(str(exc))

    thread = threading.Thread(target=waiter)
    thread.start()
    with pytest.raises(ValueError, match="timed out"):
        single_flight(store, "bad", failing)
    thread.join(15)
    assert errors and "ValueError: the query timed out" in errors[0]


def _die_while_computing(kind, where):
    store = _open(kind, where)

    def compute():
        store.set("dying:started", b"1")
        time.sleep(1.0)
        os._exit(1)  # the process vanishes mid-computation, as a killed worker would

    single_flight(store, "orphan", compute, lease=0.6)


def test_a_computing_process_that_dies_is_reported_not_waited_on_forever(backend):
    kind, where = backend
    store = _open(kind, where)
    ctx = multiprocessing.get_context("spawn")
    dying = ctx.Process(target=_die_while_computing, args=(kind, where))
    dying.start()
    wait_until(lambda: store.get("dying:started"), 30, message="the doomed computation to start")
    started = time.monotonic()
    with pytest.raises(ComputeDied, match="stopped without a result"):
        single_flight(store, "orphan", lambda: b"x", timeout=20, lease=0.6)
    assert time.monotonic() - started < 5
    dying.join(10)
    assert dying.exitcode == 1
