"""The load's orchestration: plan the sessions, start them with the monitors, keep time (duration, drain, hard
stop), then hand what was recorded to the analysis and put the report together."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

import reports
from reports.fmt import rounded

from .. import metrics
from ..plan import RunConfig, Target, config_record, fetch_graph, plan
from ..probe import Probe
from ..servers import PrivateRedis
from ..session import StepData, candidates
from .analysis import UNSAFE, events, load_fields, load_targets, outage_totals, summarize_memory, timeline
from .budget import Guard
from .driver import Clock, LoadSession, LoadStep
from .monitors import SAMPLE_S, MemoryWatch, RedisRestart

DEFAULT_SESSIONS = 50
DEFAULT_DURATION = 60.0
DEFAULT_THINK = 0.5  # seconds between a session's rounds (×0.5..1.5, per-session random)
DEFAULT_MAX_REQUESTS = 50_000
DEFAULT_DOWN_FOR = 3.0
WORKER_RSS_BOUND_MB = 150.0
REDIS_BOUND_MB = 200.0
GRACE_S = 5.0
DRAIN_S = 15.0
ABANDON_S = 30.0
MAX_EVENTS = 300
PERSISTENCE = ("none (redis-server --save '' --appendonly no): every value held in Redis before the restart — server-side "
               "frames, caches, counters, Celery's queue and results — is gone after it")


@dataclass
class LoadConfig:
    sessions: int = DEFAULT_SESSIONS
    duration: float = DEFAULT_DURATION
    rows: int = 1_000
    think: float = DEFAULT_THINK
    timeout: float = 120.0
    max_requests: int = DEFAULT_MAX_REQUESTS
    strategies: list[str] | None = None
    restart_at: float | None = None
    down_for: float = DEFAULT_DOWN_FOR
    grace: float = GRACE_S
    rss_bound: float = WORKER_RSS_BOUND_MB
    redis_bound: float = REDIS_BOUND_MB
    drain: float = DRAIN_S
    abandon_after: float = ABANDON_S
    compute_delay: float | None = None


@dataclass
class Timing:
    """When the load ended, was cut off and stopped (seconds since it began); which sessions never ended."""

    load_end: float
    hard_stop: float
    stopped: float
    stuck: list[int]
    cancelled: bool


def _plan(cfg: LoadConfig, run_cfg: RunConfig, target: Target):
    graph = fetch_graph(target.urls[0], cfg.timeout)
    specs, skipped = plan(run_cfg, target, graph)
    if not specs:
        raise RuntimeError("no strategy to drive: the server lists none")
    if cfg.sessions < len(specs):
        for spec in specs[cfg.sessions:]:
            skipped[spec.slug] = f"no session left for it (--sessions {cfg.sessions} < {len(specs)} strategies)"
        specs = specs[: cfg.sessions]
    return graph, specs, skipped


def _progress_label(done: int, steps: dict, guard: Guard, restart: RedisRestart | None) -> str:
    errors = sum(len(ls.errors) for ls in steps.values())
    state = ""
    if restart and restart.down_at is not None:
        state = " · Redis down" if restart.up_at is None else " · Redis back"
    return f"load · {done:,} interactions · {errors} errors · {guard.sent:,} requests{state}"


def _keep_time(cfg: LoadConfig, clock: Clock, sessions: list[LoadSession], steps: dict, guard: Guard,
               restart: RedisRestart | None, progress, cancel: threading.Event | None, done: list[int]) -> bool:
    """Wait out the duration, giving up on interactions older than --abandon-after; True when cancelled."""
    deadline = cfg.duration
    while clock.now() < deadline:
        if cancel is not None and cancel.is_set():
            return True
        time.sleep(min(0.5, max(0.0, deadline - clock.now())))
        now = clock.now()
        for s in sessions:
            s.gate.give_up_if_older(now, cfg.abandon_after)
        progress(min(int(clock.now()), int(cfg.duration)), int(cfg.duration), _progress_label(done[0], steps, guard, restart))
        if guard.stop.is_set():
            break
    return False


def _wind_down(cfg: LoadConfig, clock: Clock, sessions: list[LoadSession], guard: Guard, restart: RedisRestart | None,
               watch: MemoryWatch, cancelled: bool) -> Timing:
    """Drain the rounds still running, then the hard stop, then the requests already on the wire."""
    load_end = clock.now()
    drain_until = time.monotonic() + cfg.drain
    for s in sessions:
        s.join(max(0.0, drain_until - time.monotonic()))
    guard.stop.set()  # the hard stop: whatever is still polling or chaining is cut off now
    hard_stop = clock.now()
    last_call = time.monotonic() + cfg.timeout + 5  # a request already on the wire ends within its timeout
    for s in sessions:
        s.join(max(0.0, last_call - time.monotonic()))
    stuck = [s.index for s in sessions if s.is_alive()]
    if restart:
        restart.cancel.set()
        restart.join(30)
    watch.finish()
    return Timing(load_end, hard_stop, clock.now(), stuck, cancelled)


def _outage(cfg: LoadConfig, restart: RedisRestart | None, stopped: float) -> tuple[dict | None, tuple | None]:
    """The restart's record and its window [down, up + grace] (None, None without a restart)."""
    if restart is None:
        return None, None
    outage = {"planned_at_s": cfg.restart_at, "down_for_s": cfg.down_for, "grace_s": cfg.grace,
              "down_at_s": rounded(restart.down_at, 2), "up_at_s": rounded(restart.up_at, 2), "problem": restart.problem,
              "persistence": PERSISTENCE}
    window = None
    if restart.down_at is not None:
        end = restart.up_at if restart.up_at is not None else stopped
        window = (restart.down_at, end + cfg.grace)
        outage["window_s"] = [rounded(window[0], 2), rounded(window[1], 2)]
    return outage, window


