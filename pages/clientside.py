import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, dcc, html

import choices
import workload
from components import beyond, figures, instruments, strategy
from components.ids import Ids
from components.source import source_panel
from i18n import _
from strategies.clientside import STRATEGY

dash.register_page(__name__, **STRATEGY.page_args())
META = STRATEGY.meta()
ids = Ids(META["slug"])
instruments.register_counters(META["slug"], ())  # no expensive step, no cache: one load, then the browser
ROWS = (1_000, 10_000, 100_000, 300_000)
SWEEP = list(ROWS)


def js_texts() -> dict:
    """What assets/clientside.js writes on this page, in the visitor's language; {name}s are filled in by the JS."""
    return {
        "colRows": _("rows"),
        "colSent": _("sent"),
        "colLoad": _("load"),
        "colInteraction": _("interaction"),
        "heavy": _(
            "At {rows} rows this tab waited {ms} ms for {size}; each interaction costs {interaction} ms. Every tab pays "
            "that, and slower devices several times over: past this, keep the rows on the server."
        ),
        "light": _("Every size measured so far loads within half a second, under 5 MB, and answers within one frame (16 ms)."),
        "traceLoad": _("load (ms)"),
        "traceInteraction": _("per interaction (ms)"),
        "traceSent": _("sent (MB)"),
        "scalingTitle": _("time (left), data sent (right)"),
        "axisRows": _("rows loaded"),
        "axisMs": _("milliseconds"),
        "axisSent": _("sent"),
        "barsTitle": _("revenue by fruit — {rows} rows matched"),
        "trendTitle": _("{fruit} — mean y by x ({rows} rows)"),
        "notLoaded": _("Load data to start: nothing has been sent to this tab yet."),
        "explored": _(
            "{matched} of {rows} rows matched — filtered and aggregated in {ms} ms in this tab, with no request to the server."
        ),
    }


