"""Start and stop the processes a run needs: gunicorn (several workers) and a Celery worker.

Used by `python app.py`, by the benchmark and by the tests, so all three run the
very same server the same way.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from config import PROJECT_DIR, Settings
from stores.background import make_celery


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class PortInUse(RuntimeError):
    """Another process listens on the port the site was asked to serve on."""


def port_in_use(host: str, port: int) -> bool:
    # The same bind gunicorn does (SO_REUSEADDR): a port in TIME_WAIT is free, a listening one is not.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise
    return False


# Files the site writes (the session-signing secret in the store, session files, job results) are
# for its own processes only: 0600 files in a 0700 directory. Every process the site starts
# inherits the umask from the launcher; app.py sets it again for processes started by hand.
PRIVATE_UMASK = 0o077


def prepare_data_dir(path: Path) -> None:
    """Create the data directory 0700, and make what an earlier run left there private."""
    os.umask(PRIVATE_UMASK)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    uid = os.getuid()
    for root, dirs, files in os.walk(path):
        for name, mode in [(root, 0o700)] + [(os.path.join(root, d), 0o700) for d in dirs] + \
                [(os.path.join(root, f), 0o600) for f in files]:
            try:
                info = os.lstat(name)
                # Only what this user owns, never through a symlink: the directory is the site's own.
                if info.st_uid == uid and not stat.S_ISLNK(info.st_mode) and stat.S_IMODE(info.st_mode) != mode:
                    os.chmod(name, mode)
            except FileNotFoundError:
                continue


def self_address(host: str, port: int) -> str:
    """How a process on this machine reaches a server bound to host:port (a wildcard bind via loopback)."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def child_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",) and not k.startswith("STATELAB_")}
    env.update(settings.to_env())
    env["PYTHONUNBUFFERED"] = "1"
    return env


# Threads per gunicorn worker: how many requests one worker answers at once. Slow or idle clients
# hold none (webworker.py); more threads would mean more callbacks computing at once in one
# process, which is what bounds its memory.
THREADS = 16


SERVERS = ("sync", "gthread", "asgi")  # config.SERVER_CHOICES; Settings.server picks one
# Keep-alive of the asgi kind, seconds. Off (0), as for gthread: every answer says "Connection: close", so
# the existing strategies are measured as before and an open connection always means a request in progress
# (tests/integration/test_worker_killed.py relies on it). Kept-alive connections would cost the event loop a
# socket, no thread, and the header deadline would still close a dribbler.
ASGI_KEEP_ALIVE = 0


def gunicorn_command(settings: Settings, host: str, port: int, workers: int) -> list[str]:
    """The web server's command line for `settings.server`; the one place that chooses how the site is served.

    asgi (uvicorn workers, webworker.HeadersFirstWorker, target asgi:application): the Flask site through
    a2wsgi on THREADS threads per worker, and the live app's WebSocket callbacks, on one port. Waiting
    connections cost the event loop a socket, no thread; one without complete headers
    `settings.header_deadline` s after it was accepted (or after its last response) is closed.

    gthread workers (webworker.BoundedThreadWorker): each worker answers up to THREADS requests at
    once and its main loop stays responsive, so an idle or dribbling connection occupies one thread
    for a bounded time instead of a whole worker (sync workers were stopped by 4 idle connections).
    A consequence: gunicorn's --timeout now only catches a worker whose main loop hangs; a callback
    that runs long keeps one thread busy and is no longer killed mid-request.
    Keep-alive is off: every response closes its connection, as with sync workers, so a connection a
    thread holds always means a request in progress. A connection whose headers are not complete
    `settings.header_deadline` s after it was accepted is closed; until then it costs no thread.
    No WebSocket callbacks (the live pages answer 404).

    sync: gunicorn's plain sync workers, one request at a time each, no protection from slow clients:
    kept to measure against.
    """
    if settings.server not in SERVERS:
        raise ValueError(f"unknown server kind {settings.server!r}; one of {', '.join(SERVERS)}")
    common = [
        sys.executable, "-m", "gunicorn",
        "--chdir", str(PROJECT_DIR),
        "--bind", f"{host}:{port}",
        "--workers", str(workers),
        "--timeout", str(settings.worker_timeout),
        "--graceful-timeout", "5",
        "--log-level", "warning",
        # gunicorn 27 otherwise opens a control socket under ~/.gunicorn/: nothing outside the data directory.
        "--no-control-socket",
    ]
    if settings.server == "asgi":
        return common + ["--worker-class", "webworker.HeadersFirstWorker", "--keep-alive", str(ASGI_KEEP_ALIVE),
                         "asgi:application"]
    if settings.server == "gthread":
        return common + ["--worker-class", "webworker.BoundedThreadWorker", "--threads", str(THREADS),
                         "--keep-alive", "0", "app:server"]
    return common + ["--worker-class", "sync", "app:server"]


def celery_command(concurrency: int = 2, name: str = "statelab") -> list[str]:
    return [
        # asgi:celery_app is app.celery_app after the live pages are imported too: their background callbacks
        # register their tasks when they are defined, so a worker that imported only app would not know them.
        sys.executable, "-m", "celery", "--workdir", str(PROJECT_DIR), "-A", "asgi:celery_app", "worker",
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
        if not settings.self_url:  # the benchmark job connects here and nowhere else (runtime/bench_job.py)
            self.settings = settings = settings.replace(self_url=self_address(host, self.port))
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

    def start(self, timeout: float = 180.0) -> Site:
        # Generous: every worker imports the whole site at boot, and on a loaded 2-core machine four at once
        # took over 90 s (one import alone: 16-40 s at a load average of 35).
        # Before anything starts: a server already on the port would answer our readiness check.
        if port_in_use(self.host, self.port):
            raise PortInUse(f"port {self.port} is in use on {self.host}: another server listens there. "
                            "Stop it, or choose another port with --port")
        prepare_data_dir(self.settings.data_dir)
        if self.celery:
            self.worker = spawn(celery_command(), self.settings, self._log("celery"))
        self.web = self._spawn_web()
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

    def _spawn_web(self) -> subprocess.Popen:
        command = gunicorn_command(self.settings, self.host, self.port, self.workers)
        return spawn(command, self.settings, self._log("gunicorn"))

    def restart_web(self, timeout: float = 180.0) -> None:
        """Start a new gunicorn after its master died (e.g. SIGKILLed, which its workers outlive briefly)."""
        old = self.web
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(old.pid, signal.SIGKILL)  # the orphaned workers still hold the listening socket
        deadline = time.monotonic() + 30
        while port_in_use(self.host, self.port):
            if time.monotonic() > deadline:
                raise PortInUse(f"port {self.port} on {self.host} stayed in use after gunicorn's master died")
            time.sleep(0.1)
        self.web = self._spawn_web()
        wait_http(self.url + "/_dash-layout", timeout, self.web)

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