def _results(steps: dict, before: dict, after: dict, target: Target, run_cfg: RunConfig, window, load_end: float,
             restarted: bool) -> list[dict]:
    results = []
    for ls in steps.values():
        step = ls.step
        step.before, step.after = before[ls.spec.slug], after[ls.spec.slug]
        step.seconds = load_end
        row = metrics.summarize(step, target, run_cfg)
        row["scenario"] = "load"  # also with several hosts
        row.update(load_fields(ls, window, load_end))
        if restarted:
            for key in ("computations", "cache_hits", "cache_misses", "cache_hit_rate"):
                row[key] = None  # the counters live in Redis: the restart reset them
        results.append(row)
    return results


def _config(cfg: LoadConfig, run_cfg: RunConfig, target: Target, skipped: dict, specs: list, steps: dict, guard: Guard,
            timing: Timing, redis_url: str | None, redis: PrivateRedis | None, results: list[dict]) -> dict:
    config = config_record(run_cfg, target, skipped, specs)
    config.update({
        "rows": [cfg.rows], "rounds": None, "duration_s": cfg.duration, "think_s": cfg.think, "drain_s": cfg.drain,
        "timeout": cfg.timeout, "max_requests": cfg.max_requests, "requests_sent": guard.sent,
        "budget_exhausted": guard.exhausted, "cancelled": timing.cancelled,
        "sessions_per_strategy": {slug: len(ls.sessions) for slug, ls in steps.items()},
        "assignment": "session i drives strategy i mod n, in the order of 'strategies'",
        "redis_url": redis_url, "redis_started_here": redis is not None,
        "loopback": all("127.0.0.1" in u or "localhost" in u for u in target.urls),
        "load_end_s": rounded(timing.load_end, 2), "hard_stop_s": rounded(timing.hard_stop, 2),
        "stopped_s": rounded(timing.stopped, 2), "time_bound_s": cfg.duration + cfg.drain + cfg.timeout + 5,
        "sessions_stuck": timing.stuck, "abandon_after_s": cfg.abandon_after,
        "claims_isolation": [s.slug for s in specs if s.slug not in UNSAFE],
        "bounds": {"worker_rss_growth_mb": cfg.rss_bound, "redis_rss_growth_mb": cfg.redis_bound, "grace_s": cfg.grace},
        "workers_observed": max((r["workers_hit"] or 0 for r in results), default=0),
    })
    if not config["loopback"]:
        config["skipped"]["loopback"] = "a --url that is not loopback: the load went over the network"
    return config


