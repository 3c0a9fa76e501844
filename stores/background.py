"""The background-callback manager: DiskcacheManager embedded, CeleryManager on Redis."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass

import diskcache
import multiprocess
import psutil
import redis
from celery import Celery, states
from celery.exceptions import BackendError
from dash import CeleryManager, DiskcacheManager
from kombu.exceptions import OperationalError

from config import Settings

from . import budget, current, forkguard, joblimits, sessions
from .base import StoreUnavailable

log = logging.getLogger(__name__)
RESULT_TTL = 3600
OWN_PID = "background:pid:"  # + pid -> its create time: the job processes this site forked


def _task_queue_errors() -> tuple[type[Exception], ...]:
    return (OperationalError, BackendError, redis.ConnectionError, redis.TimeoutError)


# What starting or polling a Celery job raises while Redis is down.
TASK_QUEUE_ERRORS = _task_queue_errors()


_FAIL_FAST = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def make_celery(settings: Settings) -> Celery:
    """The Celery app; in embedded mode it exists (a valid import target) but is unused."""
    app = Celery("statelab")
    if not settings.redis_url:
        return app
    app.conf.update(
        broker_url=settings.redis_url,
        result_backend=settings.redis_url,
        # A worker killed mid-task must not leave the task PENDING forever, which
        # Dash reads as "still running" (the browser would poll without end):
        # acknowledge only after the task ran, hand a task whose worker died back
        # to the queue, and let each worker hold only the task it is running.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # A redelivered task comes back after this long, not after Redis's default hour.
        broker_transport_options={
            "visibility_timeout": 120,
            "socket_timeout": settings.redis_timeout,
            "socket_connect_timeout": settings.redis_timeout,
        },
        redis_socket_timeout=settings.redis_timeout,
        redis_socket_connect_timeout=settings.redis_timeout,
        result_expires=RESULT_TTL,
        # Starting or polling a job while Redis is down must fail in about a second,
        # not after Celery's default retries (about 20 s for the result backend).
        task_publish_retry_policy=_FAIL_FAST,
        result_backend_transport_options={"retry_policy": _FAIL_FAST},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    return app


@dataclass(frozen=True)
class QueueState:
    """What the task queue looks like from a web worker (Celery mode)."""

    waiting: int  # tasks in the broker's queue that no worker has taken yet
    workers: int  # Celery workers that answered a ping


_apps: dict[str, Celery] = {}
_states: dict[str, tuple[float, QueueState]] = {}
_STATE_FRESH = 2.0


def queue_state(settings: Settings, timeout: float = 0.5) -> QueueState | None:
    """Tasks waiting and workers alive; None in embedded mode (no queue: each job is forked at once).

    A ping waits `timeout` for replies, so a process asks at most every couple of seconds."""
    if not settings.redis_url:
        return None
    now = time.monotonic()
    cached = _states.get(settings.redis_url)
    if cached and now - cached[0] < _STATE_FRESH:
        return cached[1]
    app = _apps.get(settings.redis_url) or _apps.setdefault(settings.redis_url, make_celery(settings))
    try:
        with redis.Redis.from_url(settings.redis_url, socket_timeout=settings.redis_timeout,
                                  socket_connect_timeout=settings.redis_timeout) as client:
            waiting = int(client.llen(app.conf.task_default_queue))
        workers = len(app.control.ping(timeout=timeout) or [])
    except TASK_QUEUE_ERRORS as exc:
        raise StoreUnavailable(f"the task queue's Redis did not answer ({type(exc).__name__})") from exc
    state = QueueState(waiting, workers)
    _states[settings.redis_url] = (now, state)
    return state


def make_manager(settings: Settings, celery_app: Celery):
    if settings.redis_url:
        return _settling_celery_manager()(celery_app, expire=RESULT_TTL)
    directory = settings.data_dir / "background"
    directory.mkdir(parents=True, exist_ok=True)
    # Job results and progress are held under the background share of STATELAB_MAX_DATA_BYTES:
    # past it diskcache culls the least recently stored (a result nobody fetched for longest).
    cache = diskcache.Cache(str(directory), size_limit=max(1, budget.bound(settings, "background")))
    return _guarded_diskcache_manager()(cache, expire=RESULT_TTL)


def _lab():
    return current()  # the configured store layer of this process (set up by app.py)


def job_session(args) -> str:
    """The page session a job belongs to: the signed token among the callback's arguments.

    A token that looks like one but was not minted here is refused (nothing starts); a callback
    that carries none (the benchmark's job) is one anonymous session per callback."""
    lab = _lab()
    values = args if isinstance(args, list | tuple) else list((args or {}).values())
    for value in values:
        if isinstance(value, str) and "." in value and len(value) == sessions.MAX_LENGTH:
            try:
                return sessions.validate(value, lab.secret)
            except sessions.InvalidSessionId as exc:
                raise joblimits.JobsFull(f"this page's job token was refused ({exc}): reload the page") from None
    return "anonymous"


def _admit(manager, args, alive, waiting=None) -> str:
    session = job_session(args)
    lab = _lab()
    joblimits.admit(lab.store, session, manager.bounds, alive, waiting)
    return session


class _Reaper:
    """Collects the exit status of this worker's finished job processes, so none stays a zombie.

    Dash forks a job and forgets the process object; a job that ends or is killed (cancel) then
    stays <defunct> until its parent waits for it. One thread per web worker, only while it has
    children."""

    def __init__(self):
        self._thread = None
        self._lock = threading.Lock()

    def start(self):
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="job-reaper", daemon=True)
                self._thread.start()

    @staticmethod
    def _run():
        while multiprocess.active_children():  # joins every child that has exited
            time.sleep(0.5)


