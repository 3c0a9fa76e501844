"""python -m bench: run the benchmark and write DIR/report.json, report.csv and report.html."""

from __future__ import annotations

import argparse
import secrets
import shutil
import sys
import tempfile
import threading
from pathlib import Path

from config import ConfigError, load_settings
from serve import Site, free_port

from . import report
from .progress import ProgressBar
from .runner import STAMPEDE_SESSIONS, Cancelled, RunConfig, Runner, Target
from .specs import PEER

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
    parser.add_argument("--out", required=True, type=Path, help="directory for report.json, report.csv, report.html")
    parser.add_argument("--url", help="benchmark running server(s) instead of starting one; several, comma-separated, "
                        "share one Redis (scale-out): sessions' callbacks go round-robin over them")
    parser.add_argument("--redis", help="Redis URL: start the site in Redis mode (with a Celery worker); with --url, "
                        "the Redis the servers share (reported only); 'auto': start a private redis-server on a free port")
    parser.add_argument("--scenario", choices=("standard", "stampede", "load"), default="standard",
                        help="stampede: N sessions ask for one cold value at the same moment (cache-signal, serverside, peer); "
                        "load: N sessions over every strategy for --duration seconds, with worker and Redis memory")
    parser.add_argument("--workers", type=_positive, default=4, help="gunicorn workers of the site it starts (default 4)")
    parser.add_argument("--compute-delay", type=float, default=DEFAULT_DELAY,
                        help=f"seconds the expensive step sleeps on the site it starts (default {DEFAULT_DELAY})")
    parser.add_argument("--peer-url", help="with --url: where the dash-extensions peer runs (else no peer row)")
    parser.add_argument("--no-peer", action="store_true", help="do not start or measure the dash-extensions peer")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before one request counts as failed")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    load = parser.add_argument_group("load scenario (--scenario load; see bench/load.py)")
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
    parser.add_argument("--replot", type=Path, metavar="REPORT_JSON",
                        help="run nothing: write report.csv and report.html (and a copy of the JSON) from an existing report.json")
    args = parser.parse_args(argv)
    if args.sessions is None:
        args.sessions = {"stampede": STAMPEDE_SESSIONS, "load": 50}.get(args.scenario, 4)
    if args.rounds is None:
        args.rounds = 5 if args.scenario == "stampede" else 3
    if args.compute_delay < 0:
        parser.error("--compute-delay must not be negative")
    if args.redis == "auto" and args.url:
        parser.error("--redis auto starts a private redis-server for a site the harness starts: not with --url")
    if args.scenario == "load" or args.restart_redis_at is not None:
        from .load import check_args

        problem = check_args(args) if args.scenario == "load" else "--restart-redis-at needs --scenario load"
        if problem:
            parser.error(problem)
    return args


def _strategies(text: str | None) -> list[str] | None:
    return [s.strip() for s in text.split(",") if s.strip()] if text else None


class Servers:
    """The site (and the peer) this run starts, or the ones --url names."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.site: Site | None = None
        self.peer = None
        self.tmp: Path | None = None

    def start(self) -> Target:
        args = self.args
        wanted = _strategies(args.strategies)
        want_peer = not args.no_peer and (wanted is None or PEER.slug in wanted)
        if args.url:
            urls = [u.strip().rstrip("/") for u in args.url.split(",") if u.strip()]
            peer_url = args.peer_url.rstrip("/") if args.peer_url and want_peer else None
            backend = "redis" if args.redis else "unknown"
            return Target(urls, workers=None, backend=backend, peer_url=peer_url, peer_spec=PEER if peer_url else None)
        self.tmp = Path(tempfile.mkdtemp(prefix="statelab-bench-"))
        settings = load_settings(env={}, data_dir=self.tmp / "site", redis_url=args.redis, compute_delay=args.compute_delay,
                                 secret=secrets.token_hex(16), rate_limits="off",  # all its sessions share loopback
                                 any_rows="on")  # the stampede asks for row counts no page offers
        self.site = Site(settings, workers=args.workers, log_dir=self.tmp / "logs", supervise=True).start()
        peer_url, problem = None, None
        if want_peer:
            try:
                from bench.peers import start_peer

                port = free_port()
                self.peer = start_peer(port, self.tmp / "peer", workers=args.workers, compute_delay=args.compute_delay,
                                       redis_url=args.redis, log=self.tmp / "logs" / "peer.log")
                peer_url = f"http://127.0.0.1:{port}"
            except (ImportError, RuntimeError, TimeoutError, OSError) as exc:  # the site's own rows still run
                problem = f"the peer did not start: {exc}"
                print(f"warning: {problem}", file=sys.stderr)
        return Target([self.site.url], workers=args.workers, backend=settings.mode, peer_url=peer_url,
                      peer_spec=PEER if peer_url else None, peer_problem=problem)

    def stop(self) -> None:
        if self.peer is not None:
            from bench.peers import stop_peer

            stop_peer(self.peer)
        if self.site is not None:
            self.site.stop()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.replot:
        try:
            paths = report.write(report.load(args.replot), args.out)
        except (OSError, ValueError) as exc:
            print(f"error: {args.replot}: {exc}", file=sys.stderr)
            return 1
        for kind, path in paths.items():
            print(f"{kind:>4}: {path}")
        return 0
    if args.scenario == "load":
        from . import load

        return load.main(args)
    private_redis = None
    if args.redis == "auto":
        from .load import PrivateRedis

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
        cfg = RunConfig(rows=args.rows, sessions=args.sessions, rounds=args.rounds, strategies=_strategies(args.strategies),
                        scenario=args.scenario, timeout=args.timeout,
                        compute_delay=None if args.url else args.compute_delay)
        runner = Runner(cfg, target, progress=bar, cancel=cancel)
        result = runner.run()
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
    paths = report.write(result, args.out)
    print(summary_table(result))
    for kind, path in paths.items():
        print(f"{kind:>4}: {path}")
    return 0


def summary_table(result: dict) -> str:
    """The side-by-side table as plain text for the terminal."""
    names = [r["strategy"] + ("" if r.get("scenario") in (None, "standard") else f" [{r['scenario']}]") for r in result["results"]]
    cols = [("strategy", max([22, *map(len, names)])), ("rows", 8), ("latency_ms_p50", 8), ("latency_ms_p95", 8), ("request_bytes", 10),
            ("response_bytes", 10), ("workers_hit", 7), ("computations", 8), ("stale_reads", 6), ("leaks", 6), ("errors", 6)]
    heads = {"latency_ms_p50": "p50 ms", "latency_ms_p95": "p95 ms", "request_bytes": "up B", "response_bytes": "down B",
             "workers_hit": "workers", "computations": "computed", "stale_reads": "stale"}
    lines = ["  ".join(heads.get(c, c).rjust(w) if i else heads.get(c, c).ljust(w) for i, (c, w) in enumerate(cols))]
    for name, r in zip(names, result["results"], strict=True):
        cells = [name.ljust(cols[0][1])] + [report.cell(c, r.get(c)).rjust(w) for c, w in cols[1:]]
        lines.append("  ".join(cells))
    return "\n".join(lines)
