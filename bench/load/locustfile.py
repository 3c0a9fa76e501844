"""Locust's side of the load and capacity scenarios: run by the `locust` command (master and workers, on one machine
or several), never imported by the bench process (importing requests before locust crashes in ssl: RESEARCH.md).

    PYTHONPATH=. locust -f bench/load/locustfile.py --worker --master-host HOST     # what `python -m bench
                                                                                    # --locust-master HOST` runs

One User class, DashSession: each instance is one browser session (bench/session.py over the headless Dash client:
its own cookies, session ids, browser-held state, background polling, Patch application) on one strategy, picked
per instance from the run's list (session g drives strategy g mod n). One task = one interaction, reported to
Locust with events.request.fire (name = the strategy, request_type = "interaction", or "step NN" in the capacity
ramp, so Locust's own stats split by step); stale reads and leaks are fired as their own request types. Every
session event also goes to the master as a custom message, which appends it to the run's records file: the
figures are collected on the master, never in a worker's quitting hook.

The run's settings come as one JSON argument, --statelab-config (bench/load/swarm.py writes it); Locust passes
the master's custom arguments on to its workers, so a remote worker needs nothing but the master's address.
"""

from __future__ import annotations

import itertools
import json
import time

import gevent
import locust.runners
from gevent import GreenletExit
from locust import LoadTestShape, User, events, task
from locust.runners import MasterRunner, WorkerRunner

from bench.load.budget import Gate, Guard, LoadBrowser
from bench.load.driver import Clock, SessionDriver
from bench.load.ramp import Judge, step_type
from bench.load.wire import interaction_out, round_out
from bench.plan import fetch_graph
from bench.session import candidates
from bench.specs import PEER, spec_for
from workload import REGIONS

RECORDS = "statelab-record"  # worker -> master: one session event
STEP = "statelab-step"  # master -> workers: the ramp's current step
ABANDON_EVERY_S = 0.5
WARM_CAP = 2  # the warm-up lasts at most this many times --warmup-seconds
WARM_ROUNDS = len(REGIONS)  # a session asks for every region in this many rounds (bench/session.region)
REPORT_S = 1.0  # workers report their stats to the master every second (Locust's default: 3)
locust.runners.WORKER_REPORT_INTERVAL = REPORT_S
_STEP: dict = {"k": None}  # the ramp's current step, as the master last said (None: the load scenario)


@events.init_command_line_parser.add_listener
def _arguments(parser):
    parser.add_argument("--statelab-config", default="{}", help="the run's settings as JSON (bench/load/swarm.py)")


def settings_of(environment) -> dict:
    options = environment.parsed_options
    return json.loads(getattr(options, "statelab_config", None) or "{}")


