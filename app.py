"""Dash State Lab: the Flask site's Dash app and `python app.py`, the one-command demo server.

gunicorn serves asgi:application (this site plus the live app, asgi.py) or, for the gthread and sync
kinds, app:server; the Celery target is asgi:celery_app (this module's celery_app, after the live pages
registered their tasks)."""

from __future__ import annotations

import argparse
import functools
import hashlib
import hmac
import logging
import os
import signal
import sys
import threading
import time

from dash import Dash, page_registry
from dash.exceptions import DependencyException
from flask import jsonify, request
from werkzeug.exceptions import HTTPException

import compress
import i18n
import security
import stores
from components import envelope, instruments, operator, ratelimit, shell, sources_page  # noqa: F401  (instruments registers its callbacks)
from config import SERVER_CHOICES, ConfigError, Settings, load_settings
from i18n import _
from runtime import bench_pass
from serve import PRIVATE_UMASK, PortInUse, Site, prepare_data_dir
from stores.background import TASK_QUEUE_ERRORS, make_celery, make_manager
from stores.caching import make_cache
from stores.codec import BadPayload
from stores.joblimits import JobsFull
from stores.sessions import InvalidSessionId

log = logging.getLogger("statelab")
# Workers and the Celery worker write the store and session files: private to the site's user
# (0600 files), also when started by hand rather than by `python app.py` (serve.PRIVATE_UMASK).
os.umask(0o077)
settings = load_settings()
lab = stores.configure(settings)
celery_app = make_celery(settings)
cache = make_cache(settings)
# One manager for every background callback of the process, the live app's polled twin too: Dash registers each
# background function with every manager there is, and two Celery managers made Celery warn of duplicate tasks.
background_manager = make_manager(settings, celery_app)

app = Dash(
    __name__,
    use_pages=True,
    title="Dash State Lab",
    update_title=None,
    background_callback_manager=background_manager,
    suppress_callback_exceptions=True,
    index_string=shell.index_string(),
)
server = app.server
shell.localize_titles(page_registry)
server.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
i18n.install(server, settings.data_dir / "locale")  # catalogs compiled there; Flask-Babel; ?lang= sets the cookie


_FIRST_REQUEST = threading.RLock()
# Dash's one-time set-up steps, found by name among the server's before_request functions;
# tests/unit/test_dash_internals.py checks the installed Dash still has them.
FIRST_REQUEST_SETUP = frozenset({"_setup_server", "router_sync"})


def _serialised_first_request(setup):
    # Dash marks its one-time set-up done *before* doing it (dash.py _setup_server, router_sync):
    # with threaded workers a second request racing the first found no callbacks yet and was
    # refused ("no callback has the output ..."). Each set-up step runs under one lock.
    @functools.wraps(setup)
    def locked():
        with _FIRST_REQUEST:
            return setup()

    return locked


def _lock_first_request_setup(flask_server) -> None:
    found = {getattr(f, "__name__", "") for f in flask_server.before_request_funcs.get(None, [])} & FIRST_REQUEST_SETUP
    if found != FIRST_REQUEST_SETUP:
        # An upgraded Dash renamed its set-up: serving without the lock would bring the race back.
        raise RuntimeError(f"Dash's first-request set-up {sorted(FIRST_REQUEST_SETUP - found)} not found: "
                           "update app.FIRST_REQUEST_SETUP for the installed Dash")
    flask_server.before_request_funcs[None] = [
        _serialised_first_request(f) if getattr(f, "__name__", "") in FIRST_REQUEST_SETUP else f
        for f in flask_server.before_request_funcs[None]
    ]


_lock_first_request_setup(server)


def set_up_now() -> None:
    """Run Dash's first-request set-up before serving anything (asgi.py does, at import).

    With a second Dash app in the process (the live app), a global `dash.callback` or
    `clientside_callback` goes to whichever app sets itself up first: the Flask site must be first,
    whatever path a fresh worker's first request asks for."""
    steps = [f for f in server.before_request_funcs.get(None, []) if getattr(f, "__name__", "") in FIRST_REQUEST_SETUP]
    with server.test_request_context("/"):
        for step in steps:
            step()


