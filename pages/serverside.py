import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, ctx, dcc, html

import choices
import i18n
import stores
import workload
from components import beyond, figures, instruments, strategy
from components.ids import Ids
from components.serverstate import error_text
from components.source import source_panel
from i18n import _
from stores import serverside
from stores.sessions import InvalidSessionId
from strategies.serverside import STRATEGY

dash.register_page(__name__, **STRATEGY.page_args())
META = STRATEGY.meta()
ids = Ids(META["slug"])
ROWS = (1_000, 10_000, 100_000, beyond.BIG_ROWS)


def _stats(lab):
    s = serverside.for_lab(lab, STRATEGY.store_prefix).stats()
    rate = "—" if s["memory_hit_rate"] is None else f"{s['memory_hit_rate']:.0%}"
    return [
        (_("bytes held"), f"{beyond.human_bytes(s['bytes_held'])} / {beyond.human_bytes(s['max_bytes'])}"),
        (_("entries (sessions)"), f"{s['entries']} ({s['sessions']})"),
        (_("frames stored"), s["frames"]),
        (_("views stored (read from the store)"), f"{s['views']} ({s['view_hits']})"),
        (_("evictions"), s["evictions"]),
        (_("in-memory hit rate"), _("%(rate)s of %(count)s", rate=rate, count=s["memory_hits"] + s["memory_misses"])),
    ]


instruments.register_stats(META["slug"], _stats)


def _select(name, label, options, value):
    return html.Div(
        [dbc.Label(label, html_for=ids(name), className="small mb-1"), dbc.Select(id=ids(name), options=options, value=value)],
        className="beyond-control",
    )


def layout(**_query):
    problem = None
    try:
        session_id = stores.current().new_session()
    except stores.StoreError as exc:
        session_id, problem = None, dbc.Alert(
            _("Store unavailable, no session could be started: %(reason)s", reason=error_text(exc)), color="danger"
        )
    demo = dbc.Card(
        dbc.CardBody(
            [
                html.Div(
                    [
                        _select("rows", _("Rows"), beyond.row_options(ROWS), str(workload.DEFAULT_ROWS)),
                        _select(
                            "region", _("Region (producer input)"), [{"label": r, "value": r} for r in workload.REGIONS],
                            "north",
                        ),
                        _select(
                            "fruit", _("Fruit (consumer input)"), [{"label": f, "value": f} for f in workload.FRUITS],
                            "apples",
                        ),
                        dbc.Button(
                            _("Forget my entry"),
                            id=ids("forget"),
                            color="secondary",
                            outline=True,
                            size="sm",
                            className="align-self-end",
                            title=_("Delete this session's entry, as expiry or eviction would"),
                        ),
                    ],
                    className="beyond-controls",
                ),
                problem,
                dcc.Store(id=ids("session"), data=session_id),
                dcc.Store(id=ids("key")),
                # The words assets/clientside.js heldKey writes, in the visitor's language.
                dcc.Store(id=ids("texts"), data={"heldNothing": _("(nothing yet)"), "heldZero": _("0 bytes"),
                                                 "heldBytes": _("{bytes} bytes in the browser")}),
                dcc.Loading(html.Div(id=ids("status"), className="small mt-2"), type="dot", delay_show=200),
                html.Div(
                    [
                        html.Span(_("The browser holds:") + " ", className="text-muted"),
                        html.Code(id=ids("held-key"), className="beyond-key"),
                        html.Span(id=ids("held-bytes"), className="badge text-bg-light ms-2"),
                    ],
                    className="beyond-held",
                ),
                dbc.Row(
                    [
                        dbc.Col(
                            dcc.Loading(
                                dcc.Graph(
                                    id=ids("density"),
                                    figure=figures.empty(_("Waiting for a key"), 280),
                                    config=figures.GRAPH_CONFIG,
                                ),
                                delay_show=300,
                            ),
                            md=6,
                        ),
                        dbc.Col(
                            dcc.Loading(
                                dcc.Graph(
                                    id=ids("trend"),
                                    figure=figures.empty(_("Waiting for a key"), 280),
                                    config=figures.GRAPH_CONFIG,
                                ),
                                delay_show=300,
                            ),
                            md=6,
                        ),
                    ],
                    className="g-2 mt-1",
                ),
                dcc.Loading(html.Div(id=ids("summary"), className="mt-2"), delay_show=300),
            ]
        ),
        className="lab-card mb-3",
    )
    return strategy.page(
        META,
        demo,
        instruments.panel(META["slug"]),
        source_panel(__name__),
        what=_("The producer runs the expensive step and writes the result into the shared store as Arrow IPC under "
               "a content key (rows and region). The browser's dcc.Store receives only a key: the content key plus this "
               "page's signed session id. Each consumer sends that key up, the server checks the session's entry "
               "exists (one tiny round trip, which also refreshes its TTL), then answers with its view of the frame: "
               "from its own memory when it has built it before, else from the store, where the first worker to build "
               "a view leaves it (kilobytes, not the frame's megabytes). Only a view nobody has built yet decodes the "
               "frame. A value computed once serves every session that "
               "asks for the same input; each session's entry is its own and expires or is evicted on its own."),
        when=_("The data is large, several callbacks read it, and it is the same for many users or interactions: "
               "payloads stay constant at any size, and a crowd of sessions computes each value once."),
        when_not=_("The data is small (a Store is simpler), must survive the server's store being flushed, or is "
                   "edited in the browser: a key-only store holds server-computed values, not user edits."),
    )