class Worker:
    """What one worker process shares between its sessions: the settings, graphs, budget, step and abandon watch."""

    def __init__(self, environment):
        self.environment = environment
        self.cfg = settings_of(environment)
        runner = environment.runner
        self.worker_index = getattr(runner, "worker_index", 0) if isinstance(runner, WorkerRunner) else 0
        self.workers = max(1, int(self.cfg.get("workers_total", 1)))
        self.guard = Guard(max(1, int(self.cfg.get("max_requests", 50_000)) // self.workers))
        self.clock = Clock(0.0)  # wall time: the master's records are shifted to the load's start when read back
        self.counter = itertools.count()
        self.graphs: dict[str, object] = {}
        self.stopping = False
        self.sessions: set = set()
        self.specs = {slug: (PEER if slug == PEER.slug else spec_for(slug)) for slug in self.cfg.get("strategies", [])}
        self.candidates = {slug: candidates(spec, [self.cfg.get("rows", 1_000)]) for slug, spec in self.specs.items()}
        gevent.spawn(self._watch_abandoned)

    def graph(self, url: str):
        if url not in self.graphs:
            self.graphs[url] = fetch_graph(url, self.cfg.get("timeout", 120.0))
        return self.graphs[url]

    def urls_for(self, slug: str) -> list[str]:
        return list(self.cfg.get("urls_by_strategy", {}).get(slug) or self.cfg["urls"])

    def assign(self) -> tuple[int, int, str]:
        """(session index, rank among its strategy's sessions, strategy): unique over every worker of the run."""
        g = next(self.counter) * self.workers + self.worker_index
        slugs = self.cfg["strategies"]
        return g, g // len(slugs), slugs[g % len(slugs)]

    def _watch_abandoned(self) -> None:
        limit = float(self.cfg.get("abandon_after", 30.0))
        while True:
            gevent.sleep(ABANDON_EVERY_S)
            now = self.clock.now()
            for user in list(self.sessions):
                user.gate.give_up_if_older(now, limit)


_WORKER: dict = {}


def worker_of(environment) -> Worker:
    if "w" not in _WORKER:
        _WORKER["w"] = Worker(environment)
    return _WORKER["w"]


class Shipper:
    """A SessionDriver's sink on a worker: every call becomes one message to the master (and stale reads and
    leaks seen here become Locust events of their own)."""

    def __init__(self, user: DashSession, slug: str):
        self.user, self.slug = user, slug
        self.written: set = set()
        self.last_checks: list = []

    def _send(self, kind: str, **a) -> None:
        self.user.environment.runner.send_message(RECORDS, {"slug": self.slug, "step": _STEP["k"], "k": kind, "a": a})

    def joined(self, session):
        self._send("joined", session=session)

    def loaded(self, interaction):
        self._send("loaded", interaction=interaction_out(interaction))

    def error(self, t0, t1, session, message):
        self._send("error", t0=t0, t1=t1, session=session, message=str(message)[:300])

    def gave_up(self, t0, session, why):
        self._send("gave_up", t0=t0, session=session, why=why)

    def reset(self):
        self._send("reset")

    def reload(self):
        self._send("reload")

    def held(self, nbytes):
        self._send("held", nbytes=nbytes)

    def round(self, record, t0, t1, expected, shown):
        self.last_checks = record.checks
        self.written.add(expected)
        timed = record.interaction is not None and bool(record.interaction.calls)
        failed = bool(record.interaction and record.interaction.all_errors)
        self._send("round", **round_out(record, t0, t1, expected, shown), ms=record.interaction.ms if timed else None,
                   failed=failed)


class DashSession(User):
    """One browser session on one strategy (chosen per instance): one interaction per task."""

    def wait_time(self):
        return self.driver.think(float(self.w.cfg.get("think", 0.5))) if getattr(self, "driver", None) else 1.0

    def on_start(self):
        self.w = w = worker_of(self.environment)
        index, rank, slug = w.assign()
        self.slug = slug
        urls = w.urls_for(slug)
        rotate = index % len(urls)
        self.gate = Gate(w.guard)
        self.browser = LoadBrowser(urls[rotate:] + urls[:rotate], float(w.cfg.get("timeout", 120.0)), self.gate)
        self.shipper = Shipper(self, slug)
        self.driver = SessionDriver(index, rank, w.specs[slug], self.browser, self.gate, w.graph(urls[0]),
                                    int(w.cfg.get("rows", 1_000)), w.cfg.get("run_id", "run"), w.clock, self.shipper,
                                    w.candidates[slug], stopping=lambda: w.stopping or w.guard.stop.is_set())
        w.sessions.add(self)

    @task
    def interact(self):
        try:
            out = self.driver.task()
        except GreenletExit:  # the stop timeout ran out: the run's hard stop cut this interaction
            busy = self.gate.busy
            if busy is not None:
                self.shipper.gave_up(busy[1], self.driver.index, "the run ended (hard stop)")
            raise
        if out is None:  # the page did not open: reported as an error; try again after the think time
            return
        k = _STEP["k"]
        rtype = "interaction" if k is None else ("warm-up" if k < 0 else step_type(k))
        if not out.answered:
            self._fire("unanswered", out.t1 - out.t0, 0, RuntimeError("given up on"))
            return
        if out.interaction is None:
            return  # the round changed nothing: a browser sends nothing, and the report counts nothing
        error = out.interaction.all_errors
        self._fire(rtype, out.interaction.ms, out.interaction.down, RuntimeError(error[0][:200]) if error else None)
        for expected, got in self.shipper.last_checks:
            if got is not None and got != expected:
                leak = got in self.shipper_others()
                self._fire("leak" if leak else "stale-read", 0, 0, None)

    def shipper_others(self) -> set:
        """Values other sessions of this worker (same strategy) asked for: a read of one of them is a leak."""
        return set().union(*(u.shipper.written for u in self.w.sessions if u is not self and u.slug == self.slug))

    def _fire(self, rtype: str, ms: float, length: int, exc) -> None:
        self.environment.events.request.fire(request_type=rtype, name=self.slug, response_time=ms, response_length=length,
                                             exception=exc, context={})

    def on_stop(self):
        try:
            self.driver.finish()
        finally:
            self.w.sessions.discard(self)
            self.browser.close()


# --------------------------------------------------------------------------- the master's side


class Records:
    """The master's records file: one JSON line per worker message, per step and at the start and the end."""

    def __init__(self, path: str):
        self.file = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - open for the master's life
        self.judge: Judge | None = None

    def line(self, item: dict) -> None:
        self.file.write(json.dumps(item, separators=(",", ":")) + "\n")

    def on_message(self, msg, **_kw) -> None:
        data = msg.data
        self.line({"type": "ev", "w": getattr(msg, "node_id", None), **data})
        if self.judge is not None:
            self.judge.see(data)


_MASTER: dict = {}


@events.init.add_listener
def _init(environment, **_kw):
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        runner.register_message(STEP, _on_step)
        return
    cfg = settings_of(environment)
    if not cfg.get("records"):
        return
    records = Records(cfg["records"])
    _MASTER["records"] = records
    runner.register_message(RECORDS, records.on_message)
    if not isinstance(runner, MasterRunner):  # a local runner (locust without --master): its users' steps, here
        runner.register_message(STEP, _on_step)


def _on_step(msg, **_kw):
    _STEP["k"] = msg.data.get("k")


@events.test_stopping.add_listener
def _stopping(environment, **_kw):
    if "w" in _WORKER:
        _WORKER["w"].stopping = True


@events.quitting.add_listener
def _quitting(environment, **_kw):
    records = _MASTER.get("records")
    if records is not None:
        records.line({"type": "end", "t": time.time()})
        records.file.close()


class Shape(LoadTestShape):
    """The run's sessions over time: constant for --duration (load), or the capacity ramp (steps until a limit);
    then a drain: no sessions, until every worker has stopped its users (they finish the interaction in flight,
    up to --stop-timeout) and sent its last stats, and only then the end (the master quits, the workers with it)."""

    def __init__(self):
        super().__init__()
        self.k: int | None = None
        self.started = False
        self.drain_since: float | None = None
        self.empty_since: float | None = None
        self.warm_end: float | None = None

    def _cfg(self) -> dict:
        return settings_of(self.runner.environment)

    def tick(self):
        cfg = self._cfg()
        records = _MASTER.get("records")
        now = self.get_run_time()
        if not self.started:
            self.started = True
            if records is not None:
                records.line({"type": "start", "t": time.time() - now, "mode": cfg.get("mode")})
                if cfg.get("mode") == "capacity":
                    records.judge = Judge(cfg)
        if self.drain_since is not None:
            return self._drain(records)
        if cfg.get("mode") != "capacity":
            sessions = int(cfg.get("sessions", 1))
            return (sessions, float(sessions)) if now < float(cfg.get("duration", 60.0)) else self._drain(records)
        return self._ramp(cfg, records, now)

    def _drain(self, records: Records | None):
        now = time.monotonic()
        if self.drain_since is None:
            self.drain_since = now
            if records is not None:
                records.line({"type": "drain", "t": time.time()})
        if self.get_current_user_count() == 0:
            self.empty_since = self.empty_since or now
            if now - self.empty_since >= 2 * REPORT_S + 1:
                return None
        elif now - self.drain_since > (self.runner.environment.stop_timeout or 0) + 15:
            return None  # a worker that does not report back: the end anyway (the time bound holds)
        return 0, 100.0

    def _warm(self, cfg: dict, records: Records | None, now: float) -> bool:
        """Whether the warm-up is over. It runs the first step's sessions (step -1, never judged) until every session
        has asked for every value the workload has (WARM_ROUNDS rounds each: the site's caches and workers have met
        them all, so the ramp measures the steady state, not the cold start), for at least --warmup-seconds and at
        most WARM_CAP × that."""
        if self.warm_end is not None:
            return True
        least = float(cfg.get("warmup_s", 0))
        rounds = records.judge.warm if records is not None and records.judge is not None else 0
        if now >= least and (rounds >= WARM_ROUNDS * cfg["steps"][0] or now >= WARM_CAP * least):
            self.warm_end = now
            if records is not None:
                records.line({"type": "warmed", "t": time.time(), "rounds": rounds})
            return True
        return False

    def _ramp(self, cfg: dict, records: Records | None, now: float):
        steps, step_s = cfg["steps"], float(cfg["step_s"])
        k = -1 if not self._warm(cfg, records, now) else min(int((now - self.warm_end) // step_s), len(steps))
        if k != self.k:
            if self.k is not None and self.k >= 0 and records is not None:
                verdict = records.judge.close(self.k, steps[self.k])
                records.line({"type": "judged", "t": time.time(), **verdict})
                if not verdict["within"]:
                    return self._drain(records)
            if k >= len(steps):
                return self._drain(records)
            self.k = k
            self.runner.send_message(STEP, {"k": k})
            if records is not None:
                records.line({"type": "step", "k": k, "users": steps[max(k, 0)], "t": time.time(),
                              "strategy": cfg["strategies"][0]})
        new = steps[max(k, 0)] - (steps[k - 1] if k > 0 else 0)
        return steps[max(k, 0)], max(4.0, new / max(0.5, step_s / 4))
