"""One load session: it drives one strategy's page round after round, through its Gate, timing every interaction
and keeping what its reads showed; a page that hangs is reloaded. It runs inside a Locust user (locustfile.py),
one interaction per task, and reports what happened to a sink: a LoadStep (the analysis side, what the master's
records are replayed into) or the worker's shipper (which sends the same calls to the Locust master)."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

from ..dashclient import Graph, Interaction, Page
from ..session import RoundRecord, StepData, act, act_all, browser_held_bytes, open_page, reads, region
from ..specs import Ctx, Spec, texts
from .budget import Gate, is_cut, strip_cut

# A page whose state only grows declares its reset (Spec.reset), and a page whose read shows the same value
# every round says so (Spec.fresh_reads): both in the strategy's record (strategies/<module>.py).
NO_NEW_ANSWER = "(no new answer: the output still shows the previous round's)"


class Clock:
    """Seconds since t0 (wall clock, as the calls' own start times). Workers keep t0 = 0 (wall time itself):
    the master's records are shifted to the load's start when they are read back (collect.py)."""

    def __init__(self, t0: float | None = None):
        self.t0 = time.time() if t0 is None else t0

    def now(self) -> float:
        return time.time() - self.t0

    def of(self, wall: float) -> float:
        return wall - self.t0


@dataclass
class LoadStep:
    """Everything the sessions of one strategy did, with times (the sink the analysis reads)."""

    step: StepData
    sessions: list[int] = field(default_factory=list)
    timed: list[tuple] = field(default_factory=list)  # (RoundRecord, start s, end s)
    errors: list[dict] = field(default_factory=list)  # {"t0", "t1", "session", "message"}
    unanswered: list[dict] = field(default_factory=list)  # interactions given up on: {"t0", "session", "why"}
    resets: int = 0
    reloads: int = 0
    shown: dict = field(default_factory=dict)  # id(RoundRecord) -> what its wrong or unrecognised reads showed
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def spec(self) -> Spec:
        return self.step.spec

    def error(self, t0: float, t1: float, session: int, message: str) -> None:
        with self.lock:
            self.errors.append({"t0": round(t0, 3), "t1": round(t1, 3), "session": session, "message": message[:300]})

    def gave_up(self, t0: float, session: int, why: str) -> None:
        with self.lock:
            self.unanswered.append({"t0": round(t0, 3), "session": session, "why": why})

    def joined(self, session: int) -> None:
        with self.lock:
            if session not in self.sessions:
                self.sessions.append(session)

    def loaded(self, interaction: Interaction) -> None:
        with self.lock:
            self.step.loads.append(interaction)

    def reset(self) -> None:
        with self.lock:
            self.resets += 1

    def reload(self) -> None:
        with self.lock:
            self.reloads += 1

    def held(self, nbytes: int) -> None:
        with self.lock:
            self.step.browser_bytes.append(nbytes)

    def round(self, record: RoundRecord, t0: float, t1: float, expected, shown: list[str]) -> None:
        with self.lock:
            self.step.written.setdefault(record.session, set()).add(expected)
            self.step.records.append(record)
            self.timed.append((record, t0, t1))
            if shown:
                self.shown[id(record)] = shown

    def interaction_errors(self, interaction: Interaction, clock: Clock, started: float, ended: float, session: int) -> None:
        errors_of(self, interaction, clock, started, ended, session)


def errors_of(sink, interaction: Interaction, clock: Clock, started: float, ended: float, session: int) -> None:
    """Every failed call of an interaction (at its own time) and its other failures, to the sink."""
    for call in interaction.calls:
        if call.error:
            t0 = clock.of(call.started)
            sink.error(t0, t0 + call.ms / 1000, session, call.error)
    for message in interaction.errors:
        sink.error(started, ended, session, message)


@dataclass
class Outcome:
    """What one task did: an interaction (None: nothing was sent), its time span, whether it was answered."""

    interaction: Interaction | None
    t0: float
    t1: float
    answered: bool
    failed: bool = False  # an error or a wrong read: Locust counts it as a failure


class SessionDriver:
    """One browser session on one strategy's page; `task()` is one interaction (one Locust task)."""

    def __init__(self, index: int, rank: int, spec: Spec, browser, gate: Gate, graph: Graph, rows: int, run_id: str,
                 clock: Clock, sink, candidates: list, stopping=lambda: False):
        self.index, self.rank, self.spec, self.browser, self.gate, self.graph = index, rank, spec, browser, gate, graph
        self.rows, self.run_id, self.clock, self.sink, self.candidates = rows, run_id, clock, sink, candidates
        self.stopping = stopping  # true once the run's hard stop is on (an interaction cut then is the run's doing)
        self.rng = random.Random(index)
        self.page: Page | None = None
        self.r = self.n = 0  # r: rounds since the page (re)loaded or reset, what its own counter shows; n: all rounds
        sink.joined(index)

    def think(self, seconds: float) -> float:
        return self.rng.uniform(0.5, 1.5) * seconds

    def _why(self) -> str:
        return "the run ended (hard stop)" if self.stopping() else "given up after --abandon-after seconds"

    def open(self) -> Page | None:
        sink, spec = self.sink, self.spec
        started = self.clock.now()
        self.gate.begin(started)
        try:
            page, load = open_page(self.browser, spec, self.graph, Ctx(self.index, -1, self.rows, region(self.rank, -1), ""))
        except Exception as exc:  # noqa: BLE001 - any failure of the page is the session's to report
            if is_cut(str(exc)):
                sink.gave_up(started, self.index, self._why() + " (page load)")
            else:
                sink.error(started, self.clock.now(), self.index,
                           f"session {self.index} could not open {spec.page_path}: {type(exc).__name__}: {exc}")
            self.page = None
            return None
        finally:
            self.gate.end()
        cut = strip_cut(load)
        errors_of(sink, load, self.clock, started, self.clock.now(), self.index)
        if cut:
            sink.gave_up(started, self.index, self._why() + " (page load)")
            self.page = None
            return None
        sink.loaded(load)
        self.r = 0
        self.page = page
        return page

    def _timed(self, fn) -> Outcome:
        """Run one user action between gate.begin and gate.end."""
        t0 = self.clock.now()
        self.gate.begin(t0)
        try:
            interaction = fn()
        finally:
            self.gate.end()
        t1 = self.clock.now()
        if interaction is not None and strip_cut(interaction):
            polls = sum(1 for c in interaction.calls if c.poll)
            statuses = sorted({c.status for c in interaction.calls})
            self.sink.gave_up(t0, self.index, f"{self._why()}: {len(interaction.calls)} request(s) answered before, "
                                              f"{polls} of them background polls, statuses {statuses}")
            errors_of(self.sink, interaction, self.clock, t0, t1, self.index)
            return Outcome(interaction, t0, t1, False, True)
        return Outcome(interaction, t0, t1, True)

    def task(self) -> Outcome | None:
        """One interaction; None when the page could not be (re)opened. A round given up on reloads the page."""
        if self.page is None and self.open() is None:
            return None
        outcome = self._round(self.page)
        if not outcome.answered:
            self.sink.reload()
            self.page = None  # as a user does with a page that hangs: the next task reloads it
        return outcome

    def finish(self) -> None:
        if self.page is not None:
            self.sink.held(browser_held_bytes(self.page, self.spec))

    def _reset_if_due(self, page: Page) -> bool:
        reset = self.spec.reset
        if not reset or self.r < reset[0]:
            return True
        ctx = Ctx(self.index, self.r, self.rows, "", "", page)
        out = self._timed(lambda: act(page, self.spec, reset[1], ctx))
        if not out.answered:
            return False
        if out.interaction is not None:
            errors_of(self.sink, out.interaction, self.clock, out.t0, out.t1, self.index)
        self.sink.reset()
        self.r = 0
        return True

    def _round(self, page: Page) -> Outcome:
        spec = self.spec
        if not self._reset_if_due(page):
            now = self.clock.now()
            return Outcome(None, now, now, False, True)
        token = f"{self.run_id}-s{self.index}n{self.n}"
        ctx = Ctx(self.index, self.r, self.rows, region(self.rank, self.n), token, page)
        held = {read.name: page.get(spec.cid(read.name), read.prop) for read in spec.reads} if spec.fresh_reads else {}
        out = self._timed(lambda: act_all(page, spec, spec.round, ctx))
        if not out.answered:
            return out
        expected = spec.expected(ctx)
        checks, shown = [], []
        for read, (value, got) in zip(spec.reads, reads(page, spec, ctx, self.candidates), strict=True):
            if read.name in held and out.interaction is not None and value is held[read.name]:
                got = NO_NEW_ANSWER  # the page was not updated: what it shows is an earlier round's answer
            checks.append((expected, got))
            if got is None or got != expected:  # keep what the page showed instead, for the report's events
                shown.append(_prose(value))
        record = RoundRecord(self.index, self.n, out.interaction, checks)
        self.sink.round(record, out.t0, out.t1, expected, shown)
        if out.interaction is not None:
            errors_of(self.sink, out.interaction, self.clock, out.t0, out.t1, self.index)
            out.failed = bool(out.interaction.all_errors)
        out.failed = out.failed or bool(shown)
        self.r += 1
        self.n += 1
        return out


def _prose(value) -> str:
    """The readable words of an output (alert text, titles), without colours, fonts and component names."""
    words = [t for t in texts(value) if " " in t.strip() and not t.startswith("#") and "system-ui" not in t]
    return " | ".join(words)[:200]
