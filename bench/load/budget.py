"""The load's request budget: every session's requests pass a Guard (the hard stop, --max-requests) and its
own Gate (which interaction it is in, and whether the run gave up on it)."""

from __future__ import annotations

import threading

import requests

from ..dashclient import PARALLEL, Browser, Interaction

CUT = "load test ended before this request"
ABANDONED = "the load test gave up on this interaction"
BUDGET = "the load test's request budget is spent"


class Guard:
    """Every session's requests pass here: refused after the hard stop, counted against the budget."""

    def __init__(self, budget: int):
        self.budget = budget
        self.sent = 0
        self.exhausted = False
        self.stop = threading.Event()
        self._lock = threading.Lock()

    def admit(self) -> None:
        with self._lock:
            if self.stop.is_set():
                raise requests.ConnectionError(BUDGET if self.exhausted else CUT)
            if self.sent >= self.budget:
                self.exhausted = True
                self.stop.set()
                raise requests.ConnectionError(BUDGET)
            self.sent += 1


class Gate:
    """One session's side of the guard: which interaction it is in, and whether the run gave up on it."""

    def __init__(self, guard: Guard):
        self.guard = guard
        self.busy: tuple[int, float] | None = None  # (interaction number, start s)
        self.abandon: int | None = None  # the interaction number the run gave up on
        self._seq = 0

    def begin(self, t: float) -> None:
        self._seq += 1
        self.abandon = None
        self.busy = (self._seq, t)

    def end(self) -> None:
        self.busy = None

    def give_up_if_older(self, now: float, limit: float) -> bool:
        busy = self.busy
        if busy is not None and now - busy[1] > limit and self.abandon != busy[0]:
            self.abandon = busy[0]
            return True
        return False

    def admit(self) -> None:
        busy = self.busy
        if busy is not None and self.abandon == busy[0]:
            raise requests.ConnectionError(ABANDONED)
        self.guard.admit()


class _GuardedSession(requests.Session):
    def __init__(self, gate: Gate):
        super().__init__()
        self.gate = gate

    def request(self, *args, **kwargs):
        self.gate.admit()
        return super().request(*args, **kwargs)


class LoadBrowser(Browser):
    """A Browser whose every request goes through its session's Gate."""

    def __init__(self, urls, timeout: float, gate: Gate):
        super().__init__(urls, timeout=timeout)
        guarded = _GuardedSession(gate)
        guarded.headers.update(self.http.headers)
        adapter = requests.adapters.HTTPAdapter(pool_connections=len(self.urls), pool_maxsize=PARALLEL)
        guarded.mount("http://", adapter)
        guarded.mount("https://", adapter)
        self.http.close()
        self.http = guarded


def is_cut(message: str | None) -> bool:
    return bool(message) and (CUT in message or BUDGET in message or ABANDONED in message)


def strip_cut(interaction: Interaction) -> bool:
    """Remove the requests the gate refused (they were never sent); True when there were any."""
    before = len(interaction.calls) + len(interaction.errors)
    interaction.calls = [c for c in interaction.calls if not is_cut(c.error)]
    interaction.errors = [e for e in interaction.errors if not is_cut(e)]
    return len(interaction.calls) + len(interaction.errors) != before
