"""The background-callback manager: DiskcacheManager embedded, CeleryManager on Redis."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import redis
from celery import Celery

from config import Settings

from .base import StoreUnavailable

RESULT_TTL = 3600


def _task_queue_errors() -> tuple[type[Exception], ...]:
    from celery.exceptions import BackendError
    from kombu.exceptions import OperationalError

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
    import diskcache

    directory = settings.data_dir / "background"
    directory.mkdir(parents=True, exist_ok=True)
    return _tolerant_diskcache_manager()(diskcache.Cache(str(directory)), expire=RESULT_TTL)


def _tolerant_diskcache_manager():
    import psutil
    from dash import DiskcacheManager

    class TolerantDiskcacheManager(DiskcacheManager):
        """DiskcacheManager whose cancel tolerates a job that has just ended.

        Dash checks pid_exists and then opens the process: a job finishing in between
        raises NoSuchProcess, which answered the poll with HTTP 500 under load.
        """

        def terminate_job(self, job):
            # Already gone is exactly what terminating wanted.
            with contextlib.suppress(psutil.NoSuchProcess):
                super().terminate_job(job)

    return TolerantDiskcacheManager


def _settling_celery_manager():
    from celery import states
    from dash import CeleryManager

    class SettlingCeleryManager(CeleryManager):
        """CeleryManager whose cancel also settles the task's state.

        Dash cancels by broadcasting "terminate" to the Celery workers. When the worker
        that held the task is dead, nobody answers, the task stays PENDING, and Dash
        reads PENDING as running: the browser would poll for ever. Recording REVOKED
        for a task that has not finished makes the next poll end with no update.
        """

        def call_job_fn(self, *args, **kwargs):
            try:
                return super().call_job_fn(*args, **kwargs)
            except RuntimeError as exc:
                # Celery reports a result backend it cannot reach as a bare RuntimeError.
                if "Celery result store" not in str(exc):
                    raise
                raise StoreUnavailable(f"the task queue's Redis did not answer ({' '.join(str(exc).split())})") from exc

        def terminate_job(self, job):
            super().terminate_job(job)
            if job and self.handle.AsyncResult(job).state not in states.READY_STATES:
                self.handle.backend.mark_as_revoked(job, reason="cancelled by the page")

    return SettlingCeleryManager