def layout(**_query):
    demo = dbc.Card(
        dbc.CardBody(
            [
                html.Div(
                    [
                        html.Div(
                            [
                                dbc.Label(_("Rows"), html_for=ids("rows"), className="small mb-1"),
                                dbc.Select(id=ids("rows"), options=beyond.row_options(ROWS), value=str(workload.DEFAULT_ROWS)),
                            ],
                            className="beyond-control",
                        ),
                        dbc.Button(_("Load into the browser"), id=ids("load"), color="primary", className="align-self-end"),
                        dbc.Button(
                            _("Measure every size"),
                            id=ids("sweep"),
                            color="secondary",
                            outline=True,
                            className="align-self-end",
                            title=_("Load 1,000 → 300,000 rows one after another and record each"),
                        ),
                    ],
                    className="beyond-controls",
                ),
                dcc.Store(id=ids("request")),
                dcc.Store(id=ids("data")),
                dcc.Store(id=ids("sweep-plan"), data=SWEEP),
                # The texts assets/clientside.js writes, in the visitor's language ({name}: filled in by the JS).
                dcc.Store(id=ids("texts"), data=js_texts()),
                dcc.Loading(html.Div(id=ids("loaded"), className="small mt-2"), type="dot", delay_show=200),
                html.Div(
                    [
                        html.Div(
                            [
                                dbc.Label(_("Region"), className="small mb-1"),
                                dbc.Checklist(
                                    id=ids("region"),
                                    inline=True,
                                    value=list(workload.REGIONS),
                                    options=[{"label": r, "value": r} for r in workload.REGIONS],
                                ),
                            ],
                            className="beyond-control",
                        ),
                        html.Div(
                            [
                                dbc.Label(_("Fruit (trend)"), html_for=ids("fruit"), className="small mb-1"),
                                dbc.Select(
                                    id=ids("fruit"), value="apples", options=[{"label": f, "value": f} for f in workload.FRUITS]
                                ),
                            ],
                            className="beyond-control",
                        ),
                        html.Div(
                            [
                                dbc.Label(_("x range"), html_for=ids("xrange"), className="small mb-1"),
                                dcc.RangeSlider(
                                    id=ids("xrange"),
                                    min=0,
                                    max=100,
                                    step=5,
                                    value=[0, 100],
                                    marks={v: str(v) for v in range(0, 101, 25)},
                                ),
                            ],
                            className="beyond-control beyond-control-wide",
                        ),
                    ],
                    className="beyond-controls mt-2",
                ),
                html.Div(id=ids("timing"), className="small text-muted"),
                dbc.Row(
                    [
                        dbc.Col(
                            dcc.Graph(
                                id=ids("bars"), figure=figures.empty(_("Load data first"), 260), config=figures.GRAPH_CONFIG
                            ),
                            md=6,
                        ),
                        dbc.Col(
                            dcc.Graph(
                                id=ids("trend"), figure=figures.empty(_("Load data first"), 260), config=figures.GRAPH_CONFIG
                            ),
                            md=6,
                        ),
                    ],
                    className="g-2",
                ),
                html.Hr(className="my-2"),
                html.H2(_("Where it stops scaling — measured in this tab"), className="h6"),
                dbc.Row(
                    [
                        dbc.Col(html.Div(_("Nothing loaded yet."), id=ids("scaling"), className="small"), md=7),
                        dbc.Col(
                            dcc.Graph(
                                id=ids("scaling-chart"),
                                figure=figures.empty(_("Load a few sizes (or measure every size)"), 260),
                                config=figures.GRAPH_CONFIG,
                            ),
                            md=5,
                        ),
                    ],
                    className="g-2",
                ),
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
            "“Load” runs one server callback that sends the raw rows (compact columns, categories as codes) "
            "into a dcc.Store. The region, fruit and x-range controls feed a clientside callback — JavaScript in "
            "assets/clientside.js — that filters and aggregates those rows in the tab and draws both charts. The "
            "instruments on the right log no request for any of those interactions. The table below records, per "
            "row count, what that one load cost: bytes and time until the data was usable, and "
            "how long one interaction then takes."
        ),
        when=_(
            "The data is modest (up to some tens of thousands of rows), the same for the whole session, and "
            "the interactions are many and simple — filters, sorts, sums."
        ),
        when_not=_(
            "The data is large, private per row, or the computation needs Python libraries: keep it on "
            "the server and send results (see the server-side store), or send only aggregates."
        ),
    )


# Arrival loads the default size (so the page shows its point without a click); a click asks for
# one size; "measure every size" asks for the first of the plan and the measuring callback asks
# for the next one when each load has been measured.
clientside_callback(
    ClientsideFunction(namespace="clientside", function_name="requestLoad"),
    Output(ids("request"), "data"),
    Input(ids("load"), "n_clicks"),
    Input(ids("sweep"), "n_clicks"),
    State(ids("rows"), "value"),
    State(ids("sweep-plan"), "data"),
)


@callback(
    Output(ids("data"), "data"), Output(ids("loaded"), "children"), Input(ids("request"), "data"), prevent_initial_call=True
)
def load(request):
    try:
        rows = choices.rows((request or {}).get("rows"), ROWS)  # only what the page offers
    except (workload.WorkloadError, AttributeError) as exc:
        return None, dbc.Alert(_("Cannot load: %(reason)s", reason=exc), color="warning", className="py-2 mb-0")
    if rows not in ROWS:
        return None, dbc.Alert(
            _("This page loads %(sizes)s rows, not %(rows)s.", sizes=", ".join(format(n, ",") for n in ROWS), rows=format(rows, ",")),
            color="warning",
            className="py-2 mb-0",
        )
    return beyond.columnar(rows), _("Sent %(rows)s rows to this tab; everything below now runs in the browser.", rows=format(rows, ","))


# Record what that load cost, measured by the browser.
clientside_callback(
    ClientsideFunction(namespace="clientside", function_name="measureLoad"),
    Output(ids("scaling"), "children"),
    Output(ids("scaling-chart"), "figure"),
    Input(ids("data"), "data"),
    State(ids("request"), "data"),
    State(ids("fruit"), "value"),
    State(ids("texts"), "data"),
)

# Every interaction: filter and aggregate in the tab. No request leaves it.
clientside_callback(
    ClientsideFunction(namespace="clientside", function_name="explore"),
    Output(ids("bars"), "figure"),
    Output(ids("trend"), "figure"),
    Output(ids("timing"), "children"),
    Input(ids("data"), "data"),
    Input(ids("region"), "value"),
    Input(ids("fruit"), "value"),
    Input(ids("xrange"), "value"),
    State(ids("texts"), "data"),
)