def run(cfg: LoadConfig, target: Target, master_pid: int | None = None, redis_url: str | None = None,
        redis: PrivateRedis | None = None, progress=None, cancel: threading.Event | None = None) -> dict:
    """Run the load and return the report (schema statelab.bench/1, scenario "load")."""
    began = time.time()
    progress = progress or (lambda done, total, label: None)
    run_cfg = RunConfig(rows=[cfg.rows], sessions=cfg.sessions, rounds=1, strategies=cfg.strategies, scenario="load",
                        timeout=cfg.timeout, compute_delay=cfg.compute_delay)
    target = Target(target.urls, workers=target.workers, backend=target.backend)  # the load is on the site: no peer
    graph, specs, skipped = _plan(cfg, run_cfg, target)
    run_id = secrets.token_hex(3)
    steps = {}
    for spec in specs:
        step = StepData(spec, cfg.rows, scenario="load")
        step.candidates = candidates(spec, [cfg.rows])  # a read is recognised among this row count's values
        steps[spec.slug] = LoadStep(step)

    probe = Probe(target.urls)
    before = {slug: probe.read(ls.spec) for slug, ls in steps.items()}
    guard = Guard(cfg.max_requests)
    ended = threading.Event()
    clock = Clock()
    watch = MemoryWatch(clock, master_pid, redis_url)
    watch.sample()  # the start: before the first session sends anything
    done = [0]
    lock = threading.Lock()

    def tick():
        with lock:
            done[0] += 1

    sessions = []
    for i in range(cfg.sessions):
        ls = steps[specs[i % len(specs)].slug]
        ls.sessions.append(i)
        urls = target.urls[i % len(target.urls):] + target.urls[: i % len(target.urls)]
        sessions.append(LoadSession(i, i // len(specs), ls, urls, graph, cfg.rows, run_id, clock, guard, ended,
                                    cfg.think, cfg.timeout, tick))
    restart = RedisRestart(redis, clock, cfg.restart_at, cfg.down_for) if redis is not None and cfg.restart_at is not None else None
    clock.t0 = time.time()
    watch.samples[0]["t"] = 0.0
    watch.start()
    if restart:
        restart.start()
    for s in sessions:
        s.start()
    try:
        cancelled = _keep_time(cfg, clock, sessions, steps, guard, restart, progress, cancel, done)
    except KeyboardInterrupt:
        guard.stop.set()
        raise
    finally:
        ended.set()
    timing = _wind_down(cfg, clock, sessions, guard, restart, watch, cancelled)
    after = {slug: probe.read(ls.spec) for slug, ls in steps.items()}
    probe.close()
    return _report(began, cfg, run_cfg, target, skipped, specs, steps, before, after, guard, timing, watch, restart,
                   redis_url, redis)


def _report(began, cfg, run_cfg, target, skipped, specs, steps, before, after, guard, timing, watch, restart, redis_url,
            redis) -> dict:
    outage, window = _outage(cfg, restart, timing.stopped)
    results = _results(steps, before, after, target, run_cfg, window, timing.load_end, restart is not None)
    redis_note = None
    if restart is not None:
        redis_note = (f"restarted at {outage.get('down_at_s')} s: the end reading is of a fresh server; the bound "
                      "applies to the peak over the whole run")
    memory = summarize_memory(
        watch.samples, cfg.rss_bound, cfg.redis_bound,
        workers_note="not measured: --url (the harness did not start the site, so it knows no worker processes)",
        redis_note=redis_note, every_s=SAMPLE_S)
    config = _config(cfg, run_cfg, target, skipped, specs, steps, guard, timing, redis_url, redis, results)
    found = events(steps.values(), window)
    report = reports.envelope(began, config, results)
    report.update({"memory": memory, "outage": outage, "timeline": timeline(steps.values(), timing.load_end),
                   "events_total": len(found), "events": found[:MAX_EVENTS]})
    if outage is not None:
        outage.update(outage_totals(results))
    report["targets"] = load_targets(report)
    report["passed"] = all(t["met"] is not False for t in report["targets"])
    return report
