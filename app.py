"""Dash State Lab: the Dash app (gunicorn target app:server, Celery target app:celery_app)
and `python app.py`, the one-command demo server."""

from __future__ import annotations

import argparse
import hashlib
import hmac
import signal
import sys
import time

from dash import Dash
from flask import jsonify, request

import stores
from components import instruments, shell  # noqa: F401  (instruments registers its callbacks)
from config import ConfigError, load_settings
from stores.background import TASK_QUEUE_ERRORS, make_celery, make_manager
from stores.caching import make_cache
from stores.codec import BadPayload
from stores.sessions import InvalidSessionId

settings = load_settings()
lab = stores.configure(settings)
celery_app = make_celery(settings)
cache = make_cache(settings)

app = Dash(
    __name__,
    use_pages=True,
    title="Dash State Lab",
    update_title=None,
    background_callback_manager=make_manager(settings, celery_app),
    suppress_callback_exceptions=True,
)
server = app.server
server.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes


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
stores.telemetry.install(server, lab.store)
app.layout = shell.layout(settings.mode)


def _error(status: int, message: str):
    return jsonify(message=message), status


def callback_body_problem(body, callback_map) -> str | None:
    """What is wrong with a /_dash-update-component body, or None if Dash can take it."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    output = body.get("output")
    if not isinstance(output, str):
        return "'output' must be a string"
    if output not in callback_map:
        return f"no callback has the output {output[:120]!r}"
    if "outputs" not in body:
        return "'outputs' is missing"
    if not isinstance(body.get("inputs"), list):
        return "'inputs' must be a list"
    if not isinstance(body.get("state", []), list):
        return "'state' must be a list"
    # Dash's page router turns a pathname that is not text into a bare 500.
    location = [i for i in body["inputs"] + body.get("state", []) if isinstance(i, dict) and i.get("id") == "_pages_location"]
    for item in location:
        if item.get("property") in ("pathname", "search") and not isinstance(item.get("value"), str | None):
            return f"the page location's {item['property']} must be text, not {type(item.get('value')).__name__}"
    return None


@server.before_request
def _check_callback_request():
    # Dash answers a malformed body with a bare 500 and a traceback in the log;
    # say what is wrong instead. Flask caches the parsed body for Dash.
    if request.method != "POST" or not request.path.endswith(stores.telemetry.CALLBACK_PATH):
        return None
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        return _error(400, "Malformed callback request: the body is nested too deeply")
    problem = callback_body_problem(body, app.callback_map)
    return _error(400, f"Malformed callback request: {problem}") if problem else None


@server.errorhandler(413)
def _too_large(_exc):
    return _error(413, f"This update is larger than the server accepts ({settings.max_request_bytes // 2**20} MB). "
                       "Keep large data on the server (serverside or session-cache) instead of sending it up.")


@server.errorhandler(stores.StoreError)
def _store_down(exc):
    return _error(503, f"Store unavailable: {exc}")


def _task_queue_down(exc):
    return _error(503, f"Store unavailable: the task queue's Redis did not answer ({type(exc).__name__}: {exc}). "
                       "Try again when it is back.")


# Background callbacks reach Redis through Celery and kombu, whose errors are not ours:
# name them instead of answering a bare 500.
for _kind in TASK_QUEUE_ERRORS:
    server.register_error_handler(_kind, _task_queue_down)


@server.errorhandler(InvalidSessionId)
def _bad_session(exc):
    return _error(400, f"Rejected session id: {exc}. Reload the page for a new session.")


@server.errorhandler(BadPayload)
def _bad_payload(exc):
    return _error(400, f"Rejected data from the browser: {exc}")


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
    parser.add_argument("--no-celery", action="store_true", help="with REDIS_URL: do not start a Celery worker "
                        "(run `celery -A app:celery_app worker` yourself)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    from serve import Site

    args = parse_args(argv)
    try:
        run_settings = load_settings(data_dir=args.data_dir)
        store = stores.open_store(run_settings)
        stores.check_reachable(run_settings, store)
        if not run_settings.secret:
            # Hand every process this server starts the one secret minted in the store, so a worker
            # restarted later (e.g. after a Redis without persistence restarted) still agrees.
            run_settings = run_settings.replace(secret=stores.Lab(run_settings, store).secret.decode())
    except (ConfigError, stores.StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    site = Site(run_settings, host=args.host, port=args.port, workers=args.workers, celery=not args.no_celery,
                supervise=True)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    try:
        site.start()
        backend = f"Redis at {stores.redact(run_settings.redis_url)}" if run_settings.redis_url else f"embedded stores in {run_settings.data_dir}"
        print(f"Dash State Lab on {site.url}  ({args.workers} workers, {run_settings.mode} mode: {backend}"
              f"{', Celery worker started' if site.worker else ''}). Ctrl-C stops it.", flush=True)
        while not stopping and site.web.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    except (RuntimeError, TimeoutError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        site.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
