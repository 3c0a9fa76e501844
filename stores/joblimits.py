"""Bounds on background jobs, kept in the shared store so every web worker sees the same count.

Unbounded, 50 starts in 10 s forked 43 job processes on a 2-core machine (load 7.3) and 50
queued Celery jobs left a normal visitor's job without a result. So, site-wide:

- admission (before a job exists): one running or queued job per page session, and at most
  `capacity` jobs in all — a start past either is refused with a message (HTTP 429);
- embedded mode: a job process runs its steps only while it holds one of `slots` (one per
  core); the others wait, and their place in line is written to their record for the page;
- Celery mode: the worker pool bounds what runs; admission also refuses a start while the
  broker's queue already holds `queue_cap` tasks.

Entries name the job (a pid, or a Celery task id). A job that ends, dies or is cancelled is
pruned on the next admission by asking whether it is still alive, so nothing leaks when a
process is SIGKILLed; every entry also expires after ENTRY_TTL.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from .base import Store, StoreError

ACTIVE = "background:active:"  # + job id -> {"session", "started"}
SLOT = "background:slot:"  # + index -> holder job id
ENTRY_TTL = 3600
SLOT_TTL = 60.0  # a holder renews its slot at least every step; a frozen one loses it after this


class JobsFull(StoreError):
    """A job start refused by a bound; the message says which and what to do."""


@dataclass(frozen=True)
class Bounds:
    slots: int  # jobs that compute at once (embedded: one per core)
    capacity: int  # jobs running or waiting, site-wide
    queue_cap: int  # Celery mode: tasks the broker's queue may hold


def bounds(embedded: bool) -> Bounds:
    cores = os.cpu_count() or 1
    if embedded:
        return Bounds(slots=cores, capacity=3 * cores, queue_cap=0)
    return Bounds(slots=0, capacity=8 * cores, queue_cap=4 * cores)


def _entries(store: Store) -> dict[str, dict]:
    found = {}
    for key in store.scan(ACTIVE):
        raw = store.get(key)
        if raw is None:
            continue
        try:
            found[key[len(ACTIVE):]] = json.loads(raw)
        except ValueError:
            store.delete(key)  # not ours to read: a corrupted entry must not block every start
    return found


def active(store: Store, alive: Callable[[str], bool]) -> dict[str, dict]:
    """The admitted jobs still alive; the others are removed."""
    entries = _entries(store)
    for job in list(entries):
        if not alive(job):
            store.delete(ACTIVE + job)
            del entries[job]
    return entries


def admit(store: Store, session: str, bounds_: Bounds, alive: Callable[[str], bool],
          waiting: Callable[[], int] | None = None) -> None:
    """Raise JobsFull unless this session may start a job now. Call under the admission lock."""
    entries = active(store, alive)
    if any(entry.get("session") == session for entry in entries.values()):
        raise JobsFull("this page already has a background job running or waiting: one at a time per visitor. "
                       "Cancel it or wait for its result, then start the next.")
    if len(entries) >= bounds_.capacity:
        raise JobsFull(f"the site is at its limit of {bounds_.capacity} background jobs running or waiting "
                       f"({bounds_.slots or 'the worker pool'} compute at once). Try again when one has finished.")
    if waiting is not None and bounds_.queue_cap and waiting() >= bounds_.queue_cap:
        raise JobsFull(f"the task queue already holds {bounds_.queue_cap} waiting jobs, its limit. "
                       "Try again when the Celery workers have caught up.")


def register(store: Store, job: str, session: str) -> None:
    store.set(ACTIVE + job, json.dumps({"session": session, "started": time.time()}).encode(), ttl=ENTRY_TTL)


class Slot:
    """One of `count` compute slots, held by a job (embedded mode: the job's pid).

    A job that waits says so in its admission entry; the waiting jobs take free slots in the
    order they were admitted, and each knows its place in line."""

    def __init__(self, store: Store, holder: str, count: int, alive: Callable[[str], bool]):
        self.store, self.holder, self.count, self.alive = store, holder, count, alive
        self.key: str | None = None

    def _mark(self, waiting: bool) -> dict:
        raw = self.store.get(ACTIVE + self.holder)
        entry = json.loads(raw) if raw else {"session": "unknown", "started": time.time()}
        if entry.get("waiting") != waiting:
            entry["waiting"] = waiting
            self.store.set(ACTIVE + self.holder, json.dumps(entry).encode(), ttl=ENTRY_TTL)
        return entry

    def position(self) -> int:
        """How many jobs admitted earlier also wait for a slot (0: next in line)."""
        mine = self._mark(True).get("started", time.time())
        return sum(1 for job, e in _entries(self.store).items()
                   if job != self.holder and e.get("waiting") and e.get("started", 0) < mine and self.alive(job))

    def try_acquire(self) -> bool:
        if self.position() > 0:
            return False  # first come, first served: an earlier job gets the next free slot
        mine = self.holder.encode()
        for index in range(self.count):
            key = SLOT + str(index)
            current = self.store.get(key)
            if current is not None and current != mine and not self.alive(current.decode()):
                self.store.compare_delete(key, current)  # its holder died: free it now, not after SLOT_TTL
            if self.store.add(key, mine, ttl=SLOT_TTL) or self.store.get(key) == mine:
                self.key = key
                self._mark(False)
                return True
        return False

    def renew(self) -> None:
        if self.key:
            self.store.compare_touch(self.key, self.holder.encode(), SLOT_TTL)

    def release(self) -> None:
        if self.key:
            self.store.compare_delete(self.key, self.holder.encode())
            self.key = None
