"""/live/progress — the background page's progress example, pushed over the WebSocket, beside its polled twin.

Pushed: one `websocket=True` callback runs the job (runtime/background_jobs.run, the same job as on
/background) in a thread of the web worker that holds this browser's socket, and pushes every step
with set_props the moment it is reached; the result goes back on the socket as the callback's answer.
Polled: the same job as a background callback with progress=, as on /background — the browser asks
every 500 ms.

What a socket costs and what it risks, shown per job: HTTP requests (the browser counts them), frames
and bytes each way, click → first progress → result, and the worker pid that holds the socket. A
socket belongs to one worker: when it closes mid-job (tab closed, "Drop this connection", a killed
worker) the job stops at its next step and its result is lost; the renderer reconnects, maybe to
another worker, and the page says which and what was lost.

Bounds: one job per connection, JOBS_PER_WORKER jobs per worker process, inputs validated (rows and
steps the page offers, a signed page token); cancel and drop act only on the caller's own connection.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import weakref

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, dcc, html, no_update
from dash._utils import to_json

import app as site  # the Flask site (live.server imported it first): its Celery app
import choices
import stores
import workload
from components import a11y, strategy
from components import background_view as view
from components.ids import Ids
from components.sentence import inline
from i18n import _
from live.server import in_browser, lab, live, page, settings
from runtime import background_jobs as jobs
from stores import sessions
from strategies.live_progress import STRATEGY

log = logging.getLogger(__name__)

SLUG = STRATEGY.slug
META = STRATEGY.meta()
ids = Ids(SLUG)
PATH = "/live/progress"

JOBS_PER_WORKER = 4  # pushed jobs computing at once in one worker process (each holds one thread)
DROP_CODE = 4002  # the close code of "Drop this connection": any code but 1000/4001 makes the renderer reconnect
DROP_REASON = "dropped on request (demo)"
POLL_INTERVAL_MS = 500  # as on /background
# The polled twin goes through the site's own manager: DiskcacheManager embedded, Celery with Redis.
MANAGER = site.background_manager

STATES = [State(ids("rows"), "value"), State(ids("steps"), "value"), State(ids("token"), "data")]


# --------------------------------------------------------------------------- connections and their jobs


class _Job:
    def __init__(self, run: int):
        self.run, self.step, self.total = run, 0, 0
        self.cancel = threading.Event()


_lock = threading.Lock()
# A connection is known by its shutdown event: Dash 4.4.1 makes one per socket (_fastapi.py
# websocket_handler) and hands it to every callback on that socket through ctx.websocket.
_serials: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_jobs: dict = {}
_counter = {"connections": 0}


def _connection(ws) -> threading.Event:
    return ws._shutdown_event  # noqa: SLF001 - the one per-connection object Dash gives a callback


def connection_info(ws) -> dict:
    """Which worker holds this socket and which of its connections it is (numbered per worker)."""
    key = _connection(ws)
    with _lock:
        if key not in _serials:
            _counter["connections"] += 1
            _serials[key] = (_counter["connections"], time.time())
        serial, since = _serials[key]
    return {"pid": os.getpid(), "conn": serial, "since": since, "at": time.time()}


class _Stopped(Exception):
    """The job stops: cancelled, or its socket closed."""


class _Meter:
    """What this job put on the socket, counted as Dash serialises it (a batch adds a few bytes)."""

    def __init__(self, ws, up: int):
        self.ws, self.frames, self.down, self.up = ws, 0, 0, up

    def push(self, component: str, props: dict) -> None:
        renderer = getattr(self.ws, "_renderer_id", "")
        for prop, value in props.items():
            message = {"type": "set_props", "rendererId": renderer, "payload": {"componentId": component, "props": {prop: value}}}
            self.down += len(to_json(message).encode())
            self.frames += 1
            self.ws.set_prop_sync(component, prop, value)


# The size of each callback_request frame, seen by the websocket_message hook below (per renderer id).
_request_bytes: dict[str, int] = {}
_MAX_TRACKED = 2000


@dash.hooks.websocket_message()
def _watch_messages(_websocket, message):
    """Measure the job's request frame, and close the socket for "Drop this connection".

    Returning (code, reason) makes Dash close this socket with that code — what a worker that
    goes away does to its sockets, but visitor-safe: only the caller's own connection."""
    try:
        if not isinstance(message, dict) or message.get("type") != "callback_request":
            return True
        output = str((message.get("payload") or {}).get("output", ""))
        if output == DROP_OUTPUT:
            return (DROP_CODE, DROP_REASON)
        if output == PUSH_OUTPUT:
            if len(_request_bytes) > _MAX_TRACKED:
                _request_bytes.clear()
            _request_bytes[str(message.get("rendererId", ""))] = len(to_json(message).encode())
    except Exception:  # noqa: BLE001 - a failing hook would close the socket with 4001 (no reconnect)
        log.exception("websocket_message hook failed")
    return True


