"""Start and stop the processes a run needs: gunicorn (several workers) and a Celery worker.

Used by `python app.py`, by the benchmark and by the tests, so all three run the
very same server the same way.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from config import PROJECT_DIR, Settings


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def child_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",) and not k.startswith("STATELAB_")}
    env.update(settings.to_env())
    env["PYTHONUNBUFFERED"] = "1"
    return env


def gunicorn_command(settings: Settings, host: str, port: int, workers: int) -> list[str]:
    return [
        sys.executable, "-m", "gunicorn", "app:server",
        "--chdir", str(PROJECT_DIR),
        "--bind", f"{host}:{port}",
        "--workers", str(workers),
        # Sync workers: one request per worker at a time, so a callback that runs past
        # the timeout is killed, exactly as the background-callback page explains.
        "--worker-class", "sync",
        "--timeout", str(settings.worker_timeout),
        "--graceful-timeout", "5",
        "--log-level", "warning",
    ]


def celery_command(concurrency: int = 2, name: str = "statelab") -> list[str]:
    return [
        sys.executable, "-m", "celery", "--workdir", str(PROJECT_DIR), "-A", "app:celery_app", "worker",
        # prefork: the only pool whose tasks Celery can terminate, which cancel needs.
        "--pool", "prefork", "--concurrency", str(concurrency),
        "--hostname", f"{name}-{os.getpid()}-{time.monotonic_ns()}@%h",
        "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
    ]


def wait_http(url: str, timeout: float = 60.0, process: subprocess.Popen | None = None) -> None:
    """Return once url answers 200; raise with a clear message otherwise."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server process exited with code {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout:g} s ({last})")


def wait_celery(settings: Settings, process: subprocess.Popen, timeout: float = 60.0) -> None:
    """Return once a Celery worker answers a ping on the broker."""
    from stores.background import make_celery

    app = make_celery(settings)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Celery worker exited with code {process.returncode}")
        if app.control.ping(timeout=0.5):
            return
    raise TimeoutError(f"no Celery worker answered within {timeout:g} s")


def stop(process: subprocess.Popen | None, timeout: float = 15.0) -> None:
    """Stop a process group we started: SIGTERM, then SIGKILL."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)
    except ProcessLookupError:
        pass


def spawn(command: list[str], settings: Settings, log: Path | None = None) -> subprocess.Popen:
    out = open(log, "ab") if log else None  # noqa: SIM115 - the child owns it for its life
    return subprocess.Popen(
        command, env=child_env(settings), cwd=PROJECT_DIR, stdout=out, stderr=subprocess.STDOUT if out else None,
        start_new_session=True,
    )


class Site:
    """gunicorn with N workers, plus a Celery worker in Redis mode; a context manager."""

    def __init__(self, settings: Settings, host: str = "127.0.0.1", port: int | None = None, workers: int = 4,
                 celery: bool = True, log_dir: Path | None = None, supervise: bool = False):
        self.settings, self.host, self.workers = settings, host, workers
        self.port = port or free_port(host)
        self.celery = celery and bool(settings.redis_url)
        self.log_dir = log_dir
        self.supervise = supervise
        self.restarts = 0
        self.web = self.worker = None
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _log(self, name: str) -> Path | None:
        if self.log_dir is None:
            return None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return self.log_dir / f"{name}-{self.port}.log"

    def start(self, timeout: float = 90.0) -> Site:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        if self.celery:
            self.worker = spawn(celery_command(), self.settings, self._log("celery"))
        self.web = spawn(gunicorn_command(self.settings, self.host, self.port, self.workers), self.settings, self._log("gunicorn"))
        try:
            wait_http(self.url + "/_dash-layout", timeout, self.web)
            if self.worker is not None:
                wait_celery(self.settings, self.worker, timeout)
        except BaseException:
            self.stop()
            raise
        if self.supervise and self.worker is not None:
            threading.Thread(target=self._watch_celery, daemon=True).start()
        return self

    def _watch_celery(self) -> None:
        # The Celery worker's main process can die of an unrecoverable broker error when
        # Redis drops its connection (kombu's Redis transport); jobs then stay PENDING,
        # which Dash reads as running. Start a new worker instead of leaving none.
        while not self._stopping.wait(1.0):
            if self.worker.poll() is not None:
                self.restarts += 1
                print(f"the Celery worker exited with code {self.worker.returncode}; starting a new one "
                      f"(restart {self.restarts})", file=sys.stderr, flush=True)
                self.worker = spawn(celery_command(), self.settings, self._log("celery"))

    def stop(self) -> None:
        self._stopping.set()
        stop(self.web)
        stop(self.worker)

    def __enter__(self) -> Site:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
