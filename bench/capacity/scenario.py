"""python -m bench --scenario capacity: for each server kind (--servers) and each strategy, a Locust step ramp of
sessions (2, 4, 8, … up to --max-sessions, --step-seconds each) until p95 passes --p95-limit-ms, errors pass
--error-limit-pct or the session bound is reached; the capacity is the last step within the limits.

Each (server, strategy) is one Locust run: a master and --load-processes workers (remote ones may join); the
master stops the ramp by itself at the first step out of the limits (locustfile.Shape), and the report
recomputes every step from all the records once the run is over (figures.py). Loopback by default, bounded in
sessions (--max-sessions), requests (--max-requests) and time (steps × step length + the stop timeout)."""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path

import reports
from config import load_settings
from reports import capacity as report_capacity
from reports import to_json
from stores import open_store

from ..load.collect import collect
from ..load.monitors import CpuWatch
from ..load.ramp import ERROR_LIMIT, P95_LIMIT_MS, ramp_steps
from ..load.swarm import Swarm, locust_counts
from ..plan import RunConfig, config_record, fetch_graph, plan
from ..progress import ProgressBar
from ..servers import Servers, server_list, strategy_list
from .figures import step_rows, summary

DEFAULT_STEP_S = 8.0
DEFAULT_WARMUP_S = 6.0
DEFAULT_MAX_SESSIONS = 64
MAX_SESSIONS_BOUND = 512


def add_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("capacity scenario (--scenario capacity; see bench/capacity/)")
    g.add_argument("--steps", help="sessions of each step, comma-separated (default 2,4,8,… doubling up to --max-sessions)")
    g.add_argument("--step-seconds", type=float, default=DEFAULT_STEP_S,
                   help=f"seconds each step lasts (default {DEFAULT_STEP_S:g})")
    g.add_argument("--warmup-seconds", type=float, default=DEFAULT_WARMUP_S,
                   help="warm-up at the first step's sessions before the ramp, not judged: until each session asked for every "
                   f"value (4 rounds), at least this many seconds, at most 2 × (default {DEFAULT_WARMUP_S:g})")
    g.add_argument("--max-sessions", type=int, default=DEFAULT_MAX_SESSIONS,
                   help=f"the session bound: no step beyond it (default {DEFAULT_MAX_SESSIONS}, at most {MAX_SESSIONS_BOUND})")
    g.add_argument("--p95-limit-ms", type=float, default=P95_LIMIT_MS,
                   help=f"a step is saturated when p95 of an interaction passes this (default {P95_LIMIT_MS:g})")
    g.add_argument("--error-limit-pct", type=float, default=100 * ERROR_LIMIT,
                   help=f"... or when errors pass this share of its interactions (default {100 * ERROR_LIMIT:g} %%)")
    g.add_argument("--publish", action="store_true",
                   help="also keep the report as the site's capacity report, in the store this environment's settings name "
                   "(STATELAB_DATA_DIR or REDIS_URL): the /benchmark page shows it")
    g.add_argument("--servers", help="server kinds of the site, comma-separated: sync, gthread, asgi (default: the "
                   "settings' own, STATELAB_SERVER); the same ramp against each")


def steps_of(args: argparse.Namespace) -> list[int]:
    given = [int(v) for v in args.steps.split(",") if v.strip()] if args.steps else None
    return ramp_steps(given, args.max_sessions)


def check_args(args: argparse.Namespace) -> str | None:
    """What is wrong with the capacity options, or None."""
    if not 1 <= args.max_sessions <= MAX_SESSIONS_BOUND:
        return f"--max-sessions must be between 1 and {MAX_SESSIONS_BOUND}"
    try:
        steps = steps_of(args)
        server_list(args.servers)
    except ValueError as exc:
        return f"--steps / --servers: {exc}"
    if any(s < 1 for s in steps):
        return "--steps must be whole numbers of at least 1"
    if not 2 <= args.step_seconds <= 600 or not 0 <= args.warmup_seconds <= 600:
        return "--step-seconds must be between 2 and 600, --warmup-seconds between 0 and 600"
    if args.p95_limit_ms <= 0 or not 0 <= args.error_limit_pct <= 100:
        return "--p95-limit-ms must be positive and --error-limit-pct between 0 and 100"
    if args.think < 0 or args.abandon_after <= 0:
        return "--think must not be negative and --abandon-after must be positive"
    return None


def _settings(args, spec, urls: list[str], steps: list[int]) -> dict:
    return {"mode": "capacity", "urls": urls, "strategies": [spec.slug], "rows": args.rows[0], "think": args.think,
            "timeout": args.timeout, "max_requests": args.max_requests, "abandon_after": args.abandon_after,
            "run_id": secrets.token_hex(3), "steps": steps, "step_s": args.step_seconds, "warmup_s": args.warmup_seconds,
            "p95_limit_ms": args.p95_limit_ms, "error_limit": args.error_limit_pct / 100}


