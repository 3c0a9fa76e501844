"""Single-flight memoize: one computation per key across every process.

The first caller takes a lease (a lock with a TTL renewed by a heartbeat) and
computes; everyone else polls for the value. If the computing process dies, its
lease lapses and a waiter takes the lease over and computes, rather than waiting
forever or handing the visitor an error for a worker it never saw die; if it
raises, the waiters see its error message.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Callable

from .base import Store, StoreError


class SingleFlightError(StoreError):
    """A single-flight computation failed, died or took too long."""


class ComputeFailed(SingleFlightError):
    """The process computing the value raised."""


class ComputeTimeout(SingleFlightError):
    """The value did not appear within the timeout."""


class _Heartbeat(threading.Thread):
    def __init__(self, store: Store, key: str, token: bytes, lease: float):
        super().__init__(daemon=True)
        self.store, self.key, self.token, self.lease = store, key, token, lease
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.wait(self.lease / 3):
            # A failed beat is retried by the next; a lapsed lease only costs a recompute.
            with contextlib.suppress(StoreError):
                self.store.compare_touch(self.key, self.token, self.lease)

    def stop(self):
        self.stopped.set()


def single_flight(
    store: Store,
    key: str,
    compute: Callable[[], bytes],
    ttl: float | None = None,
    timeout: float = 60.0,
    lease: float = 3.0,
    poll: float = 0.02,
) -> tuple[bytes, bool]:
    """(value, computed_here) for key, computing it at most once across processes."""
    value_key, lease_key, error_key = f"sf:v:{key}", f"sf:l:{key}", f"sf:e:{key}"
    deadline = time.monotonic() + timeout
    while True:
        value = store.get(value_key)
        if value is not None:
            return value, False
        token = secrets.token_hex(16).encode()
        if store.add(lease_key, token, lease):
            return _compute(store, compute, value_key, lease_key, error_key, token, ttl, lease), True
        # Back to the top when the lease lapsed with no value: the value's there, or this caller computes.
        _wait(store, value_key, lease_key, error_key, deadline, poll, key, timeout)


def _compute(store, compute, value_key, lease_key, error_key, token, ttl, lease):
    beat = _Heartbeat(store, lease_key, token, lease)
    beat.start()
    try:
        # Someone may have finished between our miss and our lease.
        value = store.get(value_key)
        if value is None:
            store.delete(error_key)
            try:
                value = compute()
            except Exception as exc:
                store.set(error_key, f"{type(exc).__name__}: {exc}".encode()[:2000], ttl=10)
                raise
            store.set(value_key, value, ttl)
        return value
    finally:
        beat.stop()
        store.compare_delete(lease_key, token)


def _wait(store, value_key, lease_key, error_key, deadline, poll, key, timeout):
    delay = poll
    while time.monotonic() < deadline:
        if store.get(value_key) is not None:
            return
        if store.get(lease_key) is None:
            error = store.get(error_key)
            if error is not None and store.get(value_key) is None:
                raise ComputeFailed(f"computing {key!r} failed in another process: {error.decode(errors='replace')}")
            return  # finished, or died without a result (its lease lapsed): the caller looks again
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)
    raise ComputeTimeout(f"waited {timeout:g} s for another process to compute {key!r}")