@server.before_request
def _signing_secret():
    # Dash signs background-job handles with the server's secret_key, else with a secret it keeps
    # in the job result store and caches per process. That one is lost when a Redis without
    # persistence restarts, and workers then disagree: a poll that reaches another worker is
    # silently ignored (HTTP 204, no result). Derive it from the lab's secret instead — on the
    # first request, not at import, so an unreachable store is reported, not a traceback.
    if not server.secret_key:
        server.secret_key = hmac.new(lab.secret, b"dash background-callback handles", hashlib.sha256).hexdigest()

cache.init_app(server)
limiter = ratelimit.Limiter(lab.store, enabled=settings.rate_limits != "off")
compress.install(server, settings)  # brotli/gzip per STATELAB_COMPRESS; before telemetry, which records decoded bytes
stores.telemetry.install(server, lab.store)
security.install(app)  # CSP (with the hashes of Dash's inline scripts), nosniff, frame-ancestors
operator.install(server, lab)  # the operator's cookie, each browser's visitor id
sources_page.install(server)  # /sources/<number>: the source texts, each passage addressable (#p-<k>)


# The benchmark's signed pass (runtime/bench_pass.py) caps the compute delay of its own requests.
@server.before_request
def _bench_pass():
    bench_pass.apply_pass(request.headers.get(bench_pass.PASS_HEADER), lab)


@server.teardown_request
def _bench_pass_end(_exc):
    bench_pass.clear_pass()


app.layout = functools.partial(shell.layout, settings.mode)  # per request: the navigation in the visitor's language


def _error(status: int, message: str):
    return jsonify(message=message), status


@server.before_request
def _check_callback_request():
    # Dash answers a malformed body with a bare 500 and a traceback in the log; say what is
    # wrong instead. Parsed strictly here (no Infinity/NaN), and handed to Dash as the request's
    # parsed JSON, so Dash never parses the body a second, lenient way.
    if request.method != "POST" or not request.path.endswith(stores.telemetry.CALLBACK_PATH):
        return None
    try:
        body = envelope.parse(request.get_data(cache=True))
    except envelope.Malformed as exc:
        return _error(400, _("Malformed callback request: %(problem)s", problem=exc))
    request._cached_json = (body, body)  # what request.get_json() returns: werkzeug's cache
    problem = envelope.problem(body, app.callback_map)
    if problem:
        return _error(400, _("Malformed callback request: %(problem)s", problem=problem))
    try:
        refusal = limiter.check(body, app.callback_map[body["output"]])
    except stores.StoreError:
        refusal = None  # the store is down: the pages that need it say so; the others keep working
    return _error(429, refusal) if refusal else None


