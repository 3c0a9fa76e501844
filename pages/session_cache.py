import os
import secrets
import threading
import time

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, clientside_callback, ctx, dcc, html, no_update

import choices
import stores
import workload
from components import figures, instruments, strategy
from components.ids import Ids
from components.serverstate import (
    EXPECTED,
    ago,
    clock,
    consumers,
    empty_figure,
    error_text,
    first_frame,
    first_view_note,
    kb,
    mint_session,
    problem,
    session_badge,
    session_data,
    summary_table,
    workload_pickers,
)
from components.source import source_panel
from i18n import _
from stores.sessions import short
from strategies.session_cache import STRATEGY

dash.register_page(__name__, **STRATEGY.page_args())
META = STRATEGY.meta()
ids = Ids(META["slug"])
SLUG = META["slug"]


def held(lab):
    data = session_data(lab, STRATEGY.store_prefix)
    return [
        (_("sessions held"), f"{len(data.sessions())} / {lab.settings.session_threshold}"),
        (_("bytes held"), kb(data.bytes_held())),
        (_("evictions"), stores.telemetry.counter(lab.store, "evict", SLUG)),
    ]


instruments.register_stats(SLUG, held)


def layout(**_query):
    # A new signed session id on every page load (seed 000, example 4).
    session_id, trouble = mint_session()
    controls = dbc.Row(
        [
            *workload_pickers(ids, secrets.choice(workload.REGIONS), width=3),
            dbc.Col(dbc.Button(_("Get data"), id=ids("fetch"), color="primary", className="w-100"), md=3),
            dbc.Col(
                dbc.Button(
                    _("Forge my session id"),
                    id=ids("forge"),
                    color="danger",
                    outline=True,
                    size="sm",
                    className="w-100",
                    title=_("replace the id the browser holds with one the server did not sign"),
                ),
                md=3,
            ),
        ],
        className="g-3 align-items-end",
    )
    demo = [
        dbc.Card(
            dbc.CardBody(
                [
                    html.Div(
                        [
                            session_badge(session_id),
                            html.Span(
                                " " + _("minted and signed by the server for this page load; every callback sends it back "
                                        "and the server checks the signature before touching any data."),
                                className="small text-muted",
                            ),
                        ],
                        className="mb-2",
                    ),
                    html.Div(
                        id=ids("held"),
                        className="small text-muted mb-3",
                        children=_("The browser holds session id %(id)s…", id=short(session_id)) if session_id else "",
                    ),
                    controls,
                    dcc.Loading(
                        html.Div(
                            trouble
                            or html.Div(
                                _("Press Get data: the first fetch runs the expensive step, later ones read "
                                  "this session's copy from the store."),
                                className="small text-muted",
                            ),
                            id=ids("status"),
                            className="mt-3",
                        ),
                        type="dot",
                    ),
                    dcc.Store(id=ids("session"), data=session_id),
                    # The forge button's message, written in the browser (the clientside callback below).
                    dcc.Store(
                        id=ids("texts"),
                        data={"forged": _("The browser now holds a forged id {id}… (a guessed uuid with a copied "
                                          "signature). Press Get data.")},
                    ),
                ]
            ),
            className="lab-card mb-3",
        ),
        consumers(ids, _("Summary of this session's data"), _("no data yet"), fruit=workload.FRUITS[0]),
    ]
    return strategy.page(
        META,
        demo,
        instruments.panel(SLUG),
        source_panel(__name__),
        what=_("The layout is a function, so every page load mints a fresh session id (a uuid4 signed with the "
               "server's secret) into a dcc.Store. Callbacks send that id back; the server checks the signature, then "
               "reads this session's frame from the store (Arrow, under session-cache:<uuid>:…), or computes and stores "
               "it on the first fetch. Two outputs read the same copy. The store keeps at most session_threshold "
               "sessions: when more exist, the least recently used other ones are evicted. Open a second tab: it is a "
               "second session with its own region, time stamp and data."),
        when=_("Each user derives different data from an expensive step and several callbacks need it: the frame "
               "stays on the server, the browser carries only a ~70-byte id."),
        when_not=_("Everyone sees the same result (use cache-signal: compute once for all), the data must survive "
                   "a reload or a new tab (keep the id in a cookie or local storage), or you cannot afford one copy "
                   "per user."),
    )


