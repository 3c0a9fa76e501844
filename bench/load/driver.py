"""The load's sessions: each drives one strategy's page round after round with a think time, through its
Gate, timing every interaction and keeping what its reads showed; a page that hangs is reloaded."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

from ..dashclient import Graph, Interaction, Page
from ..session import RoundRecord, StepData, act, act_all, browser_held_bytes, open_page, reads, region
from ..specs import Ctx, Spec, click, texts
from .budget import Gate, Guard, LoadBrowser, is_cut, strip_cut

# Pages whose state only grows with every round: reset (untimed) every N rounds so a long run stays
# within the page's limits (the patch demo stops at 50,000 rows).
RESETS = {"patch": (10, click("reset"))}
# Pages whose read shows the same value every round (the background job always reports the session's row count):
# there a read only counts as the session's own when this round's answer replaced the output.
FRESH_READS = {"background"}
NO_NEW_ANSWER = "(no new answer: the output still shows the previous round's)"


class Clock:
    """Seconds since the load began (wall clock, as the calls' own start times)."""

    def __init__(self):
        self.t0 = time.time()

    def now(self) -> float:
        return time.time() - self.t0

    def of(self, wall: float) -> float:
        return wall - self.t0


@dataclass
class LoadStep:
    """Everything the sessions of one strategy did, with times."""

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

    def interaction_errors(self, interaction: Interaction, clock: Clock, started: float, ended: float, session: int) -> None:
        for call in interaction.calls:
            if call.error:
                t0 = clock.of(call.started)
                self.error(t0, t0 + call.ms / 1000, session, call.error)
        for message in interaction.errors:
            self.error(started, ended, session, message)


class LoadSession(threading.Thread):
    def __init__(self, index: int, rank: int, ls: LoadStep, urls: list[str], graph: Graph, rows: int, run_id: str,
                 clock: Clock, guard: Guard, ended: threading.Event, think: float, timeout: float, tick):
        super().__init__(name=f"load-session-{index}", daemon=True)
        self.index, self.rank, self.ls, self.urls, self.graph, self.rows = index, rank, ls, urls, graph, rows
        self.run_id, self.clock, self.guard, self.ended = run_id, clock, guard, ended
        self.think, self.timeout, self.tick = think, timeout, tick
        self.gate = Gate(guard)
        self.rng = random.Random(index)
        self.r = self.n = 0  # r: rounds since the page (re)loaded or reset, what its own counter shows; n: all rounds

    def _region(self, n: int) -> str:
        """By its rank among its strategy's sessions: sessions of one strategy ask for different values at any
        round, so a read of another's value differs from its own."""
        return region(self.rank, n)

    def _why(self) -> str:
        return "the run ended (hard stop)" if self.guard.stop.is_set() else "given up after --abandon-after seconds"

    def run(self) -> None:
        browser = LoadBrowser(self.urls, self.timeout, self.gate)
        page = None
        try:
            page = self._open(browser)
            while page is not None and not self.ended.is_set() and not self.guard.stop.is_set():
                if not self._round(page):
                    if self.guard.stop.is_set() or self.ended.is_set():
                        break
                    with self.ls.lock:
                        self.ls.reloads += 1
                    page = self._open(browser)  # as a user does with a page that hangs: reload it
                    continue
                self.tick()
                if self.ended.wait(self.rng.uniform(0.5, 1.5) * self.think):
                    break
            if page is not None:
                self.ls.step.browser_bytes.append(browser_held_bytes(page, self.ls.spec))
        except Exception as exc:  # noqa: BLE001 - one broken session must not stop the others
            self.ls.error(self.clock.now(), self.clock.now(), self.index, f"session {self.index}: {type(exc).__name__}: {exc}")
        finally:
            self.gate.end()
            browser.close()

    def _open(self, browser) -> Page | None:
        ls, spec = self.ls, self.ls.spec
        started = self.clock.now()
        self.gate.begin(started)
        try:
            page, load = open_page(browser, spec, self.graph, Ctx(self.index, -1, self.rows, self._region(-1), ""))
        except Exception as exc:  # noqa: BLE001
            if is_cut(str(exc)):
                ls.gave_up(started, self.index, self._why() + " (page load)")
            else:
                ls.error(started, self.clock.now(), self.index,
                         f"session {self.index} could not open {spec.page_path}: {type(exc).__name__}: {exc}")
            return None
        finally:
            self.gate.end()
        cut = strip_cut(load)
        ls.interaction_errors(load, self.clock, started, self.clock.now(), self.index)
        if cut:
            ls.gave_up(started, self.index, self._why() + " (page load)")
            return None
        ls.step.loads.append(load)
        self.r = 0
        return page

    def _timed(self, fn) -> tuple[Interaction | None, float, float, bool]:
        """Run one user action between gate.begin and gate.end: (interaction, start, end, answered)."""
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
            self.ls.gave_up(t0, self.index, f"{self._why()}: {len(interaction.calls)} request(s) answered before, "
                                            f"{polls} of them background polls, statuses {statuses}")
            self.ls.interaction_errors(interaction, self.clock, t0, t1, self.index)
            return interaction, t0, t1, False
        return interaction, t0, t1, True

    def _round(self, page: Page) -> bool:
        """One timed round; False when it was given up on (the page must be reloaded)."""
        ls, spec, step = self.ls, self.ls.spec, self.ls.step
        reset = RESETS.get(spec.slug)
        if reset and self.r >= reset[0]:
            ctx = Ctx(self.index, self.r, self.rows, "", "", page)
            part, t0, t1, answered = self._timed(lambda: act(page, spec, reset[1], ctx))
            if not answered:
                return False
            if part is not None:
                ls.interaction_errors(part, self.clock, t0, t1, self.index)
            with ls.lock:
                ls.resets += 1
            self.r = 0
        token = f"{self.run_id}-s{self.index}n{self.n}"
        ctx = Ctx(self.index, self.r, self.rows, self._region(self.n), token, page)

        held = {read.name: page.get(spec.cid(read.name), read.prop) for read in spec.reads} if spec.slug in FRESH_READS else {}
        interaction, t0, t1, answered = self._timed(lambda: act_all(page, spec, spec.round, ctx))
        if not answered:
            return False
        expected = spec.expected(ctx)
        checks, shown = [], []
        for read, (value, got) in zip(spec.reads, reads(page, spec, ctx, step.candidates), strict=True):
            if read.name in held and interaction is not None and value is held[read.name]:
                got = NO_NEW_ANSWER  # the page was not updated: what it shows is an earlier round's answer
            checks.append((expected, got))
            if got is None or got != expected:  # keep what the page showed instead, for the report's events
                shown.append(_prose(value))
        record = RoundRecord(self.index, self.n, interaction, checks)
        with ls.lock:
            step.written.setdefault(self.index, set()).add(expected)
            step.records.append(record)
            ls.timed.append((record, t0, t1))
            if shown:
                ls.shown[id(record)] = shown
        if interaction is not None:
            ls.interaction_errors(interaction, self.clock, t0, t1, self.index)
        self.r += 1
        self.n += 1
        return True


def _prose(value) -> str:
    """The readable words of an output (alert text, titles), without colours, fonts and component names."""
    words = [t for t in texts(value) if " " in t.strip() and not t.startswith("#") and "system-ui" not in t]
    return " | ".join(words)[:200]
