"""Dash's WebSocket callback protocol, spoken as the renderer's SharedWorker speaks it.

Dash 4.2+ sends `websocket=True` callbacks over one socket per browser (the renderer's
SharedWorker, dash-ws-worker.js) to `<requests_pathname_prefix>_dash-ws-callback`:

- up: `{"type": "callback_request", "rendererId", "requestId", "payload"}` — the payload is the
  very body an HTTP callback would POST; `{"type": "get_props_response", ...}`; `{"type": "heartbeat"}`.
- down: `callback_response` (payload `{"status": "ok" | "prevent_update" | "error", "data"}`),
  `set_props` (pushed at once while a callback runs), `get_props_request`, `heartbeat_ack`; several
  messages that leave the server within its batch delay arrive as one JSON array.
- the handshake carries an `Origin` whose host equals `Host` (Dash refuses others with 4003);
  after a close with any code but 1000 and 4001 the worker reconnects (after 1–2 s, then backing
  off), answers the tabs' pending callbacks with prevent_update, and the renderer re-fires its
  persistent callbacks (no output, no input).

`Socket` is that one connection; `WsPage` is a `dashclient.Page` whose websocket callbacks go
through it while the others stay HTTP. Every frame is counted: its payload bytes (what
Chromium's DevTools reports as a frame's payloadData, before permessage-deflate), direction,
time and kind.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import connect

from .dashclient import Browser, Call, Interaction, Page, _Pending
from .dashgraph import DashClientError, parse

WS_ENDPOINT = "_dash-ws-callback"
NO_RECONNECT = (1000, 4001)  # the worker gives up after these close codes (dash-ws-worker.js)
FIRST_RETRY = (1.0, 2.0)  # its first reconnect waits initialRetryDelay + up to 1 s


def js_stringify(value) -> str:
    """JSON.stringify: no spaces, non-ASCII kept as it is."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass
class Frame:
    direction: str  # "up" or "down"
    size: int  # payload bytes (UTF-8)
    at: float  # time.perf_counter()
    kinds: tuple[str, ...]  # the message types inside (a batch holds several)


@dataclass
class Push:
    """One set_props the server pushed."""

    component: str  # stringified id
    props: dict
    at: float  # time.perf_counter() when the frame arrived
    wall: float  # time.time() then


@dataclass
class SocketStats:
    frames: list[Frame] = field(default_factory=list)
    connects: int = 0  # handshakes (each one HTTP upgrade request)
    closes: list[tuple[int | None, str]] = field(default_factory=list)

    def bytes(self, direction: str, since: float = 0.0) -> int:
        return sum(f.size for f in self.frames if f.direction == direction and f.at >= since)

    def count(self, direction: str, since: float = 0.0) -> int:
        return sum(1 for f in self.frames if f.direction == direction and f.at >= since)