_warm = threading.Event()


def _first_frame_all_regions(region, rows):
    """The first view of `region`, computing every other region's alongside it until they all are in the store.

    Each visitor is shown a random region: without this, a visitor whose region nobody had drawn yet
    waited for the expensive step on arrival. The others are computed in parallel with this one (the
    step is mostly waiting) and joined, so the arrival takes no longer; single-flight makes each region
    computed once for the whole site. They are the shared first views, not any session's data.
    """
    lab = stores.current()
    if _warm.is_set():
        return first_frame(lab, SLUG, rows, region)
    others = [threading.Thread(target=first_frame, args=(lab, SLUG, rows, r), daemon=True)
              for r in workload.REGIONS if r != region]
    for thread in others:
        thread.start()
    frame = first_frame(lab, SLUG, rows, region)
    for thread in others:
        thread.join()
    if frame is not None:
        _warm.set()
    return frame


def arrival_frame(region, rows):
    """The first view for the layout's own inputs; None for anything else or when the store cannot give it."""
    try:
        want = _want(region, rows)
    except workload.WorkloadError:
        return None
    if want["rows"] == workload.DEFAULT_ROWS:
        return _first_frame_all_regions(want["region"], want["rows"])
    return first_frame(stores.current(), SLUG, want["rows"], want["region"])


def _want(region, rows):
    return {"region": choices.region(region), "rows": choices.rows(rows)}  # only what the page offers


def _compute(region, rows):
    def compute():
        lab = stores.current()
        cleaned = workload.expensive_step(rows, region, delay=lab.settings.compute_delay)
        lab.count("compute", SLUG)
        return cleaned

    return compute


def _fetch(session_id, region, rows):
    """This session's data: from the store, or computed once (a per-session lock makes the other output wait)."""
    lab = stores.current()
    lab.check_session(session_id)
    want = _want(region, rows)
    # The session's lock lapses, and a waiter gives up, well inside gunicorn's worker timeout: a lock
    # left by a killed worker must not hang the session's next fetch until gunicorn kills that one too.
    wait = lab.settings.worker_timeout / 3
    got = session_data(lab, STRATEGY.store_prefix).fetch(session_id, want, _compute(want["region"], want["rows"]), wait=wait)
    lab.count("miss" if got.computed else "hit", SLUG)
    return got


