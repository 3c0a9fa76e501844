import json

import dash
import dash_bootstrap_components as dbc
from dash import (
    ClientsideFunction,
    Input,
    Output,
    Patch,
    State,
    callback,
    clientside_callback,
    ctx,
    dash_table,
    dcc,
    html,
    no_update,
)

import stores
from components import beyond, figures, instruments, strategy
from components.ids import Ids
from components.source import source_panel
from i18n import _
from strategies.patch import STRATEGY

dash.register_page(__name__, **STRATEGY.page_args())
META = STRATEGY.meta()
ids = Ids(META["slug"])
instruments.register_counters(META["slug"], ())  # rows come from a fixed stream: no expensive step, no cache
BATCHES = (100, 1_000, 5_000)
EMPTY = beyond.appended(0, 0)


def reference() -> dict | None:
    """The server's sizes of both kinds of response (beyond.reference_sizes), computed once for all workers."""
    try:
        value, _computed = stores.current().memo(f"{META['slug']}:reference-sizes:v1", lambda: json.dumps(beyond.reference_sizes(ids(""))).encode())
    except stores.StoreError:
        return None
    return json.loads(value)


def column_names() -> dict:
    """The table's column headers (beyond.PATCH_COLUMNS) in the visitor's language."""
    return {"fruit": _("fruit"), "region": _("region"), "x": "x", "y": "y", "amount": _("amount"), "price": _("price")}


def js_texts() -> dict:
    """What assets/clientside.js writes on this page, in the visitor's language; {name}s are filled in by the JS."""
    return {
        "patch": "Patch",
        "full": _("full re-send"),
        "computed": _("{label} (computed by the server)"),
        "measured": _("{label} (measured here)"),
        "hover": _("%{y:.1f} KB at %{x:,} rows"),
        "server": _("server"),
        "modePatch": _("patch"),
        "modeFull": _("full"),
        "title": _("KB per “Append rows” response"),
        "axisRows": _("rows on screen after the click"),
        "axisDown": _("KB down"),
        "lastPatch": _("Last Patch: {down} down for {added} new rows ({rows} on screen), {up} up."),
        "lastFull": _("Last full re-send: {down} down for {rows} rows, {up} up."),
        "ratio": _("Full / Patch = {ratio} ×."),
        "before": _(
            "Before any click, the server's sizes of the same responses ({batch} rows per click): at {rows} rows on "
            "screen a Patch is {patch}, a full re-send {full} ({ratio} ×). Click “Append rows” in both modes to "
            "measure them in this browser."
        ),
        "click": _("Click “Append rows” in both modes."),
    }


