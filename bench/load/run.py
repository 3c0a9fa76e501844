"""The load's orchestration: plan the sessions, start Locust (a master and N worker processes, swarm.py) with the
monitors, wait until it stops by itself, then replay the master's records into the analysis and put the report
together."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import reports
from reports.fmt import rounded

from .. import metrics
from ..plan import RunConfig, Target, config_record, fetch_graph, plan
from ..probe import Probe
from ..servers import PrivateRedis
from .analysis import claims_isolation, events, load_fields, load_targets, outage_totals, summarize_memory, timeline
from .collect import collect
from .driver import Clock
from .monitors import SAMPLE_S, MemoryWatch, RedisRestart
from .swarm import Swarm, default_processes, locust_counts

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
    processes: int = 0  # Locust worker processes (0: default_processes())
    workdir: Path | None = None  # where Locust's records and stats go (a temporary directory of the caller's)
    bind_host: str = "127.0.0.1"  # the master's address for workers; another interface lets remote workers join
    remote_workers: int = 0


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
    return specs, skipped


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
             restarted: bool, locust: dict) -> list[dict]:
    results = []
    for ls in steps.values():
        step = ls.step
        step.before, step.after = before[ls.spec.slug], after[ls.spec.slug]
        step.seconds = load_end
        row = metrics.summarize(step, target, run_cfg)
        row["scenario"] = "load"  # also with several hosts
        row.update(load_fields(ls, window, load_end))
        row["locust_interactions"] = (locust.get(("interaction", ls.spec.slug)) or {}).get("requests", 0)
        if restarted:
            for key in ("computations", "cache_hits", "cache_misses", "cache_hit_rate"):
                row[key] = None  # the counters live in Redis: the restart reset them
        results.append(row)
    return results


def _config(cfg: LoadConfig, run_cfg: RunConfig, target: Target, skipped: dict, specs: list, steps: dict, swarm: dict,
            timing: Timing, redis_url: str | None, redis: PrivateRedis | None, results: list[dict]) -> dict:
    config = config_record(run_cfg, target, skipped, specs)
    config.update({
        "rows": [cfg.rows], "rounds": None, "duration_s": cfg.duration, "think_s": cfg.think, "drain_s": cfg.drain,
        "timeout": cfg.timeout, "max_requests": cfg.max_requests, "requests_sent": swarm["requests"],
        "budget_exhausted": swarm["requests"] >= swarm["budget"], "cancelled": timing.cancelled,
        "sessions_per_strategy": {slug: len(ls.sessions) for slug, ls in steps.items()},
        "assignment": "Locust user g (over every worker) drives strategy g mod n, in the order of 'strategies'",
        "load_engine": swarm["engine"],
        "redis_url": redis_url, "redis_started_here": redis is not None,
        "loopback": all("127.0.0.1" in u or "localhost" in u for u in target.urls),
        "load_end_s": rounded(timing.load_end, 2), "hard_stop_s": rounded(timing.hard_stop, 2),
        "stopped_s": rounded(timing.stopped, 2), "time_bound_s": cfg.duration + cfg.drain + cfg.timeout + 5,
        "sessions_stuck": timing.stuck, "abandon_after_s": cfg.abandon_after,
        "claims_isolation": [s.slug for s in specs if claims_isolation(s.slug)],
        "bounds": {"worker_rss_growth_mb": cfg.rss_bound, "redis_rss_growth_mb": cfg.redis_bound, "grace_s": cfg.grace},
        "workers_observed": max((r["workers_hit"] or 0 for r in results), default=0),
    })
    if not config["loopback"]:
        config["skipped"]["loopback"] = "a --url that is not loopback: the load went over the network"
    return config


def swarm_settings(cfg: LoadConfig, target: Target, specs: list, run_id: str) -> dict:
    """What every Locust process of the load is told (locustfile.py reads it)."""
    return {"mode": "load", "urls": list(target.urls), "strategies": [s.slug for s in specs], "rows": cfg.rows,
            "think": cfg.think, "timeout": cfg.timeout, "max_requests": cfg.max_requests, "abandon_after": cfg.abandon_after,
            "run_id": run_id, "sessions": cfg.sessions, "duration": cfg.duration}


def _wait_for_start(swarm: Swarm, limit: float) -> float:
    """The load's start (wall clock) as the master wrote it; the monitors' clock starts there."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        t0 = swarm.started_at()
        if t0 is not None:
            return t0
        if swarm.master.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError("Locust did not start the load (no start record from its master); see its log:\n"
                       + swarm.result(False).log_tail)


