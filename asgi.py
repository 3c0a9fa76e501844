"""The one ASGI application `python app.py` serves (gunicorn target asgi:application, uvicorn workers).

/live and /live/... (HTTP and WebSocket) and the lifespan go to the live app (live/server.py: Dash on
its FastAPI backend, WebSocket callbacks); every other path goes to the Flask site (app.py) through
WholeWSGI (a2wsgi's environ, whole bodies), on a bounded pool of THREADS threads per worker — the same
number of requests at once as a gthread worker answers. One port, one origin.

Order matters, and is fixed here at import, before the worker serves anything:
1. `app` (the Flask site) is imported and set up (app.set_up_now): Dash hands the global
   `dash.callback`s to whichever app sets itself up first, and sets up lazily on the first request —
   under threads, simultaneous first requests raced (500 '"dash" is not a registered library').
2. live.server, then each module in live.server.PAGES, then live.server.finish(); the live app is then
   set up at once too.
3. Dash's `get_app()` answers the last Dash created, and the Flask backend's callback dispatch
   (background callbacks among it) relies on it without setting a context: it is pointed back at the
   Flask site, and each live request and the lifespan run with the live app as their context.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import json
import os
from concurrent.futures import ThreadPoolExecutor

import dash
from a2wsgi.wsgi import build_environ
from dash import _get_app

import app as site
import security
import stores
from components import envelope
from serve import THREADS

# Dash's private parts this module relies on (step 3 above): an upgraded Dash that moved them must stop
# the worker's boot with the reason, not serve the Flask site's callbacks through the wrong app.
if not (hasattr(_get_app, "APP") and hasattr(_get_app, "app_context")):
    raise RuntimeError("dash._get_app.APP / app_context not found: update asgi.py for the installed Dash")
site.set_up_now()

from live import server as live_server  # noqa: E402  (after the Flask site is set up: see above)

# Back to the Flask site at once: dash.register_page, should anything call it from here on, recomputes every
# page's relative_path with get_app() — with the live app's prefix, links became /live/aggregates.
_get_app.APP = site.app
live_server.load_pages()
live_server.finish()
live = live_server.live
_get_app.APP = site.app
for _page in dash.page_registry.values():
    _page["relative_path"] = site.app.get_relative_path(_page["path"])
# The Celery target (serve.celery_command): the site's Celery app once every page, live ones too, has
# registered its background-callback tasks.
celery_app = site.celery_app

PREFIX = live_server.PREFIX.rstrip("/")
CALLBACK_PATH = live_server.PREFIX + "_dash-update-component"
# Open WebSockets per worker process: beyond it a handshake is refused (HTTP 403), not queued.
MAX_SOCKETS = site.settings.ws_max_sockets
# A socket on which the client sent nothing at all for this long — the renderer sends a heartbeat
# every HEARTBEAT_MS (30 s; default 90 s here) — is closed: its peer is gone without saying so.
SOCKET_IDLE = site.settings.ws_idle_timeout
# Bounds what one WebSocket message may hold, as STATELAB_MAX_REQUEST_BYTES bounds an HTTP callback.
MAX_MESSAGE_BYTES = site.settings.max_request_bytes


def _set_up_live() -> None:
    token = _get_app.app_context.set(live)
    try:
        live._setup_server()  # the live app's one first-request step (its FastAPI before_request hook)
    finally:
        _get_app.app_context.reset(token)


_set_up_live()


async def _answer(send, status: int, message: str) -> None:
    body = json.dumps({"message": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class _Gone(Exception):
    """The client disconnected before its request body arrived."""


async def _read_body(receive, limit: int) -> bytes | None:
    """The request body, or None once it exceeds `limit` bytes; _Gone if the client left."""
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Gone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def _replay(body: bytes, receive):
    sent = False

    async def replayed():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


class CallbackCheck:
    """The live app's HTTP callback bodies checked as the Flask site checks its own (components/envelope):
    malformed ones get a 400 with the reason instead of Dash's 500; oversized ones a 413."""

    def __init__(self, asgi_app):
        self.asgi_app = asgi_app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != CALLBACK_PATH:
            return await self.asgi_app(scope, receive, send)
        try:
            raw = await _read_body(receive, MAX_MESSAGE_BYTES)
        except _Gone:
            return None
        if raw is None:
            return await _answer(send, 413, f"This update is larger than the server accepts "
                                            f"({MAX_MESSAGE_BYTES // 2**20} MB).")
        refusal = _callback_problem(raw)
        if refusal:
            return await _answer(send, 400, f"Malformed callback request: {refusal}")
        return await self.asgi_app(scope, _replay(raw, receive), send)


def _callback_problem(raw: bytes | str) -> str | None:
    try:
        body = envelope.parse(raw.encode() if isinstance(raw, str) else raw)
    except envelope.Malformed as exc:
        return str(exc)
    return envelope.problem(body, live.callback_map)