def _strategy(args, spec, target, servers: Servers, label: str, steps: list[int], workdir: Path, bar) -> tuple[list, dict]:
    """One Locust ramp of one strategy on one server: its step rows and its capacity."""
    peer = spec.kind == "peer"
    urls = [target.peer_url] if peer else list(target.urls)
    masters = [servers.peer.pid] if peer and servers.peer else ([servers.site.web.pid] if servers.site else [])
    settings = _settings(args, spec, urls, steps)
    swarm = Swarm(settings, workdir, args.load_processes, stop_timeout=args.abandon_after + 5,
                  time_bound=2 * args.warmup_seconds + len(steps) * args.step_seconds + 5, bind_host=args.locust_bind,
                  remote_workers=args.remote_workers)
    cpu = CpuWatch(masters)
    cpu.sample()
    cpu.start()
    swarm.start()
    cpu.generator = swarm.pids
    began = time.monotonic()
    total = int(args.warmup_seconds + len(steps) * args.step_seconds)

    def tick():
        if bar:
            bar(min(total, int(time.monotonic() - began)), total, f"capacity · {label} · {spec.slug}")

    try:
        finished = swarm.wait(tick)
    finally:
        swarm.stop()
        cpu.finish()
    result = swarm.result(timed_out=not finished)
    got = collect(result.records, [spec], args.rows[0], scenario="capacity")
    ls = got.steps[spec.slug]
    problem = None
    if got.t0 is None:
        problem = f"Locust did not run (exit {result.returncode}): {result.log_tail[-600:]}"
    elif not finished:
        problem = "the Locust master did not stop within its time bound (stopped by the harness)"
    rows = step_rows(ls, got, locust_counts(result.stats), cpu.samples, settings, label) if got.t0 is not None else []
    cap = summary(rows, ls, label, settings, problem)
    cap["locust_seconds"] = round(result.seconds, 1)  # start-up, warm-up, ramp, drain: the whole Locust run
    cap["warmup_interactions"] = (locust_counts(result.stats).get(("warm-up", spec.slug)) or {}).get("requests", 0)
    return rows, cap


def _one_server(args, kind, steps, workdir, bar, results, capacities, skipped, planned) -> None:
    servers = Servers(args, server=kind)
    try:
        target = servers.start()
        label = (servers.settings.server if servers.settings is not None else None) or kind or "as deployed"
        graph = fetch_graph(target.urls[0], args.timeout)
        run_cfg = RunConfig(rows=[args.rows[0]], sessions=max(steps), rounds=1, strategies=strategy_list(args.strategies),
                            scenario="capacity", timeout=args.timeout)
        specs, skip = plan(run_cfg, target, graph)
        if run_cfg.strategies is not None:  # the floor only when asked for: each strategy's ramp costs a minute
            specs = [s for s in specs if s.slug in run_cfg.strategies]
        skipped.update(skip)
        planned.setdefault("target", target)
        planned.setdefault("specs", specs)
        planned.setdefault("run_cfg", run_cfg)
        for spec in specs:
            rows, cap = _strategy(args, spec, target, servers, label, steps, workdir, bar)
            results.extend(rows)
            capacities.append(cap)
    except (RuntimeError, TimeoutError, OSError) as exc:
        skipped[f"server {kind or 'default'}"] = f"{type(exc).__name__}: {exc}"[:400]
    finally:
        servers.stop()


def run(args: argparse.Namespace) -> Path:
    began = time.time()
    load_before = [round(x, 1) for x in os.getloadavg()]  # a machine busy with other work makes every figure worse
    steps = steps_of(args)
    tmp = Path(tempfile.mkdtemp(prefix="statelab-capacity-"))
    bar = None if args.quiet else ProgressBar()
    results: list[dict] = []
    capacities: list[dict] = []
    skipped: dict[str, str] = {}
    planned: dict = {}
    try:
        for kind in server_list(args.servers):
            _one_server(args, kind, steps, tmp / "locust", bar, results, capacities, skipped, planned)
    finally:
        if bar:
            bar.finish()
        shutil.rmtree(tmp, ignore_errors=True)
    if "target" not in planned:
        raise RuntimeError("no server started: " + "; ".join(f"{k}: {v}" for k, v in skipped.items()))
    config = config_record(planned["run_cfg"], planned["target"], skipped, planned["specs"])
    config.update({
        "scenario": "capacity", "rows": [args.rows[0]], "rounds": None, "sessions": max(steps),
        "servers": list(dict.fromkeys(c["server"] for c in capacities)), "steps": steps, "step_s": args.step_seconds,
        "max_sessions": args.max_sessions, "warmup_s": args.warmup_seconds, "p95_limit_ms": args.p95_limit_ms, "error_limit": args.error_limit_pct / 100,
        "think_s": args.think, "timeout": args.timeout, "abandon_after_s": args.abandon_after,
        "max_requests_per_run": args.max_requests, "compute_delay": None if args.url else args.compute_delay,
        "load_engine": {"engine": "locust", "master": 1, "worker_processes": args.load_processes,
                        "remote_workers": args.remote_workers, "bind": args.locust_bind,
                        "stop_timeout_s": args.abandon_after + 5},
        "loopback": all("127.0.0.1" in u or "localhost" in u for u in planned["target"].urls),
        "time_bound_s_per_ramp": round(2 * args.warmup_seconds + len(steps) * args.step_seconds + args.abandon_after + 175, 1),
        "peer_server": "gunicorn sync workers (bench/peers.py), whatever --servers says",
        "load_average": {"start": load_before, "end": [round(x, 1) for x in os.getloadavg()],
                         "note": "1, 5 and 15 min load averages of the machine (os.getloadavg), against its CPUs"},
    })
    report = report_capacity.assemble(began, config, results, capacities)
    paths = reports.write(report, args.out, lang=getattr(args, "lang", None))
    print(report_capacity.summary_text(report))
    if args.publish:
        publish(report)
    return paths["json"]


def publish(report: dict) -> None:
    """Keep the report where the site reads its capacity report (its store, as this environment configures it)."""
    settings = load_settings()
    store = open_store(settings)
    store.set(report_capacity.STORE_KEY, to_json(report).encode())
    print(f"published as the site's capacity report ({'Redis' if settings.redis_url else settings.data_dir / 'store'})")