# --------------------------------------------------------------------------- inputs


def _ticket(token, kind: str, n_clicks) -> str:
    try:
        sessions.validate(token, lab.secret)
    except sessions.InvalidSessionId:
        raise jobs.JobError(_("this page's job token is missing or was not issued by this server: reload the page")) from None
    if not isinstance(n_clicks, int) or isinstance(n_clicks, bool) or not 0 < n_clicks <= 10**9:
        raise jobs.JobError(_("click count must be a whole number, got %(value)s", value=choices.quote(n_clicks, 40)))
    return f"{SLUG}:{kind}:{token}-{n_clicks}"


def _inputs(rows, steps) -> tuple[int, int]:
    return choices.rows(rows), jobs.check_steps(steps)


# --------------------------------------------------------------------------- layout


def _controls() -> dbc.Card:
    seconds = f"{settings.compute_delay:g}"
    return dbc.Card(
        dbc.CardBody(
            dbc.Row(
                [
                    dbc.Col([dbc.Label(_("Rows per step"), html_for=ids("rows"), className="small mb-1"),
                             dbc.RadioItems(id=ids("rows"), options=[{"label": f"{n:,}", "value": n} for n in workload.ROW_CHOICES],
                                            value=workload.DEFAULT_ROWS, inline=True)], md=5),
                    dbc.Col([dbc.Label(_("Steps (one region each)"), html_for=ids("steps"), className="small mb-1"),
                             dbc.RadioItems(id=ids("steps"), options=[{"label": str(n), "value": n} for n in jobs.STEP_CHOICES],
                                            value=jobs.DEFAULT_STEPS, inline=True)], md=3),
                    dbc.Col(html.Div(_("Each step takes ~%(seconds)s s. Both sides run the same job.", seconds=seconds),
                                     className="small text-muted"), md=4),
                ],
                className="g-2 align-items-center",
            )
        ),
        className="lab-card mb-3",
    )


def _side(kind: str, title: str, text: str, extra=()) -> dbc.Col:
    buttons = [dbc.Button(_("Run job"), id=ids(f"{kind}-run"), color="primary", size="sm", className="me-2"),
               dbc.Button(_("Cancel"), id=ids(f"{kind}-cancel"), color="secondary", outline=True, size="sm",
                          disabled=True, className="me-2"), *extra]
    return dbc.Col(
        dbc.Card(
            [
                dbc.CardHeader(html.H2(title, className="h6 fw-semibold mb-0")),
                dbc.CardBody(
                    [
                        html.P(text, className="small text-muted"),
                        html.Div(buttons, className="mb-2 d-flex flex-wrap gap-1"),
                        a11y.progress(_("%(title)s: job progress", title=title), id=ids(f"{kind}-bar"), value=0, label="", striped=True,
                                      className="mb-2 bg-bar"),
                        html.Div(id=ids(f"{kind}-note"), className="small text-muted mb-1"),
                        html.Div(_("Not run yet."), id=ids(f"{kind}-result"), className="bg-result-box small text-muted"),
                        html.H3(_("This job"), className="h6 mt-3"),
                        dcc.Markdown(_("No job yet."), id=ids(f"{kind}-meter"), className="small lp-meter"),
                        dcc.Store(id=ids(f"{kind}-state")),
                        dcc.Store(id=ids(f"{kind}-times")),
                    ]
                ),
            ],
            className="lab-card h-100",
        ),
        lg=6,
        className="mb-3",
    )


