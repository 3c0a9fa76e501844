"""Run the benchmark: sessions x rounds x strategies x row counts against running servers (the standard
scenario, and the stampede's repetitions: bench/stampede.py).

Each session is a thread with its own Browser (cookies, connections) and its own page
state; sessions of one strategy run at the same time. Strategies run one after
another so the server counters read before and after a step belong to that step.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Callable

import i18n
import reports

from . import metrics, stampede
from .dashclient import Browser, Graph, Page
from .plan import RunConfig, Target, config_record, fetch_graph, plan
from .probe import PeerProbe, Probe
from .session import RoundRecord, StepData, act_all, browser_held_bytes, candidates, open_page, reads, region
from .specs import Ctx, Spec
from .stampede import STAMPEDE_SESSIONS

__all__ = ["STAMPEDE_SESSIONS", "Cancelled", "RunConfig", "Runner", "Target"]


class Cancelled(RuntimeError):
    """The run was cancelled (Ctrl-C, or Cancel on the page)."""


# --------------------------------------------------------------------------- one session


class _Session(threading.Thread):
    def __init__(self, index: int, step: StepData, urls: list[str], graph: Graph, cfg: RunConfig, sync: dict,
                 run_id: str, rounds: int, progress: Callable, cancel: threading.Event, stampede_rows: int | None = None,
                 stampede_region: str | None = None):
        super().__init__(name=f"bench-session-{index}", daemon=True)
        self.index, self.step, self.urls, self.graph, self.cfg = index, step, urls, graph, cfg
        self.ready, self.go, self.lockstep, self.first_loaded = sync["ready"], sync["go"], sync["lockstep"], sync["first"]
        self.run_id, self.rounds = run_id, rounds
        self.progress, self.cancel = progress, cancel
        self.stampede_rows, self.stampede_region = stampede_rows, stampede_region

    def run(self) -> None:
        spec, step = self.step.spec, self.step
        browser = Browser(self.urls, timeout=self.cfg.timeout, headers=self.cfg.headers)
        try:
            # The first visitor arrives alone (and warms what a page load computes); the rest
            # follow together. Every round then starts at the same moment for every session.
            if self.index > 0:
                self.first_loaded.wait(self.cfg.timeout)
            page, load = open_page(browser, spec, self.graph, Ctx(self.index, -1, step.rows, region(self.index, -1), ""))
            step.loads.append(load)  # list.append is atomic: sessions share the step's lists
            self.progress(1)
        except Exception as exc:  # noqa: BLE001 - one broken session must not stop the others
            self._fail(f"session {self.index} could not open {spec.page_path}: {type(exc).__name__}: {exc}")
            browser.close()
            return
        finally:
            if self.index == 0:
                self.first_loaded.set()
        try:
            self.ready.wait()
            self.go.wait()
        except threading.BrokenBarrierError:
            browser.close()
            return
        try:
            if self.stampede_rows is not None:
                self._stampede(page)
            else:
                self._rounds(page)
            step.browser_bytes.append(browser_held_bytes(page, spec))
        except Exception as exc:  # noqa: BLE001
            self._fail(f"session {self.index}: {type(exc).__name__}: {exc}")
        finally:
            browser.close()

    def _fail(self, message: str) -> None:
        self.step.errors.append(message)
        for barrier in (self.ready, self.go, self.lockstep):
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.abort()

    def _together(self) -> None:
        """Wait for every session to finish its round (lock-step rounds); carry on alone if one died."""
        with contextlib.suppress(threading.BrokenBarrierError):
            self.lockstep.wait(self.cfg.timeout)

    def _rounds(self, page: Page) -> None:
        spec, step = self.step.spec, self.step
        for round_ in range(self.rounds):
            if self.cancel.is_set():
                return
            token = f"{self.run_id}-s{self.index}r{round_}"
            ctx = Ctx(self.index, round_, step.rows, region(self.index, round_), token, page)
            # A round whose value was already shown sends nothing (as a browser): no interaction to time.
            interaction = act_all(page, spec, spec.round, ctx)
            expected = spec.expected(ctx)
            step.written.setdefault(self.index, set()).add(expected)
            checks = [(expected, got) for _value, got in reads(page, spec, ctx, step.candidates)]
            step.records.append(RoundRecord(self.index, round_, interaction, checks))
            self.progress(1)
            self._together()

    def _stampede(self, page: Page) -> None:
        self.step.records.append(stampede.ask_at_once(page, self.step, self.index, self.stampede_rows, self.stampede_region))
        self.progress(1)


# --------------------------------------------------------------------------- the run


class Runner:
    def __init__(self, cfg: RunConfig, target: Target, progress: Callable[[int, int, str], None] | None = None,
                 cancel: threading.Event | None = None):
        self.cfg, self.target = cfg, target
        self.report_progress = progress or (lambda done, total, label: None)
        self.cancel = cancel or threading.Event()
        self.run_id = secrets.token_hex(3)
        self.done = 0
        self.total = 1
        self.label = ""
        self._lock = threading.Lock()
        self.rows_seen: list[int] = []

    def _tick(self, n: int = 1) -> None:
        with self._lock:
            self.done += n
            done, total, label = self.done, self.total, self.label
        self.report_progress(min(done, total), total, label)

    def run(self) -> dict:
        started = time.time()
        cfg, target = self.cfg, self.target
        graph = fetch_graph(target.urls[0], cfg.timeout, cfg.headers)
        specs, skipped = plan(cfg, target, graph)
        peer_graph = fetch_graph(target.peer_url, cfg.timeout, cfg.headers) if target.peer_url and any(s.kind == "peer" for s in specs) else None
        probe = Probe(target.urls, headers=cfg.headers)
        peer_probe = PeerProbe([target.peer_url]) if peer_graph is not None else None
        steps: list[StepData] = []
        try:
            if cfg.scenario == "stampede":
                sessions = cfg.sessions
                reps = cfg.rounds
                self.total = max(1, len(specs) * reps * sessions * 2)
                for spec in specs:
                    for rep in range(reps):
                        self._check_cancel()
                        step = self._stampede_step(spec, rep, graph if spec.kind != "peer" else peer_graph,
                                                   probe if spec.kind != "peer" else peer_probe)
                        if step is not None:
                            steps.append(step)
            else:
                self.total = max(1, len(specs) * len(cfg.rows) * cfg.sessions * (1 + cfg.rounds))
                for rows in cfg.rows:
                    self.rows_seen.append(rows)
                    for spec in specs:
                        self._check_cancel()
                        if spec.allowed_rows and rows not in spec.allowed_rows:
                            skipped[f"{spec.slug}@{rows}"] = (f"the page loads only {', '.join(f'{n:,}' for n in spec.allowed_rows)} rows")
                            self._tick(cfg.sessions * (1 + cfg.rounds))
                            continue
                        peer = spec.kind == "peer"
                        steps.append(self._step(spec, rows, peer_graph if peer else graph, peer_probe if peer else probe))
        finally:
            probe.close()
            if peer_probe:
                peer_probe.close()
        results = [metrics.summarize(step, self.target, self.cfg) for step in steps]
        config = config_record(cfg, target, skipped, specs)
        config["workers_observed"] = max((r["workers_hit"] or 0 for r in results if r["kind"] != "peer"), default=0)
        result = reports.envelope(started, config, results)
        with i18n.speaking("en"):  # report.json's words are English, whoever's job runs it (report.html computes its own)
            result["targets"] = reports.targets(result)
        return result

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled("the benchmark was cancelled")

    def candidates(self, spec: Spec, extra_rows: list[int] = ()) -> list[tuple]:
        """The values a read of this spec is recognised among, given the row counts run so far."""
        return candidates(spec, [*self.rows_seen, *extra_rows])

    def _read(self, probe: Probe | None, spec: Spec) -> dict | None:
        return probe.read(spec) if probe is not None else None

    def _step(self, spec: Spec, rows: int, graph: Graph, probe: Probe | None) -> StepData:
        cfg = self.cfg
        step = StepData(spec, rows)
        step.candidates = self.candidates(spec)
        self.label = f"{spec.slug} · {rows:,} rows"
        step.before = self._read(probe, spec)
        urls = [self.target.peer_url] if spec.kind == "peer" else self.target.urls
        sync = _sync(cfg.sessions)
        sessions = [
            _Session(i, step, _rotate(urls, i), graph, cfg, sync, self.run_id, cfg.rounds, self._tick, self.cancel)
            for i in range(cfg.sessions)
        ]
        began = time.perf_counter()
        for s in sessions:
            s.start()
        with contextlib.suppress(threading.BrokenBarrierError):
            sync["ready"].wait()
            sync["go"].wait()
        for s in sessions:
            s.join()
        step.seconds = time.perf_counter() - began
        step.after = self._read(probe, spec)
        return step

    def _stampede_step(self, spec: Spec, rep: int, graph: Graph, probe: Probe | None) -> StepData | None:
        """N sessions ask for one cold value at the same moment; how often did the step run?"""
        cfg = self.cfg
        base = cfg.rows[0]
        cold = stampede.cold_value(spec, base, rep, self.run_id)
        if cold is None:
            return None
        rows, region = cold
        step = StepData(spec, base, scenario="stampede", repetition=rep)
        step.candidates = self.candidates(spec, [rows])
        self.label = f"stampede · {spec.slug} · repetition {rep + 1}"
        urls = [self.target.peer_url] if spec.kind == "peer" else self.target.urls
        sync = _sync(cfg.sessions)
        sessions = [
            _Session(i, step, _rotate(urls, i), graph, cfg, sync, self.run_id, 1, self._tick, self.cancel,
                     stampede_rows=rows, stampede_region=region)
            for i in range(cfg.sessions)
        ]
        for s in sessions:
            s.start()
        began = time.perf_counter()
        with contextlib.suppress(threading.BrokenBarrierError):
            sync["ready"].wait()
            step.before = self._read(probe, spec)  # after every page load: only the stampede counts
            sync["go"].wait()
        for s in sessions:
            s.join()
        step.seconds = time.perf_counter() - began
        step.after = self._read(probe, spec)
        step.cold_value = {"rows": spec.effective_rows(rows), "region": region or "the page's default"}
        return step


def _sync(sessions: int) -> dict:
    return {
        "ready": threading.Barrier(sessions + 1),  # every page loaded (the runner reads counters here)
        "go": threading.Barrier(sessions + 1),
        "lockstep": threading.Barrier(sessions),  # between rounds
        "first": threading.Event(),  # session 0 has loaded its page
    }


def _rotate(urls: list[str], i: int) -> list[str]:
    """Session i loads its page from host i mod n; its callbacks then go round-robin over all."""
    k = i % len(urls)
    return urls[k:] + urls[:k]
