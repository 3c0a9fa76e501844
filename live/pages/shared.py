"""Live shared state: one annotation every visitor shares, pushed to every open tab, beside polling.

Push: each tab's renderer starts `follow` over its WebSocket (a persistent callback: no Input, no
Output, restarted by the renderer whenever the socket reconnects). It subscribes to this worker's
bus (stores/livebus.py: one listener per worker, however many tabs) and pushes each event with
set_props into the feed store; a clientside callback (assets/live_shared.js) notes the arrival time
and shows the value, the delay and the history. Changes go up over the socket too (`share`).

Polling: a dcc.Interval (1 s) asks `poll` over HTTP for the value in the store, the way a page
without a socket would. Each poll also carries the browser's send time and returns the server's
clock, so the page estimates the offset between the two clocks (NTP-style, from the fastest round
trip: error at most half of it) and measures both delays against the publisher's clock.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import time

import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, dcc, html, set_props
from dash.exceptions import PreventUpdate

from components import strategy
from components.ids import Ids
from components.instruments import metric
from components.source import source_panel
from i18n import _
from live.server import LOCATION, in_browser, lab, live, page, settings
from stores import StoreError, livebus
from strategies.live_shared import STRATEGY

META = STRATEGY.meta()
PATH = META["path"]
ids = Ids(META["slug"])
FEED = ids("feed")  # the store every push lands in (one set_props per event)
MOUNT_WAIT = 10.0  # seconds a new tab may take to render this page's content before follow gives up
# With nothing to push for this long, follow sends a tick: the renderer's SharedWorker closes a socket that carried
# nothing but heartbeats for websocket_inactivity_timeout (5 min) and does not reopen it, so an idle tab would
# silently stop receiving changes. One small message a minute per tab keeps it open.
IDLE_WAKE = 60.0


def bus() -> livebus.LiveBus:
    return livebus.bus(settings, lab.store)


def _column(title: str, name: str, how: str) -> dbc.Col:
    """One approach's view of the value: what it shows, its measured delay and what it costs this tab."""
    return dbc.Col(
        dbc.Card(
            dbc.CardBody(
                [
                    html.H2(title, className="h6 mb-1"),
                    html.Div(how, className="small text-muted mb-2"),
                    html.Div("…", id=ids(f"{name}-value"), className="lab-live-value"),
                    html.Div("", id=ids(f"{name}-meta"), className="small text-muted mb-2"),
                    html.Div(
                        [metric(_("last delay"), "–"), metric("p50 / p95", "–"), metric(_("per minute"), "–")],
                        id=ids(f"{name}-metrics"),
                        className="lab-metrics",
                    ),
                ]
            ),
            className="lab-card h-100",
        ),
        md=6,
        className="mb-2",
    )


def _editor() -> html.Div:
    return html.Div(
        [
            dbc.Label(_("Change the shared annotation (every open tab shows it)"), html_for=ids("text"), className="small"),
            dbc.InputGroup(
                [
                    dbc.Input(id=ids("text"), maxLength=livebus.MAX_VALUE_CHARS, placeholder=_("a short annotation"),
                              debounce=False, n_submit=0, autoComplete="off"),
                    dbc.Label(_("your name"), html_for=ids("name"), className="visually-hidden"),
                    dbc.Input(id=ids("name"), value=f"visitor-{secrets.token_hex(2)}", maxLength=livebus.MAX_NAME_CHARS,
                              style={"maxWidth": "11rem"}, autoComplete="off"),
                    dbc.Button(_("Share"), id=ids("share"), color="primary"),
                ],
                size="sm",
            ),
            html.Div("", id=ids("share-result"), className="small mt-1", role="status"),
        ],
        className="mb-3",
    )


def _demo() -> html.Div:
    return html.Div(
        [
            html.Div("", id=ids("banner"), className="d-none", role="status"),
            _editor(),
            dbc.Row(
                [
                    _column(_("Pushed over the WebSocket"), "push",
                            _("each worker's bus listener hands the change to this tab's socket")),
                    _column(_("Polled with dcc.Interval (1 s)"), "poll",
                            _("an HTTP request every second reads the value from the store")),
                ],
                className="g-2",
            ),
            dbc.Switch(id=ids("polling"), label=_("keep polling (turn off to see what push alone costs)"), value=True,
                       className="small mt-1"),
            html.H2(_("Latest changes"), className="h6 mt-3"),
            html.Div("", id=ids("history"), className="small lab-live-history"),
            dcc.Store(id=FEED),
            dcc.Store(id=ids("poll-ask")),
            dcc.Store(id=ids("poll-answer")),
            dcc.Interval(id=ids("poll"), interval=1000),
            dcc.Interval(id=ids("meter"), interval=2000),  # clientside only: refreshes the counts, no request
            dcc.Store(id=ids("texts"), data=_texts()),
        ]
    )


