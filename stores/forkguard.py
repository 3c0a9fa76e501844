"""No fork while another thread of this process is inside SQLite.

gunicorn's threaded workers fork DiskcacheManager's job processes from one thread while other
threads use the SQLite store. SQLite keeps its file locks' bookkeeping in process memory: a child
forked while another thread held a lock inherits a lock that nobody in the child will ever
release, and its first store call then waited for ever ("database is locked", found with 50
concurrent job starts). Store calls hold the shared side of this lock; a fork takes the exclusive
side, waiting (at most FORK_WAIT seconds) until no thread is inside SQLite.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager

FORK_WAIT = 5.0

_state = threading.Condition()
_inside = 0  # threads inside a store call
_forking = False


@contextmanager
def sqlite_in_use():
    """Around every store call. Nested calls are fine (readers never wait on each other)."""
    global _inside
    with _state:
        while _forking:
            _state.wait()
        _inside += 1
    try:
        yield
    finally:
        with _state:
            _inside -= 1
            _state.notify_all()


@contextmanager
def quiet_for_fork():
    """Around a fork: no thread of this process is inside SQLite while it happens."""
    global _forking
    with _state:
        _state.wait_for(lambda: _inside == 0 and not _forking, timeout=FORK_WAIT)
        _forking = True
    try:
        yield
    finally:
        with _state:
            _forking = False
            _state.notify_all()


def _reset_in_child() -> None:
    # The child is forked from inside quiet_for_fork(): it starts with one thread and no store
    # call in progress, so its own state starts clean.
    global _state, _inside, _forking
    _state, _inside, _forking = threading.Condition(), 0, False


os.register_at_fork(after_in_child=_reset_in_child)