def _texts() -> dict:
    """What assets/live_progress.js writes, in the visitor's language ({name}: filled in by the browser)."""
    return {
        "noJob": _("No job yet."),
        "figure": _("figure"),
        "thisJob": _("this job"),
        "status": _("status"),
        "lost": _("**lost** with connection #{conn} (pid {pid}) at step {step}/{total}"),
        "done": _("done"),
        "cancelled": _("cancelled"),
        "running": _("running"),
        "pushRequests": _("HTTP requests since the click"),
        "pushRequestsValue": _("{count} (the socket was opened once, when the page loaded)"),
        "frames": _("socket frames up / down"),
        "pushBytes": _("bytes up / down (frames, counted by the server)"),
        "pushPid": _("worker pid holding the socket"),
        "pushPidValue": _("**{pid}** (it computes the job too)"),
        "pollRequests": _("HTTP requests for this job"),
        "pollRequestsValue": _("{count} (1 start + {polls} polls every 500 ms)"),
        "pollBytes": _("bytes up / down (request bodies, responses)"),
        "pollPids": _("worker pids that answered"),
        "jobPid": _("job process pid"),
        "first": _("click → first progress on screen"),
        "result": _("click → result on screen"),
        "lostNote": _("Lost: run {run} stopped at step {step}/{total} with connection #{conn} (worker pid {pid}); "
                      "its result will never arrive. Run it again."),
        "connected": _("{time} connected to worker pid **{pid}** (its connection #{conn})"),
        "reconnectedOther": _("{time} reconnected to worker pid **{pid}** (its connection #{conn}) — another worker"),
        "reconnectedSame": _("{time} reconnected to worker pid **{pid}** (its connection #{conn}) — the same worker"),
        "lostWith": _("; run {run} was lost with the old connection: its result will never arrive"),
        "heldBy": _("This browser's socket is held by worker pid **{pid}** (connection #{conn} of that worker)."),
        "connecting": _("Connecting…"),
    }


def layout():
    meta = strategy.localized(META)
    push = _side(
        "push", _("Pushed over the WebSocket"),
        _("websocket=True: the click, every step (set_props) and the result travel on the one socket this browser "
          "opened when the page loaded. No HTTP request per step."),
        extra=[dbc.Button(_("Drop this connection"), id=ids("drop"), color="danger", outline=True, size="sm",
                          title=_("The server closes this browser's socket, as a dying worker would"))],
    )
    poll = _side(
        "poll", _("Polled over HTTP (background callback)"),
        _("background=True, progress=: as on /background. The first request starts the job; the browser then asks "
          "every %(ms)s ms for progress and the result.", ms=POLL_INTERVAL_MS),
    )
    socket_card = dbc.Card(
        dbc.CardBody(
            [
                html.H2(_("The socket"), className="h6"),
                dcc.Markdown(_("Connecting…"), id=ids("conn-now"), className="small lp-conn"),
                dcc.Markdown(id=ids("conn-log"), className="small mb-2 lp-conn-log"),
                html.Div(id=ids("drop-note"), className="small text-muted"),
                html.P(
                    _("A socket belongs to one worker process, and a pushed job runs in that process. If the socket "
                      "closes mid-job — the tab is closed, you press Drop this connection, or the worker dies — the job "
                      "stops at its next step and its result is lost: the renderer answers the pending callback with "
                      "prevent_update, reconnects after 1–2 s (to whichever worker accepts it, listed above) and the "
                      "page marks the job lost. Run it again. The polled job is not tied to a socket: it runs on in "
                      "its own process and any worker answers its polls."),
                    className="small text-muted mb-0",
                ),
                dcc.Store(id=ids("conn")),
                dcc.Store(id=ids("conn-history"), data=[]),
                dcc.Store(id=ids("hello"), data=1),
                dcc.Interval(id=ids("tick"), interval=500),
            ]
        ),
        className="lab-card mb-3",
    )
    return html.Div(
        [
            html.Div([html.Div(strategy.GROUPS[meta["group"]], className="lab-eyebrow"),
                      html.H1(meta["title"], className="lab-title"),
                      html.P(meta["summary"], className="lead lab-lead")], className="lab-header"),
            _controls(),
            dbc.Row([push, poll], className="g-3"),
            socket_card,
            dcc.Store(id=ids("token"), data=jobs.new_token(stores.current())),
            dcc.Store(id=ids("texts"), data=_texts()),
        ],
        id=ids("page"),
    )


page(PATH, layout)


# --------------------------------------------------------------------------- the socket: who holds it


@live.callback(Output(ids("conn"), "data"), Input(ids("hello"), "data"), websocket=True)
async def say_hello(_hello):
    """On load: which worker holds this browser's socket."""
    return connection_info(ctx.websocket)