@server.errorhandler(413)
def _too_large(_exc):
    return _error(413, _("This update is larger than the server accepts (%(mb)d MB). "
                         "Keep large data on the server (serverside or session-cache) instead of sending it up.",
                         mb=settings.max_request_bytes // 2**20))


@server.errorhandler(JobsFull)
def _jobs_full(exc):
    return _error(429, _("Background job not started: %(reason)s", reason=_said(exc)))


@server.errorhandler(stores.StoreError)
def _store_down(exc):
    return _error(503, _("Store unavailable: %(reason)s", reason=_said(exc)))


def _task_queue_down(exc):
    return _error(503, _("Store unavailable: the task queue's Redis did not answer (%(error)s: %(reason)s). "
                         "Try again when it is back.", error=type(exc).__name__, reason=_said(exc)))


# Background callbacks reach Redis through Celery and kombu, whose errors are not ours:
# name them instead of answering a bare 500.
for _kind in TASK_QUEUE_ERRORS:
    server.register_error_handler(_kind, _task_queue_down)


@server.errorhandler(InvalidSessionId)
def _bad_session(exc):
    return _error(400, _("Rejected session id: %(reason)s. Reload the page for a new session.", reason=_said(exc)))


@server.errorhandler(BadPayload)
def _bad_payload(exc):
    return _error(400, _("Rejected data from the browser: %(reason)s", reason=_said(exc)))


@server.errorhandler(DependencyException)
def _no_such_asset(_exc):
    # Dash raises this for a component-suite path it does not serve: a 500 and 3 KB of log each.
    return _error(404, _("No such file: the component suites serve only the files Dash registered."))


@server.errorhandler(Exception)
def _last_resort(exc):
    """A callback that still trips over a value the checks above let through: 400, not 500.

    The page's own checks are the real defence (choices.py); this only keeps a
    missed case from answering a traceback. It is logged in one line, so it gets fixed."""
    if isinstance(exc, HTTPException):
        return exc
    if request.path.endswith(stores.telemetry.CALLBACK_PATH) and isinstance(exc, _INPUT_ERRORS):
        log.warning("callback input not handled by its page: %s: %s", type(exc).__name__, _said(exc))
        return _error(400, _("Rejected callback input: %(error)s: %(reason)s", error=type(exc).__name__, reason=_said(exc)))
    log.exception("unhandled error on %s", request.path[:200])
    return _error(500, _("Internal error: the server log has the details."))


_INPUT_ERRORS = (TypeError, KeyError, IndexError, AttributeError, ValueError, OverflowError, RecursionError)


def _said(exc: BaseException) -> str:
    """An exception's message, bounded: messages may quote what a client sent."""
    text = str(exc)
    return text if len(text) <= 300 else text[:300] + "…"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python app.py",
        description="Start the Dash State Lab demo: gunicorn with several workers, embedded stores "
        "(or Redis and a Celery worker when REDIS_URL is set). Ctrl-C stops everything it started.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default %(default)s)")
    parser.add_argument("--port", type=int, default=8050, help="port to listen on (default %(default)s)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes (default %(default)s)")
    parser.add_argument("--data-dir", help="where the embedded stores, session files and caches live "
                        "(default: STATELAB_DATA_DIR, else ./data in the project)")
    parser.add_argument("--server", choices=SERVER_CHOICES, help="how gunicorn serves the site: asgi (uvicorn workers, "
                        "the live pages' WebSocket callbacks), gthread or sync (no live pages) "
                        f"(default: STATELAB_SERVER, else {Settings().server})")
    parser.add_argument("--no-celery", action="store_true", help="with REDIS_URL: do not start a Celery worker "
                        "(run `celery -A asgi:celery_app worker` yourself)")
    return parser.parse_args(argv)


def _supervise(site, stopping: list, restarts: int = 3, window: float = 60.0) -> None:
    """Keep gunicorn running: a master that dies (e.g. SIGKILLed) is noticed within a second and
    restarted; one that keeps dying is reported as an error instead of restarted forever."""
    recent: list[float] = []
    while not stopping:
        code = site.web.poll()
        if code is None:
            time.sleep(0.5)
            continue
        if stopping:
            return
        now = time.monotonic()
        recent = [t for t in recent if now - t < window] + [now]
        if len(recent) > restarts:
            raise RuntimeError(f"gunicorn's master exited (code {code}) {len(recent)} times in {window:g} s; giving up")
        print(f"gunicorn's master exited unexpectedly (code {code}); restarting it", file=sys.stderr, flush=True)
        site.restart_web()
        print(f"gunicorn restarted on {site.url}", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    os.umask(PRIVATE_UMASK)
    args = parse_args(argv)
    try:
        run_settings = load_settings(data_dir=args.data_dir, server=args.server)
        prepare_data_dir(run_settings.data_dir)
        store = stores.open_store(run_settings)
        stores.check_reachable(run_settings, store)
        if not run_settings.secret:
            # Hand every process this server starts the one secret minted in the store, so a worker
            # restarted later (e.g. after a Redis without persistence restarted) still agrees.
            run_settings = run_settings.replace(secret=stores.Lab(run_settings, store).secret.decode())
    except (ConfigError, stores.StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot prepare the data directory {run_settings.data_dir}: {exc.strerror}", file=sys.stderr)
        return 2
    run_settings, operator_note = operator.ensure_token(run_settings, f"http://{args.host}:{args.port}")
    site = Site(run_settings, host=args.host, port=args.port, workers=args.workers, celery=not args.no_celery,
                supervise=True)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    try:
        site.start()
        backend = f"Redis at {stores.redact(run_settings.redis_url)}" if run_settings.redis_url else f"embedded stores in {run_settings.data_dir}"
        print(f"Dash State Lab on {site.url}  ({args.workers} {run_settings.server} workers, {run_settings.mode} mode: {backend}"
              f"{', Celery worker started' if site.worker else ''}). Ctrl-C stops it.", flush=True)
        if operator_note:
            print(operator_note, flush=True)
        _supervise(site, stopping)
    except KeyboardInterrupt:
        pass
    except PortInUse as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (RuntimeError, TimeoutError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        site.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
