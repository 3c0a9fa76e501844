"""The processes a run starts: the site (gunicorn) and the dash-extensions peer, or the ones --url names;
and a private redis-server (--redis auto, the load's restart, and the tests' redis fixture)."""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from config import load_settings
from serve import SERVERS, Site, free_port, stop

from .peers import start_peer, stop_peer
from .plan import Target
from .specs import PEER


def strategy_list(text: str | None) -> list[str] | None:
    """--strategies a,b as a list; None (every strategy) when not given."""
    return [s.strip() for s in text.split(",") if s.strip()] if text else None


class PrivateRedis:
    """A redis-server of the harness's own on a free loopback port, without persistence."""

    def __init__(self, directory: Path, port: int | None = None):
        self.directory = Path(directory)
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> PrivateRedis:
        if shutil.which("redis-server") is None:
            raise RuntimeError("--redis auto needs redis-server on the PATH (apt-get install redis-server)")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"redis-server on port {self.port} exited with code {self.process.returncode}")
                with contextlib.suppress(redis.RedisError):
                    if client.ping():
                        return self
                if time.monotonic() > deadline:
                    raise TimeoutError(f"redis-server on port {self.port} did not answer within {timeout:g} s")
                time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        stop(self.process, 5)
        self.process = None


def server_list(text: str | None) -> list[str | None]:
    """--servers sync,gthread,asgi as a list (each a serve.SERVERS kind); [None] (the settings' default) when not given."""
    if not text:
        return [None]
    kinds = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [k for k in kinds if k not in SERVERS]
    if unknown:
        raise ValueError(f"unknown server kind(s) {unknown}: choose among {', '.join(SERVERS)}")
    return list(dict.fromkeys(kinds))


class Servers:
    """The site (and the peer) this run starts, or the ones --url names. `server`: the site's server kind
    (serve.SERVERS; None: the settings' default), set by replacing the setting, nothing else."""

    def __init__(self, args: argparse.Namespace, server: str | None = None):
        self.args = args
        self.server = server
        self.settings = None
        self.site: Site | None = None
        self.peer = None
        self.tmp: Path | None = None

    def start(self) -> Target:
        args = self.args
        wanted = strategy_list(args.strategies)
        want_peer = not args.no_peer and (wanted is None or PEER.slug in wanted)
        if args.url:
            urls = [u.strip().rstrip("/") for u in args.url.split(",") if u.strip()]
            peer_url = args.peer_url.rstrip("/") if args.peer_url and want_peer else None
            backend = "redis" if args.redis else "unknown"
            return Target(urls, workers=None, backend=backend, peer_url=peer_url, peer_spec=PEER if peer_url else None)
        self.tmp = Path(tempfile.mkdtemp(prefix="statelab-bench-"))
        # Only the server kind comes from the environment (STATELAB_SERVER, validated by config): the rest is the harness's.
        env = {k: v for k, v in os.environ.items() if k == "STATELAB_SERVER"}
        settings = load_settings(env=env, data_dir=self.tmp / "site", redis_url=args.redis, compute_delay=args.compute_delay,
                                 secret=secrets.token_hex(16), rate_limits="off",  # all its sessions share loopback
                                 any_rows="on")  # the stampede asks for row counts no page offers
        if self.server is not None:
            settings = settings.replace(server=self.server)
        self.settings = settings
        self.site = Site(settings, workers=args.workers, log_dir=self.tmp / "logs", supervise=True).start()
        peer_url, problem = None, None
        if want_peer:
            try:
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
            stop_peer(self.peer)
        if self.site is not None:
            self.site.stop()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