def run(cfg: LoadConfig, target: Target, master_pid: int | None = None, redis_url: str | None = None,
        redis: PrivateRedis | None = None, progress=None, cancel: threading.Event | None = None) -> dict:
    """Run the load on Locust and return the report (schema statelab.bench/1, scenario "load")."""
    began = time.time()
    progress = progress or (lambda done, total, label: None)
    run_cfg = RunConfig(rows=[cfg.rows], sessions=cfg.sessions, rounds=1, strategies=cfg.strategies, scenario="load",
                        timeout=cfg.timeout, compute_delay=cfg.compute_delay)
    target = Target(target.urls, workers=target.workers, backend=target.backend)  # the load is on the site: no peer
    specs, skipped = _plan(cfg, run_cfg, target)
    probe = Probe(target.urls)
    before = {s.slug: probe.read(s) for s in specs}
    processes = cfg.processes or default_processes()
    swarm = Swarm(swarm_settings(cfg, target, specs, secrets.token_hex(3)), cfg.workdir or Path("."), processes,
                  stop_timeout=cfg.drain, time_bound=cfg.duration + 5, bind_host=cfg.bind_host,
                  remote_workers=cfg.remote_workers)
    clock = Clock()
    watch = MemoryWatch(clock, master_pid, redis_url)
    watch.sample()  # the start: before the first session sends anything
    restart = None
    swarm.start()
    try:
        clock.t0 = _wait_for_start(swarm, 150.0)
        watch.samples[0]["t"] = 0.0
        watch.start()
        if redis is not None and cfg.restart_at is not None:
            restart = RedisRestart(redis, clock, cfg.restart_at, cfg.down_for)
            restart.start()
        cancelled = [False]

        def tick():
            if cancel is not None and cancel.is_set():
                cancelled[0] = True
                swarm.stop()
            state = ""
            if restart and restart.down_at is not None:
                state = " · Redis down" if restart.up_at is None else " · Redis back"
            now = min(int(clock.now()), int(cfg.duration))
            progress(now, int(cfg.duration), f"load · {processes} Locust worker(s) · {now} s{state}")

        finished = swarm.wait(tick)
    finally:
        swarm.stop()
        if restart:
            restart.cancel.set()
            restart.join(30)
        watch.finish()
    result = swarm.result(timed_out=not finished)
    got = collect(result.records, specs, cfg.rows)
    stopped = got.end if got.end is not None else clock.now()
    timing = Timing(min(cfg.duration, stopped), min(cfg.duration + cfg.drain, stopped), stopped,
                    [] if finished else ["the Locust master did not stop within its time bound"], cancelled[0])
    after = {s.slug: probe.read(s) for s in specs}
    probe.close()
    engine = {"engine": "locust", "master": 1, "worker_processes": processes, "remote_workers": cfg.remote_workers,
              "workers_reporting": len(got.nodes.get(None) or ()),
              "stop_timeout_s": cfg.drain, "returncode": result.returncode}
    swarm_info = {"requests": got.requests, "budget": (cfg.max_requests // max(1, processes + cfg.remote_workers))
                  * max(1, processes + cfg.remote_workers), "engine": engine}
    return _report(began, cfg, run_cfg, target, skipped, specs, got.steps, before, after, swarm_info, timing, watch,
                   restart, redis_url, redis, locust_counts(result.stats))


def _report(began, cfg, run_cfg, target, skipped, specs, steps, before, after, swarm, timing, watch, restart, redis_url,
            redis, locust) -> dict:
    outage, window = _outage(cfg, restart, timing.stopped)
    results = _results(steps, before, after, target, run_cfg, window, timing.load_end, restart is not None, locust)
    redis_note = None
    if restart is not None:
        redis_note = (f"restarted at {outage.get('down_at_s')} s: the end reading is of a fresh server; the bound "
                      "applies to the peak over the whole run")
    memory = summarize_memory(
        watch.samples, cfg.rss_bound, cfg.redis_bound,
        workers_note="not measured: --url (the harness did not start the site, so it knows no worker processes)",
        redis_note=redis_note, every_s=SAMPLE_S)
    config = _config(cfg, run_cfg, target, skipped, specs, steps, swarm, timing, redis_url, redis, results)
    found = events(steps.values(), window)
    report = reports.envelope(began, config, results)
    report.update({"memory": memory, "outage": outage, "timeline": timeline(steps.values(), timing.load_end),
                   "events_total": len(found), "events": found[:MAX_EVENTS]})
    if outage is not None:
        outage.update(outage_totals(results))
    report["targets"] = load_targets(report)
    report["passed"] = all(t["met"] is not False for t in report["targets"])
    return report