@live.callback(websocket=True, persistent=True)
async def after_reconnect():
    """The renderer re-fires persistent callbacks after every reconnect: say where the socket went.
    It fires on every live page and at the first load too; only a page that already shows a socket
    (ids("conn") holds one: a reconnect) is told — on the first load say_hello tells it."""
    ws = ctx.websocket
    if ws is None or await ws.get_prop(ids("conn"), "data") is None:
        raise dash.exceptions.PreventUpdate
    ws.set_prop_sync(ids("conn"), "data", connection_info(ws))


@live.callback(Output(ids("drop-note"), "children"), Input(ids("drop"), "n_clicks"), websocket=True,
               prevent_initial_call=True)
async def drop_connection(_n_clicks):
    # Never runs while the websocket_message hook is installed: the hook closes the socket first.
    return _("The connection was not dropped (the hook is not installed).")


DROP_OUTPUT = f"{ids('drop-note')}.children"
PUSH_OUTPUT = f"{ids('push-result')}.children"


# --------------------------------------------------------------------------- pushed


def _step_pusher(meter: _Meter, job: _Job, run: int, conn: dict):
    ws = meter.ws

    def report(done, total, _region, record):
        if job.cancel.is_set():
            raise _Stopped("cancelled")
        if ws.is_shutdown:  # the tab closed or the socket dropped: nobody is listening
            raise _Stopped("socket closed")
        job.step, job.total = done, total
        meter.push(ids("push-bar"), {"value": round(100 * done / total), "label": view.progress_label(done, total, record)})
        # The frame carrying these figures counts itself as a frame, not its own bytes.
        state = {"run": run, "step": done, "total": total, "state": "running", "pid": conn["pid"], "conn": conn["conn"],
                 "frames": meter.frames + 1, "down": meter.down, "up": meter.up, "at": time.time()}
        meter.push(ids("push-state"), {"data": state})

    return report


@live.callback(
    Output(ids("push-result"), "children"),
    Input(ids("push-run"), "n_clicks"),
    *STATES,
    running=[(Output(ids("push-run"), "disabled"), True, False), (Output(ids("push-cancel"), "disabled"), False, True)],
    websocket=True,
    prevent_initial_call=True,
)
async def push_job(n_clicks, rows, steps, token):
    ws = ctx.websocket
    key = _connection(ws)
    try:
        name = _ticket(token, "push", n_clicks)
        rows, steps = _inputs(rows, steps)
    except (jobs.JobError, choices.Refused, workload.WorkloadError) as exc:
        return view.error_view(exc)
    job = _Job(n_clicks)
    with _lock:
        if key in _jobs:
            return view.alert(_("One job per connection: "), _("this browser's socket already runs one. Cancel it or wait."),
                              color="warning")
        if len(_jobs) >= JOBS_PER_WORKER:
            return view.alert(_("This worker is busy: "),
                              _("it already runs %(jobs)s pushed jobs. Try again shortly.", jobs=JOBS_PER_WORKER),
                              color="warning")
        _jobs[key] = job
    conn = connection_info(ws)
    meter = _Meter(ws, _request_bytes.get(str(getattr(ws, "_renderer_id", "")), 0))
    try:
        record = await asyncio.to_thread(jobs.run, lab, name, rows, steps, on_step=_step_pusher(meter, job, n_clicks, conn),
                                         queue=False)
    except _Stopped as exc:
        state = {"run": n_clicks, "step": job.step, "total": job.total,
                 "state": "cancelled" if str(exc) == "cancelled" else "lost", "pid": conn["pid"],
                 "conn": conn["conn"], "frames": meter.frames, "down": meter.down, "up": meter.up, "at": time.time()}
        if not ws.is_shutdown:
            meter.push(ids("push-state"), {"data": state})
            meter.push(ids("push-bar"), {"value": 0, "label": ""})
        return _("Cancelled: the job stopped at its next step; no result.") if state["state"] == "cancelled" else no_update
    except (stores.StoreError, workload.WorkloadError, jobs.JobError) as exc:
        return view.error_view(exc)
    except Exception as exc:  # noqa: BLE001 - anything in the job becomes a message in the page
        log.exception("pushed job failed")
        return view.error_view(exc)
    finally:
        with _lock:
            _jobs.pop(key, None)
    meter.push(ids("push-state"), {"data": {"run": n_clicks, "step": record["total"], "total": record["total"], "state": "done",
                                            "pid": conn["pid"], "conn": conn["conn"], "frames": meter.frames + 2,
                                            "down": meter.down, "up": meter.up, "at": time.time()}})
    return _push_result(record, conn["pid"])