def _texts() -> dict:
    """What assets/live_shared.js writes, in the visitor's language ({name}: filled in by the browser)."""
    return {
        "socketPid": _("socket worker pid"),
        "socketPidHint": _("the worker process that holds this tab's WebSocket"),
        "bus": _("bus"),
        "busDown": _("{mode} (down)"),
        "busHint": _("Redis pub/sub, or Unix datagram sockets on one machine"),
        "tabs": _("tabs on that worker"),
        "tabsHint": _("subscribers of that worker's listener when this tab joined"),
        "describe": _("by {by} at {time} · change #{seq} · published by worker {pid}"),
        "readBy": _("{description} · read by worker {pid}"),
        "clocks": _("Clocks: server minus this browser = {offset} ms, within ±{error} ms (half the fastest poll's "
                    "round trip, {rtt} ms); both delays are measured on the server's clock."),
        "noAnswer": _("(the store did not answer)"),
        "nothing": _("(nothing shared yet)"),
        "storeError": _("The store did not answer: {error}"),
        "reconnected": _("This tab's socket reconnected: value reloaded."),
        "reconnectedMoved": _("This tab's socket reconnected to worker {pid} (was {before}): value reloaded."),
        "paused": _("Live updates paused: {message} (worker {pid})"),
        "resumed": _("Live updates resumed: {message} (worker {pid})"),
        "lastDelay": _("last delay"),
        "pushDelayHint": _("publish → arrival in this tab"),
        "pollDelayHint": _("publish → first poll that saw it"),
        "oneSample": _("{num} change measured"),
        "samples": _("{num} changes measured"),
        "messages": _("messages / min"),
        "messagesHint": _("pushed to this tab in the last minute, over its one socket; 0 HTTP requests"),
        "requests": _("requests / min"),
        "requestsHint": _("HTTP callback requests in the last minute (Resource Timing)"),
        "costs": _("In the last minute this tab made {requests} HTTP callback requests (Resource Timing: the polls, "
                   "and the page's route when it loaded; {kb} KB on the wire) and received {frames} pushed messages "
                   "on its one socket, which also carries a heartbeat every 30 s. Push alone: 0 requests a minute."),
    }


def _client_rate() -> str:
    """livebus.CLIENT_RATE ("5 per 10 seconds") in the visitor's language."""
    found = re.fullmatch(r"(\d+) per (\d+) seconds", livebus.CLIENT_RATE)
    if found is None:
        return livebus.CLIENT_RATE
    return _("%(count)s per %(seconds)s seconds", count=found[1], seconds=found[2])


def _side() -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader(html.Span(_("Instruments"), className="fw-semibold")),
            dbc.CardBody(
                [
                    html.Div(id=ids("socket"), className="lab-metrics",
                             children=[metric(_("socket worker pid"), "–"), metric(_("bus"), settings.mode)]),
                    html.Div("", id=ids("clock"), className="small text-muted mb-2"),
                    html.Div("", id=ids("costs"), className="small"),
                    dcc.Markdown(
                        _("Bounds: a value of at most %(chars)s characters, no control characters; "
                          "one change at most %(bytes)s bytes; %(rate)s per connection; "
                          "%(site)s a second site-wide; at most %(tabs)s tabs "
                          "per worker (beyond: this page keeps polling).", chars=livebus.MAX_VALUE_CHARS,
                          bytes=livebus.MAX_MESSAGE_BYTES, rate=_client_rate(), site=livebus.SITE_RATE_PER_SECOND,
                          tabs=livebus.MAX_SUBSCRIBERS),
                        className="small text-muted mt-2",
                    ),
                ]
            ),
        ],
        className="lab-card lab-instruments mb-3",
    )


def layout():
    return strategy.page(
        META,
        _demo(),
        _side(),
        source_panel(__name__),
        what=_("The annotation lives in the shared store (its current value and the last ten changes). A change goes up "
               "over the tab's WebSocket; the worker that receives it stores it and publishes it on the bus — Redis pub/sub "
               "in Redis mode, a datagram to every worker's Unix socket in embedded mode. Every worker has ONE listener "
               "that hands each change to the sockets it holds, and each tab's persistent callback pushes it with "
               "set_props: no request, no interval. The polled column asks over HTTP every second instead: the change shows "
               "up to a second later, and every tab costs 60 requests a minute whether anything changed or not. If Redis "
               "restarts, the listeners say so here, reconnect, reload the value and count the changes they may have missed "
               "(a Redis without persistence comes back empty: the first listener back restores the last value)."),
        when=_("Many tabs watch a value that changes at unpredictable times and must see it at once: an annotation, "
               "a threshold, a vote, a colleague's edit."),
        when_not=_("The value changes on a schedule slower than people look (poll then, or reload), or the server "
                   "cannot hold a socket per tab (plain WSGI hosting, a proxy without WebSocket support)."),
    )


page(PATH, layout)


def _on_page(pathname) -> bool:
    return isinstance(pathname, str) and pathname.rstrip("/") == PATH