@callback(
    Output(ids("key"), "data"),
    Output(ids("status"), "children"),
    Input(ids("rows"), "value"),
    Input(ids("region"), "value"),
    Input(ids("forget"), "n_clicks"),
    State(ids("session"), "data"),
    State(ids("key"), "data"),
)
def produce(rows, region, _forget, session_id, key):
    lab = stores.current()
    svs = serverside.for_lab(lab, STRATEGY.store_prefix)
    try:
        if ctx.triggered_id == ids("forget") and key:
            svs.forget(key)
            return key, dbc.Alert(
                _("Entry deleted on the server, as expiry or eviction would: the consumers below now "
                  "hold a key that no longer opens anything."),
                color="info",
                className="py-2 mb-0",
            )
        rows, region = choices.rows(rows, ROWS), choices.region(region)  # only what the page offers
        # The page names the content (bump v1 when the expensive step changes) and hands its compute down.
        made = svs.produce(session_id, f"v1.{rows}.{region}",
                           lambda: workload.expensive_step(rows, region, delay=lab.settings.compute_delay))
    except InvalidSessionId as exc:
        return None, dbc.Alert(
            _("Rejected session id: %(reason)s. Reload the page for a new session.", reason=error_text(exc)),
            color="danger",
            className="mb-0",
        )
    except (workload.WorkloadError, serverside.FrameTooLarge) as exc:
        return None, dbc.Alert(error_text(exc), color="warning", className="mb-0")
    except (serverside.KeyRejected, serverside.EntryExpired) as exc:
        return None, dbc.Alert(error_text(exc), color="warning", className="mb-0")
    except stores.SingleFlightError as exc:
        return None, dbc.Alert(_("The computation did not finish: %(reason)s", reason=error_text(exc)), color="danger",
                               className="mb-0")
    except stores.StoreError as exc:
        return None, dbc.Alert(_("Store unavailable: %(reason)s", reason=error_text(exc)), color="danger", className="mb-0")
    if made.computed:
        how = _("computed by this request (worker ran the expensive step) in %(seconds)s s", seconds=format(made.seconds, ".2f"))
    elif made.cold:
        how = _("another request was already computing it; waited %(seconds)s s for its result (single-flight)",
                seconds=format(made.seconds, ".2f"))
    else:
        how = _("already in the shared store: no computation, %(ms)s ms", ms=format(made.seconds * 1000, ".0f"))
    return made.key, html.Span(
        [
            dbc.Badge(
                _("computed") if made.computed else _("shared") if made.cold else _("hit"),
                color="warning" if made.computed else "success",
                className="me-2",
            ),
            how,
        ]
    )