def _push_result(record: dict, pid: int) -> html.Div:
    revenue = f"{sum(record.get('revenue', {}).values()):,.0f}"
    rows, seconds, cleaned = f"{record['rows']:,}", f"{record['seconds']:.1f}", f"{record.get('processed', 0):,}"
    return html.Div(
        [
            html.Div([html.Span("✓ ", className="text-success fw-bold"),
                      html.Span(_("Done: %(steps)s steps over %(rows)s rows each in %(seconds)s s", steps=record["total"],
                                  rows=rows, seconds=seconds))],
                     className="fw-semibold"),
            html.Div(_("%(rows)s cleaned rows · revenue %(revenue)s", rows=cleaned, revenue=revenue),
                     className="small text-muted"),
            html.Div(inline(_("Ran in {pid} — a thread of the web worker that holds this browser's socket, "
                              "not a process of its own: the job lives as long as the socket."), pid=html.Code("pid " + str(pid))),
                     className="bg-process small"),
        ],
        className="bg-result",
    )


@live.callback(Output(ids("push-note"), "children"), Input(ids("push-cancel"), "n_clicks"), websocket=True,
               prevent_initial_call=True)
async def push_cancel(_n_clicks):
    """Cancel travels on the same socket, so it reaches the very worker that runs the job."""
    with _lock:
        job = _jobs.get(_connection(ctx.websocket))
    if job is None:
        return _("No job runs on this connection (it may have finished, or been lost with an earlier connection).")
    job.cancel.set()
    return _("Cancel sent on the socket: run %(run)s stops at its next step.", run=job.run)


# --------------------------------------------------------------------------- polled


@live.callback(
    Output(ids("poll-result"), "children"),
    Input(ids("poll-run"), "n_clicks"),
    *STATES,
    background=True,
    manager=MANAGER,
    running=[(Output(ids("poll-run"), "disabled"), True, False), (Output(ids("poll-cancel"), "disabled"), False, True)],
    cancel=[Input(ids("poll-cancel"), "n_clicks")],
    progress=[Output(ids("poll-bar"), "value"), Output(ids("poll-bar"), "label"), Output(ids("poll-state"), "data")],
    interval=POLL_INTERVAL_MS,
    prevent_initial_call=True,
)
def poll_job(set_progress, n_clicks, rows, steps, token):
    current = stores.current()

    def report(done, total, _region, record):
        state = {"run": n_clicks, "step": done, "total": total, "state": "running", "pid": record.get("pid"), "at": time.time()}
        set_progress((round(100 * done / total), view.progress_label(done, total, record), state))

    def job():
        name = _ticket(token, "poll", n_clicks)
        checked_rows, checked_steps = _inputs(rows, steps)
        record = jobs.run(current, name, checked_rows, checked_steps, on_step=report)
        return view.result_view(record)

    return view.guarded(job)


# --------------------------------------------------------------------------- in the browser: the meters


# The meters take no callback output as Input: the renderer holds back a callback while one that feeds
# it is pending, and the job's own callback is pending for the whole job. The result's arrival is seen
# by a MutationObserver (assets/live_progress.js); the tick only redraws (no request).
for _kind in ("push", "poll"):
    in_browser(ids, "liveProgress", "meter", [(f"{_kind}-meter", "children"), (f"{_kind}-times", "data")],
               [(f"{_kind}-state", "data"), (f"{_kind}-run", "n_clicks"), ("conn", "data"), ("tick", "n_intervals")],
               [(f"{_kind}-times", "data"), (f"{_kind}-run", "id"), ("texts", "data")])

# A lost job's result box says so (the renderer leaves the last result there); no request.
in_browser(ids, "liveProgress", "lostNote", [("push-result", "children", True)], [("push-times", "data")], [("texts", "data")])
in_browser(ids, "liveProgress", "socket", [("conn-now", "children"), ("conn-log", "children"), ("conn-history", "data")],
           [("conn", "data")], [("conn-history", "data"), ("push-times", "data"), ("texts", "data")])
