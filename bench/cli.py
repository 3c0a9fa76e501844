"""python -m bench: one argparse for every scenario (standard, stampede, load, capacity) and --replot; it starts
what a scenario needs (bench/servers.py), runs it and writes DIR/report.json, report.csv and report.html (reports/).

A scenario beyond the standard run is one module's `run(args) -> Path` (writes into args.out, returns the report's
path, raises on failure), listed in SCENARIOS below: adding one is one entry there and its choice; it passes
args.lang to reports.write.

--lang en|zh|ja: the language of report.html (i18n.speaking while it is written; the catalogs compiled into the
data directory's locale/, as the site does). report.json and report.csv are the same in every language (English
field names and values), and what the terminal prints stays English."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
from pathlib import Path

import i18n
import reports
from config import ConfigError, load_settings
from reports.tables import summary_table

from . import capacity, encodings, push
from .load import scenario as load_scenario
from .load.swarm import default_processes, run_workers
from .progress import ProgressBar
from .runner import STAMPEDE_SESSIONS, Cancelled, RunConfig, Runner
from .servers import PrivateRedis, Servers, strategy_list

# Scenarios other than the standard run and the stampede: name -> run(args) -> Path of report.json.
SCENARIOS = {
    "load": load_scenario.run,
    "capacity": capacity.run,
    "encodings": encodings.run,  # H14: the JSON path in headless Chromium (bench/encodings.py)
    "push": push.run,  # H12c: server push against polling on the live pages (bench/push.py)
}

DEFAULT_ROWS = "1000,10000"
DEFAULT_DELAY = 0.2


def _ints(text: str) -> list[int]:
    try:
        values = [int(v.replace("_", "")) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers separated by commas, got {text!r}") from None
    if not values or any(not 1 <= v <= 1_000_000 for v in values):
        raise argparse.ArgumentTypeError("row counts must be between 1 and 1,000,000")
    return sorted(set(values))


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark every state-sharing strategy of Dash State Lab on one workload: latency, bytes, "
        "worker hits, computations, stale reads and leaks. By default it starts its own gunicorn (4 workers, "
        "embedded stores, a temporary data directory) and the dash-extensions peer, and stops them after.",
    )
    parser.add_argument("--rows", type=_ints, default=_ints(DEFAULT_ROWS), help=f"row counts to sweep (default {DEFAULT_ROWS})")
    parser.add_argument("--sessions", type=_positive, help="concurrent sessions (default 4; 16 for --scenario stampede)")
    parser.add_argument("--rounds", type=_positive, help="interactions per session (default 3; repetitions for stampede, default 5)")
    parser.add_argument("--strategies", help="comma-separated slugs (default: every strategy the site lists, the no-op and the peer)")
    parser.add_argument("--out", type=Path, help="directory for report.json, report.csv, report.html (required)")
    parser.add_argument("--url", help="benchmark running server(s) instead of starting one; several, comma-separated, "
                        "share one Redis (scale-out): sessions' callbacks go round-robin over them")
    parser.add_argument("--redis", help="Redis URL: start the site in Redis mode (with a Celery worker); with --url, "
                        "the Redis the servers share (reported only); 'auto': start a private redis-server on a free port")
    parser.add_argument("--scenario", choices=("standard", "stampede", *SCENARIOS), default="standard",
                        help="stampede: N sessions ask for one cold value at the same moment (cache-signal, serverside, peer); "
                        "load: N sessions over every strategy for --duration seconds, with worker and Redis memory (Locust); "
                        "capacity: per strategy a step ramp of sessions until p95 or errors pass their limits (Locust)")
    parser.add_argument("--workers", type=_positive, default=4, help="gunicorn workers of the site it starts (default 4)")
    parser.add_argument("--compute-delay", type=float, default=DEFAULT_DELAY,
                        help=f"seconds the expensive step sleeps on the site it starts (default {DEFAULT_DELAY})")
    parser.add_argument("--peer-url", help="with --url: where the dash-extensions peer runs (else no peer row)")
    parser.add_argument("--no-peer", action="store_true", help="do not start or measure the dash-extensions peer")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before one request counts as failed")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    load = parser.add_argument_group("load scenario (--scenario load; see bench/load/)")
    load.add_argument("--duration", type=float, default=60.0, help="seconds the load runs (default 60)")
    load.add_argument("--think", type=float, default=0.5, help="seconds a session waits between rounds, ×0.5..1.5 (default 0.5)")
    load.add_argument("--max-requests", type=_positive, default=50_000, help="requests the whole run may send (default 50000)")
    load.add_argument("--abandon-after", type=float, default=30.0, help="seconds after which an unanswered interaction is "
                      "given up on and its page reloaded (default 30)")
    load.add_argument("--restart-redis-at", type=float, metavar="SECONDS",
                      help="with --redis auto: stop Redis at this second of the load and start it again on the same port")
    load.add_argument("--redis-down-for", type=float, default=3.0, help="seconds Redis stays down (default 3)")
    load.add_argument("--grace", type=float, default=5.0, help="seconds after Redis is back during which errors still count "
                      "as the outage's (default 5)")
    load.add_argument("--rss-bound-mb", type=float, default=150.0, help="allowed RSS growth of each gunicorn worker (default 150)")
    load.add_argument("--redis-bound-mb", type=float, default=200.0, help="allowed used_memory_rss growth of Redis (default 200)")
    swarm = parser.add_argument_group("load engine (load and capacity: Locust, a master and worker processes)")
    swarm.add_argument("--load-processes", type=_positive, default=default_processes(),
                       help=f"Locust worker processes on this machine (default cores − 1, at least 1: {default_processes()})")
    swarm.add_argument("--locust-bind", default="127.0.0.1", metavar="HOST",
                       help="address the Locust master listens on for workers (default 127.0.0.1; 0.0.0.0 lets other "
                       "machines' workers join, with --remote-workers)")
    swarm.add_argument("--remote-workers", type=int, default=0, metavar="K",
                       help="Locust workers the master waits for from other machines (or other processes here, with "
                       "the default bind), besides its own; it then listens on Locust's port 5557 (default 0)")
    swarm.add_argument("--locust-master", metavar="HOST[:PORT]",
                       help="worker mode: run --load-processes Locust workers for the master at HOST (another machine's "
                       "python -m bench --locust-bind 0.0.0.0 --remote-workers K ...), until it quits; nothing else")
    capacity.add_options(parser)
    push.add_options(parser)
    parser.add_argument("--lang", choices=tuple(i18n.LANGUAGES), default=i18n.DEFAULT,
                        help="language of report.html: en (default), zh (简体中文) or ja (日本語); report.json and "
                        "report.csv keep their English field names")
    parser.add_argument("--replot", type=Path, metavar="REPORT_JSON",
                        help="run nothing: write report.csv and report.html (and a copy of the JSON) from an existing report.json")
    args = parser.parse_args(argv)
    if args.locust_master:
        return args
    if args.out is None:
        parser.error("--out DIR is required")
    if args.remote_workers < 0:
        parser.error("--remote-workers must not be negative")
    if args.scenario == "capacity":
        problem = capacity.check_args(args)
        if problem:
            parser.error(problem)
    if args.sessions is None:
        args.sessions = {"stampede": STAMPEDE_SESSIONS, "load": 50}.get(args.scenario, 4)
    if args.rounds is None:
        args.rounds = 5 if args.scenario == "stampede" else 3
    if args.compute_delay < 0:
        parser.error("--compute-delay must not be negative")
    if args.redis == "auto" and args.url:
        parser.error("--redis auto starts a private redis-server for a site the harness starts: not with --url")
    if args.scenario == "load" or args.restart_redis_at is not None:
        problem = check_args(args) if args.scenario == "load" else "--restart-redis-at needs --scenario load"
        if problem:
            parser.error(problem)
    return args


def check_args(args) -> str | None:
    """What is wrong with the load options, or None."""
    if args.duration <= 0:
        return "--duration must be positive"
    if args.think < 0:
        return "--think must not be negative"
    if args.abandon_after <= 0 or args.redis_down_for < 0 or args.grace < 0:
        return "--abandon-after must be positive; --redis-down-for and --grace must not be negative"
    if args.restart_redis_at is not None:
        if args.redis != "auto" or args.url:
            return "--restart-redis-at needs --redis auto (a redis-server the harness starts, and may stop) and no --url"
        if not 0 < args.restart_redis_at < args.duration:
            return "--restart-redis-at must be inside the duration (0 < T < --duration)"
    return None


def _print_paths(paths: dict) -> None:
    for kind, path in paths.items():
        print(f"{kind:>4}: {path}")


def load_catalogs(lang: str) -> None:
    """The catalogs report.html needs in `lang`, compiled into the data directory's locale/ (STATELAB_DATA_DIR, as the
    site compiles them; private, as everything there) and read from there. English needs none."""
    if lang != i18n.DEFAULT:
        i18n.load_catalogs(load_settings().data_dir / "locale")


def _replot(args: argparse.Namespace) -> int:
    try:
        paths = reports.write(reports.load(args.replot), args.out, lang=args.lang)
    except (OSError, ValueError) as exc:
        print(f"error: {args.replot}: {exc}", file=sys.stderr)
        return 1
    _print_paths(paths)
    return 0


def _scenario(args: argparse.Namespace) -> int:
    """A scenario of SCENARIOS: it prints its summary and writes DIR/report.*; errors end the run with code 1."""
    try:
        path = SCENARIOS[args.scenario](args)
    except KeyboardInterrupt:
        print("\ncancelled", file=sys.stderr)
        return 130
    except (ConfigError, RuntimeError, TimeoutError, OSError, ValueError) as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1
    for kind in ("json", "csv", "html"):
        print(f"{kind:>4}: {path.with_suffix('.' + kind)}")
    return 0


def _standard(args: argparse.Namespace) -> int:
    """The standard run and the stampede: the site (and the peer) it starts, or --url."""
    private_redis = None
    if args.redis == "auto":
        private_redis = PrivateRedis(Path(tempfile.mkdtemp(prefix="statelab-redis-")))
        try:
            args.redis = private_redis.start().url
        except (RuntimeError, TimeoutError, OSError) as exc:
            private_redis.stop()
            print(f"error: {exc}", file=sys.stderr)
            return 1
    servers = Servers(args)
    cancel = threading.Event()
    bar = None if args.quiet else ProgressBar()
    try:
        target = servers.start()
        cfg = RunConfig(rows=args.rows, sessions=args.sessions, rounds=args.rounds, strategies=strategy_list(args.strategies),
                        scenario=args.scenario, timeout=args.timeout,
                        compute_delay=None if args.url else args.compute_delay)
        result = Runner(cfg, target, progress=bar, cancel=cancel).run()
    except KeyboardInterrupt:
        cancel.set()
        print("\ncancelled", file=sys.stderr)
        return 130
    except (Cancelled, ConfigError, RuntimeError, TimeoutError, OSError) as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1
    finally:
        if bar:
            bar.finish()
        servers.stop()
        if private_redis is not None:
            private_redis.stop()
            shutil.rmtree(private_redis.directory, ignore_errors=True)
    paths = reports.write(result, args.out, lang=args.lang)
    print(summary_table(result))
    _print_paths(paths)
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.locust_master:
        return run_workers(args.locust_master, args.load_processes)
    try:
        load_catalogs(args.lang)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.replot:
        return _replot(args)
    if args.scenario in SCENARIOS:
        return _scenario(args)
    return _standard(args)
