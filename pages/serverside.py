import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, ctx, dcc, html

import choices
import stores
import workload
from components import beyond, figures, instruments, strategy
from components.ids import Ids
from components.source import source_panel
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
        ("bytes held", f"{beyond.human_bytes(s['bytes_held'])} / {beyond.human_bytes(s['max_bytes'])}"),
        ("entries (sessions)", f"{s['entries']} ({s['sessions']})"),
        ("frames stored", s["frames"]),
        ("views stored (read from the store)", f"{s['views']} ({s['view_hits']})"),
        ("evictions", s["evictions"]),
        ("in-memory hit rate", f"{rate} of {s['memory_hits'] + s['memory_misses']}"),
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
        session_id, problem = None, dbc.Alert(f"Store unavailable, no session could be started: {exc}", color="danger")
    demo = dbc.Card(
        dbc.CardBody(
            [
                html.Div(
                    [
                        _select("rows", "Rows", beyond.row_options(ROWS), str(workload.DEFAULT_ROWS)),
                        _select(
                            "region", "Region (producer input)", [{"label": r, "value": r} for r in workload.REGIONS], "north"
                        ),
                        _select("fruit", "Fruit (consumer input)", [{"label": f, "value": f} for f in workload.FRUITS], "apples"),
                        dbc.Button(
                            "Forget my entry",
                            id=ids("forget"),
                            color="secondary",
                            outline=True,
                            size="sm",
                            className="align-self-end",
                            title="Delete this session's entry, as expiry or eviction would",
                        ),
                    ],
                    className="beyond-controls",
                ),
                problem,
                dcc.Store(id=ids("session"), data=session_id),
                dcc.Store(id=ids("key")),
                dcc.Loading(html.Div(id=ids("status"), className="small mt-2"), type="dot", delay_show=200),
                html.Div(
                    [
                        html.Span("The browser holds: ", className="text-muted"),
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
                                    figure=figures.empty("Waiting for a key", 280),
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
                                    figure=figures.empty("Waiting for a key", 280),
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
        what="The producer runs the expensive step and writes the result into the shared store as Arrow IPC under "
        "a content key (rows and region). The browser's dcc.Store receives only a key: the content key plus this "
        "page's signed session id. Each consumer sends that key up, the server checks the session's entry "
        "exists (one tiny round trip, which also refreshes its TTL), then answers with its view of the frame: "
        "from its own memory when it has built it before, else from the store, where the first worker to build "
        "a view leaves it (kilobytes, not the frame's megabytes). Only a view nobody has built yet decodes the "
        "frame. A value computed once serves every session that "
        "asks for the same input; each session's entry is its own and expires or is evicted on its own.",
        when="The data is large, several callbacks read it, and it is the same for many users or interactions: "
        "payloads stay constant at any size, and a crowd of sessions computes each value once.",
        when_not="The data is small (a Store is simpler), must survive the server's store being flushed, or is "
        "edited in the browser: a key-only store holds server-computed values, not user edits.",
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
                "Entry deleted on the server, as expiry or eviction would: the consumers below now "
                "hold a key that no longer opens anything.",
                color="info",
                className="py-2 mb-0",
            )
        rows, region = choices.rows(rows, ROWS), choices.region(region)  # only what the page offers
        # The page names the content (bump v1 when the expensive step changes) and hands its compute down.
        made = svs.produce(session_id, f"v1.{rows}.{region}",
                           lambda: workload.expensive_step(rows, region, delay=lab.settings.compute_delay))
    except InvalidSessionId as exc:
        return None, dbc.Alert(
            f"Rejected session id: {exc}. Reload the page for a new session.", color="danger", className="mb-0"
        )
    except (workload.WorkloadError, serverside.FrameTooLarge) as exc:
        return None, dbc.Alert(str(exc), color="warning", className="mb-0")
    except (serverside.KeyRejected, serverside.EntryExpired) as exc:
        return None, dbc.Alert(str(exc), color="warning", className="mb-0")
    except stores.SingleFlightError as exc:
        return None, dbc.Alert(f"The computation did not finish: {exc}", color="danger", className="mb-0")
    except stores.StoreError as exc:
        return None, dbc.Alert(f"Store unavailable: {exc}", color="danger", className="mb-0")
    if made.computed:
        how = f"computed by this request (worker ran the expensive step) in {made.seconds:.2f} s"
    elif made.cold:
        how = f"another request was already computing it; waited {made.seconds:.2f} s for its result (single-flight)"
    else:
        how = f"already in the shared store: no computation, {made.seconds * 1000:.0f} ms"
    return made.key, html.Span(
        [
            dbc.Badge(
                "computed" if made.computed else "shared" if made.cold else "hit",
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
)


def _open(key):
    """The entry behind a key, or the message to show instead."""
    try:
        return serverside.for_lab(stores.current(), STRATEGY.store_prefix).open(key), None
    except serverside.KeyRejected as exc:
        return None, f"Unknown key: {exc}"
    except serverside.EntryExpired as exc:
        return None, f"Expired key: {exc}"
    except InvalidSessionId as exc:
        return None, f"Rejected session id in the key: {exc}. Reload the page."
    except stores.StoreError as exc:
        return None, f"Store unavailable: {exc}"


def _short(problem):
    return problem.split(":")[0] + " — see the message below"


def _consume(key, name, build):
    entry, problem = _open(key)
    if problem:
        return None, problem
    if len(name) > 1 and name[1] not in workload.FRUITS:
        return None, f"Unknown fruit: {str(name[1])[:40]!r} is not one of {', '.join(workload.FRUITS)}"
    try:
        return serverside.for_lab(stores.current(), STRATEGY.store_prefix).view(entry, name, build), None
    except serverside.EntryExpired as exc:
        return None, f"Expired key: {exc}"
    except stores.SingleFlightError as exc:
        return None, f"Recomputing failed: {exc}"
    except stores.StoreError as exc:
        return None, f"Store unavailable: {exc}"


@callback(Output(ids("density"), "figure"), Input(ids("key"), "data"), Input(ids("fruit"), "value"))
def density(key, fruit):
    if not key:
        return figures.empty("No key yet", 280)
    fig, problem = _consume(key, ("density", fruit), lambda df: beyond.plain(beyond.density_figure(df, fruit)))
    return figures.empty(_short(problem), 280) if problem else fig


@callback(Output(ids("trend"), "figure"), Input(ids("key"), "data"), Input(ids("fruit"), "value"))
def trend(key, fruit):
    if not key:
        return figures.empty("No key yet", 280)
    fig, problem = _consume(key, ("trend", fruit), lambda df: beyond.plain(beyond.trend_figure(df, fruit)))
    return figures.empty(_short(problem), 280) if problem else fig


@callback(Output(ids("summary"), "children"), Input(ids("key"), "data"))
def summary(key):
    if not key:
        return dbc.Alert("No key in the browser: see the message above the charts.", color="secondary", className="py-2")
    table, problem = _consume(key, ("summary",), lambda df: beyond.plain(beyond.summary_table(df)))
    if problem:
        return dbc.Alert(problem, color="warning", className="py-2 beyond-key-alert")
    return table