def _message_problem(text: str) -> str | None:
    """Why a WebSocket message from a browser cannot go to Dash's handler (which would fail on it)."""
    try:
        message = envelope.parse(text.encode())
    except (envelope.Malformed, UnicodeEncodeError) as exc:
        return f"not JSON: {exc}"
    if not isinstance(message, dict):
        return "a message is a JSON object"
    if message.get("type") != "callback_request":
        return None
    payload = message.get("payload")
    if not isinstance(payload, dict):
        return "a callback request needs a payload object"
    registered = live.callback_map.get(payload.get("output")) if isinstance(payload.get("output"), str) else None
    if registered and registered.get("no_output"):
        # A persistent callback (no Output, maybe no Input) sends no 'outputs' and may send no 'inputs'.
        payload = {"outputs": [], **({"inputs": []} if not registered["inputs"] else {}), **payload}
    problem = envelope.problem(payload, live.callback_map)
    if problem:
        return problem
    if not live._websocket_callbacks and not live.callback_map[payload["output"]].get("websocket"):
        return "that callback does not run over the WebSocket"
    return None


class SocketGuard:
    """WebSockets bounded per worker: at most MAX_SOCKETS open, each closed after SOCKET_IDLE seconds in
    which the client sent nothing, and each message checked before Dash's handler sees it (a binary,
    oversized or malformed one closes the socket with a reason, not a traceback in the log)."""

    def __init__(self, asgi_app, limit: int = MAX_SOCKETS, idle: float = SOCKET_IDLE):
        self.asgi_app, self.limit, self.idle = asgi_app, limit, idle
        self.open = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.asgi_app(scope, receive, send)
        if self.open >= self.limit:
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1013})  # before accept: HTTP 403
            return
        self.open += 1
        closed = False

        async def guarded_send(message):
            if not closed:
                await send(message)

        async def close(code: int, reason: str):
            nonlocal closed
            if not closed:
                closed = True
                await send({"type": "websocket.close", "code": code, "reason": reason[:120]})
            return {"type": "websocket.disconnect", "code": code}

        async def guarded_receive():
            if closed:
                return {"type": "websocket.disconnect", "code": 1000}
            try:
                message = await asyncio.wait_for(receive(), self.idle)
            except TimeoutError:
                return await close(1001, "idle: nothing received")
            if message["type"] != "websocket.receive":
                return message
            if message.get("bytes") is not None:
                return await close(1003, "text messages only")
            text = message.get("text") or ""
            if len(text) > MAX_MESSAGE_BYTES:
                return await close(1009, "message too large")
            problem = _message_problem(text)
            return await close(1008, problem) if problem else message

        try:
            await self.asgi_app(scope, guarded_receive, guarded_send)
        finally:
            self.open -= 1


class WholeWSGI:
    """The Flask site as ASGI: a2wsgi's WSGI environ, but each request's body read whole in the event loop
    (bounded by STATELAB_MAX_REQUEST_BYTES: a slow body costs no thread) and each answer sent whole once the
    thread is done. That is two hand-offs between the loop and a thread per request; a2wsgi's
    WSGIMiddleware makes one more per message each way (start, every body chunk, the end, every body read),
    and each costs a wake-up: measured side by side at a load average of ~30 on 2 cores, the no-op's p50
    was 42 ms through a2wsgi's responder against 12 ms under gthread (see the README's figures for this
    class). The site's answers are small JSON or files of at most a few MB, never an endless stream."""

    def __init__(self, wsgi_app, threads: int, max_body: int):
        self.wsgi_app = wsgi_app
        self.max_body = max_body
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="WSGI")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":  # a WebSocket outside /live/: nothing here speaks it
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1000})
            return
        try:
            raw = await _read_body(receive, self.max_body)
        except _Gone:
            return
        if raw is None:
            await _answer(send, 413, f"This update is larger than the server accepts ({self.max_body // 2**20} MB). "
                                     "Keep large data on the server (serverside or session-cache) instead of sending it up.")
            return
        environ = build_environ(scope, io.BytesIO(raw))
        environ["CONTENT_LENGTH"] = str(len(raw))
        environ["wsgi.input_terminated"] = True
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        status, headers, body = await loop.run_in_executor(self.executor, context.run, self._run, environ)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _run(self, environ) -> tuple[int, list, bytes]:
        started: list = []
        chunks: list[bytes] = []

        def start_response(status, response_headers, exc_info=None):
            if exc_info and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [int(status.split(" ", 1)[0]),
                          [(k.strip().lower().encode("latin1"), v.strip().encode("latin1")) for k, v in response_headers]]
            return chunks.append  # WSGI's write()

        iterable = self.wsgi_app(environ, start_response)
        try:
            chunks.extend(iterable)
        finally:
            getattr(iterable, "close", lambda: None)()
        return started[0], started[1], b"".join(chunks)


_flask = WholeWSGI(site.server, threads=THREADS, max_body=site.settings.max_request_bytes)
# X-Worker-PID as on the Flask site's answers (stores/telemetry.py): which worker answered. Read at import,
# which gunicorn does in each worker (serve.gunicorn_command never preloads).
_live = SocketGuard(security.HeadersMiddleware(CallbackCheck(live.server), live,
                                               extra={stores.telemetry.PID_HEADER: str(os.getpid())}))


def _is_live(path: str) -> bool:
    return path == PREFIX or path.startswith(live_server.PREFIX)


async def application(scope, receive, send):
    if scope["type"] == "lifespan" or _is_live(scope.get("path", "")):
        _get_app.app_context.set(live)  # this request's (or the lifespan's) task only
        return await _live(scope, receive, send)
    _get_app.app_context.set(site.app)  # a2wsgi runs the Flask request in a copy of this context
    return await _flask(scope, receive, send)
