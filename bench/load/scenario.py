"""python -m bench --scenario load: start what the load needs (the site, a private Redis), run it on Locust, write
DIR/report.* and print the summary."""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import reports
from reports.load_view import summary_text

from ..progress import ProgressBar
from ..servers import PrivateRedis, Servers, strategy_list
from .run import LoadConfig
from .run import run as run_load


def run(args: argparse.Namespace) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix="statelab-load-"))
    private = None
    servers = None
    bar = None if args.quiet else ProgressBar()
    try:
        if args.redis == "auto":
            private = PrivateRedis(tmp / "redis").start()
            args.redis = private.url
        args.no_peer = True
        servers = Servers(args)
        target = servers.start()
        master = servers.site.web.pid if servers.site is not None else None
        cfg = LoadConfig(sessions=args.sessions, duration=args.duration, rows=args.rows[0], think=args.think,
                         timeout=args.timeout, max_requests=args.max_requests, strategies=strategy_list(args.strategies),
                         restart_at=args.restart_redis_at, down_for=args.redis_down_for, grace=args.grace,
                         rss_bound=args.rss_bound_mb, redis_bound=args.redis_bound_mb, abandon_after=args.abandon_after,
                         compute_delay=None if args.url else args.compute_delay, processes=args.load_processes,
                         workdir=tmp / "locust", bind_host=args.locust_bind, remote_workers=args.remote_workers)
        result = run_load(cfg, target, master_pid=master, redis_url=args.redis, redis=private, progress=bar)
    finally:
        if bar:
            bar.finish()
        if servers is not None:
            servers.stop()
        if private is not None:
            private.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    paths = reports.write(result, args.out, lang=getattr(args, "lang", None))
    print(summary_text(result))
    return paths["json"]