# What the browser really holds, measured in the browser from the Store's own data.
clientside_callback(
    ClientsideFunction(namespace="clientside", function_name="heldKey"),
    Output(ids("held-key"), "children"),
    Output(ids("held-bytes"), "children"),
    Input(ids("key"), "data"),
    State(ids("texts"), "data"),
)


# A problem is (its title, the whole message): a chart shows the title, the summary the message.
def _unknown_key(exc):
    return _("Unknown key"), _("Unknown key: %(reason)s", reason=error_text(exc))


def _expired_key(exc):
    return _("Expired key"), _("Expired key: %(reason)s", reason=error_text(exc))


def _store_unavailable(exc):
    return _("Store unavailable"), _("Store unavailable: %(reason)s", reason=error_text(exc))


def _open(key):
    """The entry behind a key, or the problem to show instead."""
    try:
        return serverside.for_lab(stores.current(), STRATEGY.store_prefix).open(key), None
    except serverside.KeyRejected as exc:
        return None, _unknown_key(exc)
    except serverside.EntryExpired as exc:
        return None, _expired_key(exc)
    except InvalidSessionId as exc:
        return None, (_("Rejected session id in the key"),
                      _("Rejected session id in the key: %(reason)s. Reload the page.", reason=error_text(exc)))
    except stores.StoreError as exc:
        return None, _store_unavailable(exc)


def _short(problem):
    return _("%(title)s — see the message below", title=problem[0])


def _consume(key, name, build):
    entry, problem = _open(key)
    if problem:
        return None, problem
    if len(name) > 1 and name[1] not in workload.FRUITS:
        return None, (_("Unknown fruit"), _("Unknown fruit: %(fruit)s is not one of %(options)s",
                                            fruit=repr(str(name[1])[:40]), options=", ".join(workload.FRUITS)))
    try:
        # A view holds words (titles, headers): one per language, named by its code like the rest of the name.
        return serverside.for_lab(stores.current(), STRATEGY.store_prefix).view(entry, (*name, i18n.current()), build), None
    except serverside.EntryExpired as exc:
        return None, _expired_key(exc)
    except stores.SingleFlightError as exc:
        return None, (_("Recomputing failed"), _("Recomputing failed: %(reason)s", reason=error_text(exc)))
    except stores.StoreError as exc:
        return None, _store_unavailable(exc)


@callback(Output(ids("density"), "figure"), Input(ids("key"), "data"), Input(ids("fruit"), "value"))
def density(key, fruit):
    if not key:
        return figures.empty(_("No key yet"), 280)
    fig, problem = _consume(key, ("density", fruit), lambda df: beyond.plain(beyond.density_figure(df, fruit)))
    return figures.empty(_short(problem), 280) if problem else fig


@callback(Output(ids("trend"), "figure"), Input(ids("key"), "data"), Input(ids("fruit"), "value"))
def trend(key, fruit):
    if not key:
        return figures.empty(_("No key yet"), 280)
    fig, problem = _consume(key, ("trend", fruit), lambda df: beyond.plain(beyond.trend_figure(df, fruit)))
    return figures.empty(_short(problem), 280) if problem else fig


@callback(Output(ids("summary"), "children"), Input(ids("key"), "data"))
def summary(key):
    if not key:
        return dbc.Alert(_("No key in the browser: see the message above the charts."), color="secondary", className="py-2")
    table, problem = _consume(key, ("summary",), lambda df: beyond.plain(beyond.summary_table(df)))
    if problem:
        return dbc.Alert(problem[1], color="warning", className="py-2 beyond-key-alert")
    return table
