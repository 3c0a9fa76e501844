"""Locust as its own processes: one master and N workers (Locust's distributed mode; remote workers may join),
started with the run's settings, waited for within a time bound, and their figures read back from the master:
the records file (every session event, per step) and Locust's own stats (--json-file).

The bench process never imports locust (RESEARCH.md: importing requests first breaks gevent's ssl patching)."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from serve import free_port, stop

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = Path(__file__).resolve().with_name("locustfile.py")
DEFAULT_MASTER_PORT = 5557  # Locust's own default, for workers on other machines


def default_processes() -> int:
    """Locust worker processes by default: one per core but one (the master and the site need some), at least 1."""
    return max(1, (os.cpu_count() or 2) - 1)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def worker_command(master_host: str, master_port: int = DEFAULT_MASTER_PORT) -> list[str]:
    """One Locust worker of this project's locustfile (what a remote machine runs, via python -m bench --locust-master)."""
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker", "--master-host", master_host,
            "--master-port", str(master_port), "--loglevel", "WARNING"]


@dataclass
class SwarmResult:
    records: list[dict]
    stats: list[dict]  # Locust's stats entries, as the master aggregated them (--json-file)
    seconds: float
    returncode: int | None
    timed_out: bool
    pids: list[int] = field(default_factory=list)
    log_tail: str = ""


class Swarm:
    """One Locust run: master + `processes` local workers (+ `remote_workers` expected from other machines)."""

    def __init__(self, settings: dict, workdir: Path, processes: int, stop_timeout: float, time_bound: float,
                 bind_host: str = "127.0.0.1", port: int | None = None, remote_workers: int = 0):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        tag = secrets.token_hex(3)
        self.records_path = self.workdir / f"records-{tag}.jsonl"
        self.stats_path = self.workdir / f"stats-{tag}.json"
        self.log_path = self.workdir / f"locust-{tag}.log"
        self.processes, self.remote = processes, remote_workers
        self.settings = {**settings, "records": str(self.records_path), "workers_total": processes + remote_workers}
        self.stop_timeout, self.time_bound = stop_timeout, time_bound
        self.bind_host = bind_host
        # Workers started elsewhere (python -m bench --locust-master) need a port they know: Locust's own.
        self.port = port or (DEFAULT_MASTER_PORT if remote_workers or bind_host not in ("127.0.0.1", "localhost") else free_port())
        self.master: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.began = 0.0

    def _master_command(self) -> list[str]:
        return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--master", "--headless",
                "--master-bind-host", self.bind_host, "--master-bind-port", str(self.port),
                "--expect-workers", str(self.processes + self.remote), "--expect-workers-max-wait", "120",
                "--stop-timeout", f"{self.stop_timeout:g}", "--run-time", f"{int(self.time_bound + self.stop_timeout + 20)}s",
                "--json-file", str(self.stats_path.with_suffix("")), "--only-summary", "--loglevel", "WARNING",
                "--statelab-config", json.dumps(self.settings, separators=(",", ":"))]

    def start(self) -> Swarm:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the children write to it for their life
        self.began = time.monotonic()
        self.master = subprocess.Popen(self._master_command(), cwd=ROOT, env=_env(), stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        host = "127.0.0.1" if self.bind_host in ("0.0.0.0", "*", "") else self.bind_host
        for _ in range(self.processes):
            self.workers.append(subprocess.Popen(worker_command(host, self.port), cwd=ROOT, env=_env(), stdout=log,
                                                 stderr=subprocess.STDOUT, start_new_session=True))
        log.close()
        return self

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in [self.master, *self.workers] if p is not None]

    def started_at(self) -> float | None:
        """The load's start (wall clock), once the master has written it."""
        for item in self.read_records(limit_lines=5):
            if item.get("type") == "start":
                return item["t"]
        return None

    def read_records(self, limit_lines: int | None = None) -> list[dict]:
        out = []
        with contextlib.suppress(FileNotFoundError), open(self.records_path, encoding="utf-8") as f:
            for n, line in enumerate(f):
                if limit_lines is not None and n >= limit_lines:
                    break
                with contextlib.suppress(ValueError):  # a line still being written
                    out.append(json.loads(line))
        return out

    def wait(self, on_tick=None, every: float = 0.5) -> bool:
        """Wait for the master to end (it stops by itself); False when the time bound ran out first."""
        deadline = self.began + self.time_bound + self.stop_timeout + 150  # + the wait for workers, start-up
        while self.master.poll() is None:
            if time.monotonic() > deadline:
                return False
            if on_tick is not None:
                on_tick()
            time.sleep(every)
        for w in self.workers:  # the master's quit tells them to go; give them a moment
            with contextlib.suppress(subprocess.TimeoutExpired):
                w.wait(15)
        return True

    def stop(self) -> None:
        for p in [*self.workers, self.master]:
            stop(p, 10)

    def result(self, timed_out: bool) -> SwarmResult:
        stats = []
        with contextlib.suppress(FileNotFoundError, ValueError):
            stats = json.loads(self.stats_path.read_text())
        tail = ""
        with contextlib.suppress(FileNotFoundError):
            tail = self.log_path.read_text(errors="replace")[-3000:]
        return SwarmResult(self.read_records(), stats, time.monotonic() - self.began,
                           self.master.returncode if self.master else None, timed_out, self.pids, tail)

    def run(self, on_tick=None) -> SwarmResult:
        self.start()
        try:
            finished = self.wait(on_tick)
        finally:
            self.stop()
        return self.result(timed_out=not finished)


def locust_counts(stats: list[dict]) -> dict[tuple[str, str], dict]:
    """Locust's stats entries by (request_type, name): requests, failures, as the master aggregated the workers'."""
    out = {}
    for e in stats or []:
        out[(e.get("method"), e.get("name"))] = {"requests": e.get("num_requests", 0), "failures": e.get("num_failures", 0)}
    return out


def run_workers(master: str, processes: int) -> int:
    """Worker mode (python -m bench --locust-master HOST[:PORT]): N Locust workers for a master on another machine.
    A capacity run starts one Locust master per strategy and server, and workers end with their master: so while
    a generation of workers ended normally (its master quit), a new one is started for the next master; a
    generation that fails (no master to reach, within Locust's connect timeout) or Ctrl-C ends worker mode."""
    host, _, port = master.partition(":")
    port_n = int(port) if port else DEFAULT_MASTER_PORT
    generation = 0
    print(f"{processes} Locust worker(s) for the master at {host}:{port_n}; Ctrl-C stops them")
    while True:
        generation += 1
        workers = [subprocess.Popen(worker_command(host, port_n), cwd=ROOT, env=_env()) for _ in range(processes)]
        try:
            codes = [w.wait() for w in workers]
        except KeyboardInterrupt:
            return 130
        finally:
            for w in workers:
                stop(w, 10)
        if any(codes):
            print(f"worker generation {generation} ended with exit codes {codes}: no master to serve; stopping")
            return 0 if generation > 1 else max(codes)