@callback(
    Output(ids("table"), "children"),
    Output(ids("status"), "children"),
    Input(ids("fetch"), "n_clicks"),
    State(ids("region"), "value"),
    State(ids("rows"), "value"),
    State(ids("session"), "data"),
    running=[(Output(ids("fetch"), "disabled"), True, False)],
)
def display_summary(_clicks, region, rows, session_id):
    if ctx.triggered_id is None:  # arrival: the shared first view, this session's store untouched
        frame = arrival_frame(region, rows)
        if frame is None:
            return no_update, no_update
        note = first_view_note(region, rows, _("This session holds nothing on the server yet."),
                               _("Press Get data: the expensive step then runs for this session alone."))
        return summary_table(frame), note
    started, clicked_at = time.perf_counter(), time.time()
    try:
        got = _fetch(session_id, region, rows)
    except EXPECTED as exc:
        return "", problem(exc)
    ms = (time.perf_counter() - started) * 1000
    meta = got.meta
    # The graph's request, fired by the same click, may have taken the session's lock first:
    # then this one waited for its result instead of computing a second copy.
    computed_for_click = got.computed or meta["computed_at"] >= clicked_at
    # Every branch gives an answer of the same shape and nearly the same length: which of the click's two
    # requests took the lock is a race, and the byte figures of one interaction must not depend on it.
    if got.computed:
        how = [dbc.Badge(_("computed now"), color="warning", text_color="dark"),
               html.Span(" " + _("by this request; the graph's waited for it (one computation per session)"),
                         className="small")]
    elif computed_for_click:
        how = [dbc.Badge(_("computed now"), color="warning", text_color="dark"),
               html.Span(" " + _("by the graph's request; this one waited for it (one computation per session)"),
                         className="small")]
    else:
        how = [dbc.Badge(_("read from the store"), color="success"),
               html.Span(" " + _("this session's copy: no computation, nothing sent up but the id"), className="small")]
    status = html.Div(
        [
            html.Div(
                [html.Strong(_("This fetch: %(ms)s ms", ms=format(ms, ",.0f")) + " "), *how,
                 " " + _("(worker %(pid)s)", pid=os.getpid())],
                id=ids("verdict"),
                **{"data-computed": "yes" if computed_for_click else "no"},
            ),
            html.Div(
                [
                    session_badge(session_id),
                    " " + _("holds %(region)s, %(rows)s rows, computed at %(clock)s (%(ago)s) in %(seconds)s s — %(size)s "
                            "of Arrow on the server. Sessions evicted to make room: %(evicted)s.",
                            region=meta["region"], rows=format(meta['rows'], ","), clock=clock(meta["computed_at"]),
                            ago=ago(meta["computed_at"]), seconds=format(meta['seconds'], ".2f"), size=kb(meta["bytes"]),
                            evicted=got.evicted),
                ],
                id=ids("about"),
                className="small mt-1" + (" text-warning" if got.evicted else ""),
                **{"data-computed-at": repr(meta["computed_at"])},
            ),
        ]
    )
    return summary_table(got.frame), status


@callback(
    Output(ids("graph"), "figure"),
    Input(ids("fetch"), "n_clicks"),
    Input(ids("fruit"), "value"),
    State(ids("region"), "value"),
    State(ids("rows"), "value"),
    State(ids("session"), "data"),
)
def display_scatter(_clicks, fruit, region, rows, session_id):
    lab = stores.current()
    if ctx.triggered_id is None:  # arrival: the shared first view
        frame = arrival_frame(region, rows)
        return no_update if frame is None else figures.fruit_scatter(frame, fruit)
    try:
        if ctx.triggered_id == ids("fetch"):
            frame = _fetch(session_id, region, rows).frame
        else:  # a new fruit: read what the session has, never compute
            lab.check_session(session_id)
            frame, _meta = session_data(lab, STRATEGY.store_prefix).load(session_id)
            lab.count("hit", SLUG)
        if fruit not in workload.FRUITS:
            raise workload.WorkloadError(_("fruit must be one of %(options)s", options=", ".join(workload.FRUITS)))
    except EXPECTED as exc:
        return empty_figure(error_text(exc))
    return figures.fruit_scatter(frame, fruit)


# Play the attacker: swap the uuid the browser holds for another while keeping the old
# signature. The next callback is refused ("bad signature") before any data is touched.
clientside_callback(
    """
    function(clicks, sessionId, texts) {
        if (!clicks) { throw window.dash_clientside.PreventUpdate; }
        const hex = () => Math.floor(Math.random() * 16).toString(16);
        const uuid = "xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx".replace(/x/g, hex);
        const signature = String(sessionId || "").split(".")[1] || "0".repeat(32);
        const forged = uuid + "." + signature;
        const message = (texts && texts.forged) ||
            "The browser now holds a forged id {id}… (a guessed uuid with a copied signature). Press Get data.";
        return [forged, message.replace("{id}", forged.slice(0, 8))];
    }
    """,
    Output(ids("session"), "data"),
    Output(ids("held"), "children"),
    Input(ids("forge"), "n_clicks"),
    State(ids("session"), "data"),
    State(ids("texts"), "data"),
    prevent_initial_call=True,
)