def own_job_process(job):
    """The live job process `job` names if this site forked it (embedded mode); None otherwise.

    The pid must be recorded in the store with the same start time: a pid the kernel has
    since given to another process is not ours."""
    try:
        pid = int(job)
        raw = _lab().store.get(f"{OWN_PID}{pid}") if pid > 1 else None
        if raw is None:
            return None
        process = psutil.Process(pid)
        if abs(process.create_time() - float(raw)) > 0.01 or process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process
    except (TypeError, ValueError, OverflowError, psutil.Error):
        return None


def _guarded_diskcache_manager():
    class GuardedDiskcacheManager(DiskcacheManager):
        """DiskcacheManager that bounds its jobs and only ever kills processes it started.

        Dash's cancel kills whatever pid the (signed) handle names, with its children: with the
        secret, a forged handle made the server SIGKILL an unrelated process. Each job process
        is recorded in the shared store with its start time when it is forked; a cancel for any
        other pid, or for a pid reused by a newer process, signals nothing. Cancelling a job that
        has just ended is fine (already gone is what cancel wanted)."""

        bounds = joblimits.bounds(embedded=True)
        reaper = _Reaper()

        @staticmethod
        def _mine(job):
            return own_job_process(job)

        def _alive(self, job: str) -> bool:
            return own_job_process(job) is not None

        def call_job_fn(self, key, job_fn, args, context):
            lab = _lab()
            with lab.store.lock("background:admit", ttl=10, wait=5):
                session = _admit(self, args, self._alive)
                with forkguard.quiet_for_fork():
                    pid = super().call_job_fn(key, job_fn, args, context)
                created = psutil.Process(pid).create_time()
                lab.store.set(f"{OWN_PID}{pid}", repr(created).encode(), ttl=RESULT_TTL)
                joblimits.register(lab.store, str(pid), session)
            self.reaper.start()
            return pid

        def terminate_job(self, job):
            process = self._mine(job)
            if process is None:
                log.info("cancel for pid %.40r ignored: not a job process this site started", job)
                return
            with contextlib.suppress(psutil.NoSuchProcess):
                super().terminate_job(process.pid)
            self.reaper.start()

    return GuardedDiskcacheManager


def _settling_celery_manager():
    class SettlingCeleryManager(CeleryManager):
        """CeleryManager whose cancel also settles the task's state.

        Dash cancels by broadcasting "terminate" to the Celery workers. When the worker
        that held the task is dead, nobody answers, the task stays PENDING, and Dash
        reads PENDING as running: the browser would poll for ever. Recording REVOKED
        for a task that has not finished makes the next poll end with no update.
        """

        bounds = joblimits.bounds(embedded=False)

        def _alive(self, job: str) -> bool:
            try:
                return self.handle.AsyncResult(job).state not in states.READY_STATES
            except TASK_QUEUE_ERRORS as exc:
                raise StoreUnavailable(f"the task queue's Redis did not answer ({type(exc).__name__})") from exc

        def _waiting(self) -> int:
            settings = _lab().settings
            try:
                with redis.Redis.from_url(settings.redis_url, socket_timeout=settings.redis_timeout,
                                          socket_connect_timeout=settings.redis_timeout) as client:
                    return int(client.llen(self.handle.conf.task_default_queue))
            except TASK_QUEUE_ERRORS as exc:
                raise StoreUnavailable(f"the task queue's Redis did not answer ({type(exc).__name__})") from exc

        def call_job_fn(self, key, job_fn, args, context):
            lab = _lab()
            with lab.store.lock("background:admit", ttl=10, wait=5):
                session = _admit(self, args, self._alive, self._waiting)
                task = self._start(key, job_fn, args, context)
                joblimits.register(lab.store, str(task), session)
            return task

        def _start(self, *args, **kwargs):
            try:
                return super().call_job_fn(*args, **kwargs)
            except RuntimeError as exc:
                # Celery reports a result backend it cannot reach as a bare RuntimeError.
                if "Celery result store" not in str(exc):
                    raise
                raise StoreUnavailable(f"the task queue's Redis did not answer ({' '.join(str(exc).split())})") from exc

        def terminate_job(self, job):
            if not job or _lab().store.get(joblimits.ACTIVE + str(job)) is None:
                return  # not a job this site admitted (or long finished): nothing to revoke
            super().terminate_job(job)
            if job and self.handle.AsyncResult(job).state not in states.READY_STATES:
                self.handle.backend.mark_as_revoked(job, reason="cancelled by the page")

    return SettlingCeleryManager