def layout(**_query):
    demo = dbc.Card(
        dbc.CardBody(
            [
                html.Div(
                    [
                        html.Div(
                            [
                                dbc.Label(_("Send"), className="small mb-1"),
                                dbc.RadioItems(
                                    id=ids("mode"),
                                    value="patch",
                                    inline=True,
                                    options=[
                                        {"label": _("Patch (new rows only)"), "value": "patch"},
                                        {"label": _("Full re-send"), "value": "full"},
                                    ],
                                ),
                            ],
                            className="beyond-control",
                        ),
                        html.Div(
                            [
                                dbc.Label(_("Rows per click"), html_for=ids("batch"), className="small mb-1"),
                                dbc.Select(
                                    id=ids("batch"), value="1000", options=[{"label": f"{n:,}", "value": str(n)} for n in BATCHES]
                                ),
                            ],
                            className="beyond-control",
                        ),
                        html.Div(
                            [
                                dbc.Button(_("Append rows"), id=ids("append"), color="primary", className="me-2"),
                                dbc.Button(_("Reset"), id=ids("reset"), color="secondary", outline=True),
                            ],
                            className="align-self-end",
                        ),
                    ],
                    className="beyond-controls",
                ),
                dcc.Store(id=ids("count"), data=0),
                dcc.Store(id=ids("last")),
                dcc.Store(id=ids("reference"), data=reference()),
                # The texts assets/clientside.js writes, in the visitor's language ({name}: filled in by the JS).
                dcc.Store(id=ids("texts"), data=js_texts()),
                html.Div(id=ids("alert")),
                html.Div(id=ids("verdict"), className="small mt-2 mb-1"),
                dbc.Row(
                    [
                        dbc.Col(
                            dcc.Graph(id=ids("graph"), figure=beyond.stream_figure(EMPTY), config=figures.GRAPH_CONFIG), md=6
                        ),
                        dbc.Col(
                            dcc.Graph(
                                id=ids("bytes"),
                                figure=figures.empty(_("Click “Append rows” in both modes"), 300),
                                config=figures.GRAPH_CONFIG,
                            ),
                            md=6,
                        ),
                    ],
                    className="g-2",
                ),
                dash_table.DataTable(
                    id=ids("table"),
                    data=[],
                    columns=[{"name": column_names()[c], "id": c} for c in beyond.PATCH_COLUMNS],
                    page_size=6,
                    page_action="native",
                    style_table={"overflowX": "auto"},
                    style_cell={"fontFamily": "system-ui, sans-serif", "fontSize": "0.85rem", "padding": "0.25rem 0.5rem"},
                    style_header={"fontWeight": 600, "backgroundColor": "#f8fafc"},
                    # DataTable right-aligns every cell by default: names read left to right, numbers stay right.
                    style_cell_conditional=[{"if": {"column_id": c}, "textAlign": "left"} for c in ("fruit", "region")],
                    style_header_conditional=[{"if": {"column_id": c}, "textAlign": "left"} for c in ("fruit", "region")],
                ),
                dcc.Interval(id=ids("tick"), interval=700),
            ]
        ),
        className="lab-card mb-3",
    )
    return strategy.page(
        META,
        demo,
        instruments.panel(META["slug"]),
        source_panel(__name__),
        what=_(
            "A callback that returns dash.Patch() instead of a value sends a list of operations — here "
            "“extend data[0].x with these numbers” and “append these rows to the table” — and the browser applies "
            "them to the props it already has. The chart on the right compares each click's response size in both modes: "
            "a full re-send grows with everything on screen, a Patch only with the rows added. The request is "
            "small in both modes because this callback sends up a row count, not the figure: had it taken the "
            "figure or a Store as State, that would still travel up whole on every click."
        ),
        when=_(
            "An output grows or changes a little at a time: streaming points, appending log lines or table "
            "rows, toggling one trace, editing one cell."
        ),
        when_not=_(
            "The output is replaced wholesale anyway, or the expensive part is the data sent up "
            "(Patch does nothing for Inputs and States — keep those on the server instead)."
        ),
    )


@callback(
    Output(ids("graph"), "figure"),
    Output(ids("table"), "data"),
    Output(ids("count"), "data"),
    Output(ids("last"), "data"),
    Output(ids("alert"), "children"),
    Input(ids("append"), "n_clicks"),
    Input(ids("reset"), "n_clicks"),
    State(ids("mode"), "value"),
    State(ids("batch"), "value"),
    State(ids("count"), "data"),
    prevent_initial_call=True,
)
def append(_append, _reset, mode, batch, count):
    if ctx.triggered_id == ids("reset"):
        return beyond.stream_figure(EMPTY), [], 0, {"mode": "reset", "rows": 0, "added": 0}, None
    try:
        count, batch = int(count or 0), int(batch)
        problem = None
        if batch not in BATCHES or not 0 <= count <= beyond.PATCH_SOURCE_ROWS or mode not in ("patch", "full"):
            problem = _("Unexpected input from the browser: press Reset.")
        elif count >= beyond.PATCH_SOURCE_ROWS:
            problem = _("The demo stops at %(rows)s rows: press Reset to start again.", rows=format(beyond.PATCH_SOURCE_ROWS, ","))
    except (TypeError, ValueError):
        problem = _("The row count held by the browser is not a number: press Reset.")
    if problem:
        # `last` is still written, so the byte chart pairs every response with its click.
        return no_update, no_update, no_update, {"mode": "none"}, dbc.Alert(problem, color="info", className="py-2")
    new = beyond.appended(count, count + batch)
    total = count + len(new)
    if mode == "patch":
        figure = Patch()
        figure["data"][0]["x"].extend(new["x"].tolist())
        figure["data"][0]["y"].extend(new["y"].tolist())
        figure["layout"]["title"]["text"] = beyond.stream_title(total)
        table = Patch()
        table.extend(new.to_dict("records"))
    else:
        everything = beyond.appended(0, total)
        figure, table = beyond.stream_figure(everything), everything.to_dict("records")
    return figure, table, total, {"mode": mode, "rows": total, "added": len(new)}, None


# Pair each click's `last` with the browser's own measurement of that response.
clientside_callback(
    ClientsideFunction(namespace="clientside", function_name="patchBytes"),
    Output(ids("bytes"), "figure"),
    Output(ids("verdict"), "children"),
    Input(ids("last"), "data"),
    Input(ids("tick"), "n_intervals"),
    State(ids("reference"), "data"),
    State(ids("texts"), "data"),
)