async def _mounted(ws) -> bool:
    """Wait until the router has put this page's content into the tab (set_props to an absent id is lost)."""
    deadline = time.monotonic() + MOUNT_WAIT
    while time.monotonic() < deadline and not ws.is_shutdown:
        if await ws.get_prop(FEED, "id") == FEED:
            return True
        await asyncio.sleep(0.05)
    return False


def _hello(the_bus: livebus.LiveBus) -> dict:
    """What a tab gets when its socket subscribes: the value, the history and who holds the socket."""
    try:
        current, history, error = the_bus.current(), the_bus.history(), None
    except StoreError as exc:
        current, history, error = None, [], str(exc)
    return {"type": "hello", "current": current, "history": history, "error": error, **the_bus.info()}


@live.callback(State(LOCATION, "pathname"), websocket=True, persistent=True)
async def follow(pathname):
    """For the life of this tab's socket: push every change of the shared value."""
    ws = ctx.websocket
    if ws is None or not _on_page(pathname) or not await _mounted(ws):
        raise PreventUpdate
    the_bus = bus()
    try:
        subscription = the_bus.subscribe(asyncio.get_running_loop())
    except livebus.BusFull as exc:
        set_props(FEED, {"data": {"type": "full", "message": str(exc), "pid": os.getpid()}})
        raise PreventUpdate from None
    sent = 0
    try:
        hello = await asyncio.to_thread(_hello, the_bus)
        set_props(FEED, {"data": {**hello, "n": sent}})
        while not ws.is_shutdown:
            events = await subscription.next(IDLE_WAKE) or [{"type": "tick"}]
            for event in events:
                sent += 1
                set_props(FEED, {"data": {**event, "n": sent, "pid": os.getpid(), "dropped": subscription.dropped}})
    finally:
        subscription.close()
    raise PreventUpdate


def _connection_key() -> str | None:
    """This socket's identity for the per-connection rate limit. Dash gives a callback no handle on its
    connection; the shutdown event is the one object all callbacks of one socket share (an id reused
    after that socket is gone only makes a new connection's count start higher)."""
    ws = ctx.websocket
    event = getattr(ws, "_shutdown_event", None)
    return f"socket-{id(event)}" if event is not None else None


@live.callback(
    Output(ids("share-result"), "children"),
    Output(ids("text"), "value"),
    Input(ids("share"), "n_clicks"),
    Input(ids("text"), "n_submit"),
    State(ids("text"), "value"),
    State(ids("name"), "value"),
    websocket=True,
    prevent_initial_call=True,
)
def share(_clicks, _submits, text, name):
    """Publish the visitor's change (validated and bounded by the bus); say what happened."""
    client = _connection_key()
    if client is None:
        return _("Changes go over this page's WebSocket; this request came another way and was not taken."), text
    try:
        change = bus().publish(text, name, client)
    except livebus.Refused as exc:
        return _("Not shared: %(reason)s.", reason=exc), text
    except StoreError as exc:
        return _("Not shared: %(reason)s", reason=exc), text
    return _("Shared as change #%(seq)s by worker %(pid)s.", seq=change["seq"], pid=change["pid"]), ""


def _poll_time(ask) -> float | None:
    """The browser's send time of this poll (ms since the epoch), or None when it is not one."""
    if not isinstance(ask, dict):
        return None
    t0 = ask.get("t0")
    if isinstance(t0, bool) or not isinstance(t0, (int, float)) or not 0 < t0 < 1e14:
        return None
    return float(t0)


@live.callback(Output(ids("poll-answer"), "data"), Input(ids("poll-ask"), "data"), prevent_initial_call=True)
def poll(ask):
    """The polling alternative, over HTTP: the value in the store now, and the server's clock."""
    t0 = _poll_time(ask)
    if t0 is None:
        raise PreventUpdate
    try:
        change, error = bus().current(), None
    except StoreError as exc:
        change, error = None, str(exc)
    return {"t0": t0, "ts": time.time() * 1000, "change": change, "error": error, "pid": os.getpid()}


# In the browser, no request: note the time a poll leaves, and render what arrives (assets/live_shared.js).
in_browser(ids, "liveShared", "ask", [("poll-ask", "data")], [("poll", "n_intervals")])
in_browser(ids, "liveShared", "polling", [("poll", "disabled")], [("polling", "value")], initial=True)
in_browser(ids, "liveShared", "polled", [("poll-value", "children"), ("poll-meta", "children"), ("clock", "children")],
           [("poll-answer", "data")], [("texts", "data")])
in_browser(ids, "liveShared", "pushed",
           [("push-value", "children"), ("push-meta", "children"), ("history", "children"), ("banner", "children"),
            ("banner", "className"), ("socket", "children")],
           [("feed", "data")], [("texts", "data")])
in_browser(ids, "liveShared", "meter", [("push-metrics", "children"), ("poll-metrics", "children"), ("costs", "children")],
           [("meter", "n_intervals")], [("texts", "data")], initial=True)