class Socket:
    """One WebSocket connection to a Dash app, as the SharedWorker holds it (one per browser)."""

    def __init__(self, base_url: str, prefix: str = "/", origin: str | None = None, renderer_id: str | None = None,
                 headers: dict | None = None, timeout: float = 30.0, reconnect: bool = True,
                 on_push: Callable[[list[Push]], None] | None = None,
                 on_get_props: Callable[[str, list[str]], dict] | None = None,
                 on_reconnect: Callable[[], None] | None = None):
        parts = urlsplit(base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        self.url = f"{scheme}://{parts.netloc}{prefix}{WS_ENDPOINT}"
        # The page's own origin, as a browser sends it: Dash compares its host with Host.
        self.origin = origin or f"{parts.scheme}://{parts.netloc}"
        self.renderer_id = renderer_id or str(uuid.uuid4())
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.reconnect = reconnect
        self.on_push, self.on_get_props, self.on_reconnect = on_push, on_get_props, on_reconnect
        self.stats = SocketStats()
        self._counter = itertools.count(1)
        self._pending: dict[str, Future] = {}
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._conn = None
        self._closing = False
        self.connected = threading.Event()
        self.closed = threading.Event()

    # -- connection ---------------------------------------------------------------
    def connect(self) -> Socket:
        try:
            conn = connect(self.url, origin=self.origin, additional_headers=self.headers or None,
                           open_timeout=self.timeout, ping_interval=None, close_timeout=5,
                           max_size=64 * 2**20, legacy=True, proxy=None)
        except InvalidStatus as exc:
            raise DashClientError(f"{self.url} refused the WebSocket: HTTP {exc.response.status_code}") from None
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            raise DashClientError(f"{self.url}: {type(exc).__name__}: {exc}") from None
        with self._lock:
            self._conn = conn
            self.stats.connects += 1
            self.closed.clear()
        self.connected.set()
        threading.Thread(target=self._read, args=(conn,), name="dash-ws-reader", daemon=True).start()
        return self

    def close(self) -> None:
        self._closing = True
        conn = self._conn
        if conn is not None:
            with contextlib.suppress(Exception):  # closing a dead socket: already done
                conn.close(1000, "Client disconnect")
        self.closed.wait(5)

    @property
    def in_flight(self) -> int:
        """Callback requests sent and not answered yet."""
        with self._lock:
            return len(self._pending)

    @property
    def close_code(self) -> int | None:
        return self.stats.closes[-1][0] if self.stats.closes else None

    # -- sending --------------------------------------------------------------------
    def send(self, message: dict) -> int:
        text = js_stringify(message)
        size = len(text.encode())
        with self._send_lock:
            conn = self._conn
            if conn is None or not self.connected.is_set():
                raise DashClientError("the WebSocket is not connected")
            self.stats.frames.append(Frame("up", size, time.perf_counter(), (message.get("type", "?"),)))
            try:
                conn.send(text)
            except ConnectionClosed as exc:
                raise DashClientError(f"the WebSocket closed while sending ({exc})") from None
        return size

    def call(self, payload: dict, timeout: float | None = -1.0) -> tuple[dict, int, float]:
        """Send one callback_request; (its callback_response payload, bytes up, ms). A socket that closes
        meanwhile answers prevent_update, as the worker does for the tabs' pending callbacks.
        timeout: seconds (default: the socket's), or None to wait as long as the socket lives."""
        request_id = f"{self.renderer_id}-{next(self._counter)}"
        future: Future = Future()
        with self._lock:
            self._pending[request_id] = future
        started = time.perf_counter()
        try:
            up = self.send({"type": "callback_request", "rendererId": self.renderer_id, "requestId": request_id,
                            "payload": payload})
            wait = self.timeout if timeout is not None and timeout < 0 else timeout
            response = future.result(wait)
        except FutureTimeout:
            raise DashClientError(f"no callback_response for {payload.get('output', '?')[:80]} within {wait:g} s") from None
        finally:
            with self._lock:
                self._pending.pop(request_id, None)
        return response, up, (time.perf_counter() - started) * 1000

    def heartbeat(self) -> None:
        self.send({"type": "heartbeat"})

    # -- receiving ------------------------------------------------------------------
    def _read(self, conn) -> None:
        try:
            for data in conn:
                at = time.perf_counter()
                raw = data.encode() if isinstance(data, str) else data
                try:
                    message = parse(raw)
                except ValueError:
                    self.stats.frames.append(Frame("down", len(raw), at, ("unparsable",)))
                    continue
                messages = message if isinstance(message, list) else [message]
                self.stats.frames.append(Frame("down", len(raw), at, tuple(m.get("type", "?") for m in messages)))
                self._dispatch(messages, at)
        except ConnectionClosed:
            pass
        finally:
            self._closed(conn)

    def _dispatch(self, messages: list[dict], at: float) -> None:
        pushes = []
        wall = time.time()
        for message in messages:
            kind = message.get("type")
            if kind == "callback_response":
                with self._lock:
                    future = self._pending.pop(message.get("requestId"), None)
                if future is not None and not future.done():
                    future.set_result(message.get("payload") or {})
            elif kind == "set_props":
                payload = message.get("payload") or {}
                pushes.append(Push(str(payload.get("componentId")), payload.get("props") or {}, at, wall))
            elif kind == "get_props_request":
                payload = message.get("payload") or {}
                props = self.on_get_props(payload.get("componentId"), payload.get("properties") or []) \
                    if self.on_get_props else {}
                with contextlib.suppress(DashClientError):  # closed meanwhile: nobody waits for it
                    self.send({"type": "get_props_response", "rendererId": self.renderer_id,
                               "requestId": message.get("requestId"), "payload": props})
        if pushes and self.on_push:
            self.on_push(pushes)

    def _closed(self, conn) -> None:
        code, reason = conn.close_code, conn.close_reason or ""
        with self._lock:
            if self._conn is not conn:
                return
            self.connected.clear()
            self.stats.closes.append((code, reason))
            pending, self._pending = list(self._pending.values()), {}
        for future in pending:  # what the worker answers the tabs' pending callbacks
            if not future.done():
                future.set_result({"status": "prevent_update", "disconnected": True})
        self.closed.set()
        if self.reconnect and not self._closing and code not in NO_RECONNECT:
            threading.Thread(target=self._reconnect, name="dash-ws-reconnect", daemon=True).start()

    def _reconnect(self) -> None:
        time.sleep(random.uniform(*FIRST_RETRY))
        for _attempt in range(10):
            if self._closing:
                return
            try:
                self.connect()
            except DashClientError:
                time.sleep(2.0)
                continue
            if self.on_reconnect:
                self.on_reconnect()
            return


class WsPage(Page):
    """A page of a Dash app whose websocket=True callbacks travel over one Socket.

    The page's own dcc.Location gets the path (the browser sets it on mount), the socket opens
    when the page loads (the renderer connects at start), and the app's persistent callbacks (no
    output, no input) fire once connected and again after every reconnect, as in the renderer.
    Pushed set_props are applied to the held layout, recorded in `pushes`, and the callbacks that
    depend on them follow (on one thread, in arrival order)."""

    def __init__(self, browser: Browser, path: str, renderer_id: str | None = None, origin: str | None = None,
                 follow: bool = True, reconnect: bool = True, **kwargs):
        super().__init__(browser, path, **kwargs)
        self.renderer_id = renderer_id
        self.origin = origin
        self.follow = follow
        self.reconnect = reconnect
        self.socket: Socket | None = None
        self._started = False
        self.pushes: list[Push] = []
        self.changed = threading.Condition()
        self._follower = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dash-ws-follow")

    # -- loading ---------------------------------------------------------------------
    def open(self) -> Interaction:
        interaction = super().open()
        if self.websocket_config() and self.socket is None:
            self._connect()
        return interaction

    def _layout_callbacks(self, inserted: set[str]):
        # The renderer's first dispatch: it connects and fires the persistent callbacks together with the
        # initial layout's (the router's among them), so they run before the routed page is there.
        if not self._started and self.websocket_config():
            self._started = True
            if self.socket is None:
                self._connect()
            self._fire_persistent()
        return super()._layout_callbacks(inserted)

    def websocket_config(self) -> dict | None:
        config = self.config.get("websocket") or {}
        return config if config.get("url") else None

    def _reindex(self) -> None:
        super()._reindex()
        path, _, query = self.path.partition("?")
        for key in self.order:
            comp = self.index[key]
            if comp.get("type") == "Location" and "pathname" not in comp["props"]:
                base = self.browser.urls[0]
                comp["props"].update(pathname=path, search=f"?{query}" if query else "", hash="",
                                     href=base + self.path)

    def _connect(self) -> Socket:
        cookies = "; ".join(f"{c.name}={c.value}" for c in self.browser.http.cookies)
        headers = {"User-Agent": self.browser.http.headers.get("User-Agent", "statelab-bench/1")}
        if cookies:
            headers["Cookie"] = cookies
        prefix = self.config.get("requests_pathname_prefix") or "/"
        self.socket = Socket(self.browser.urls[0], prefix, origin=self.origin, renderer_id=self.renderer_id,
                             headers=headers, timeout=self.browser.timeout, reconnect=self.reconnect,
                             on_push=self._pushed, on_get_props=self._get_props,
                             on_reconnect=self._fire_persistent).connect()
        return self.socket

    def close(self) -> None:
        if self.socket is not None:
            self.socket.close()
        self._follower.shutdown(wait=False, cancel_futures=True)

    def persistent_callbacks(self):
        return [cb for cb in self.graph.callbacks
                if cb.no_output and not cb.inputs and not cb.prevent_initial_call and self.scope(cb)]

    def _fire_persistent(self) -> None:
        # Each on a thread of its own: a persistent callback may run for the socket's whole life (a
        # subscription) and answer only when the socket closes.
        for cb in self.persistent_callbacks():
            start = [_Pending(cb, {}, {}, 0, initial=True)]
            threading.Thread(target=self._run, args=(start, Interaction()), name="dash-ws-persistent", daemon=True).start()

    # -- what the server pushes --------------------------------------------------------
    def _pushed(self, pushes: list[Push]) -> None:
        changed: dict = {}
        with self.changed:
            for push in pushes:
                if push.component in self.index:
                    for prop, value in push.props.items():
                        self._set(self.ids[push.component], prop, value)
                        changed[f"{push.component}.{prop}"] = None
                self.pushes.append(push)
            self.changed.notify_all()
        if self.follow and changed:
            self._follower.submit(self._follow, changed)

    def _follow(self, changed: dict) -> None:
        self._run(self._triggered(changed, depth=1), Interaction())

    def _get_props(self, component_id: str, properties: list[str]) -> dict:
        comp = self.index.get(component_id)
        if comp is None:
            return {}
        return {p: comp["props"][p] for p in properties if p in comp["props"]}

    def wait_for(self, predicate: Callable[[], object], timeout: float = 30.0, message: str = "a push"):
        """Wait until predicate() (called under the page's lock after each push) is truthy."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                value = predicate()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DashClientError(f"timed out after {timeout:g} s waiting for {message}")
                self.changed.wait(left)

    # -- callbacks over the socket ------------------------------------------------------
    def _payload(self, p) -> dict:
        payload = super()._payload(p)
        if p.cb.no_output:  # the renderer sends no "outputs" for a callback without outputs
            payload.pop("outputs", None)
        return payload

    def _submit(self, pool, p, interaction):
        if p.cb.raw.get("websocket") and not p.cb.clientside and not p.cb.background:
            payload = self._payload(p)
            self._side(p.cb.running and p.cb.running.get("running"))
            return pool.submit(self._ws_post, p, payload)
        return super()._submit(pool, p, interaction)

    def _ws_post(self, p, payload: dict) -> dict:
        socket = self.socket or self._connect()
        if not socket.connected.wait(self.browser.timeout):
            raise DashClientError("the WebSocket did not reconnect")
        since = time.perf_counter()
        wall = time.time()
        host = socket.url
        # A persistent callback answers when it ends, which may be when the socket closes.
        persistent = bool(p.cb.raw.get("persistent")) or (p.cb.no_output and not p.cb.inputs)
        try:
            response, up, ms = socket.call(payload, timeout=None if persistent else self.browser.timeout)
        except DashClientError as exc:
            call = Call(p.cb.output, host, 0, 0, 0, 0.0, "?", wall, p.depth, error=str(exc))
            return {"updates": {}, "side": {}, "calls": [call]}
        # Down: everything the socket brought while the callback ran (its pushes and its answer).
        call = Call(p.cb.output, host, 101, up, socket.stats.bytes("down", since), ms, "ws", wall, p.depth)
        status = response.get("status")
        if status == "error":
            call.error = f"WebSocket callback {p.cb.output[:80]} failed: {str(response.get('message'))[:200]}"
            return {"updates": {}, "side": {}, "calls": [call]}
        if status != "ok":  # prevent_update, or the socket closed meanwhile
            return {"updates": {}, "side": {}, "calls": [call]}
        data = response.get("data") or {}
        return {"updates": self._response(p, data), "side": data.get("sideUpdate") or {}, "calls": [call]}


def is_socket_call(call: Call) -> bool:
    return call.host.startswith(("ws://", "wss://"))


def http_requests(interaction: Interaction) -> int:
    """The HTTP requests an interaction made (socket frames are not requests)."""
    return sum(1 for c in interaction.calls if not is_socket_call(c))
