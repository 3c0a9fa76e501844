import json

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html, no_update

import choices
import stores
import workload
from components import figures, instruments, payload, strategy
from components.ids import Ids
from components.source import source_panel
from i18n import _
from stores.codec import BadPayload
from strategies.aggregates import STRATEGY

dash.register_page(__name__, **STRATEGY.page_args())
META = STRATEGY.meta()
ids = Ids(META["slug"])
SLUG = META["slug"]
instruments.register_counters(SLUG, ("compute",))  # no cache on this page


def graph(name: str) -> dbc.Col:
    return dbc.Col(
        dcc.Graph(id=ids(name), figure=figures.empty(_("waiting for the producer…")), config=figures.GRAPH_CONFIG), md=6
    )


def produced(cleaned, rows: int) -> tuple[str, dict]:
    """The hidden div's aggregates and the sizes the comparison shows."""
    datasets = json.dumps(payload.aggregates(cleaned))  # only what the consumers will draw
    full = cleaned.to_json(orient="split", index=False)  # measured for the comparison, never sent
    return datasets, {"shipped": payload.json_bytes(datasets), "full": payload.json_bytes(full), "rows": rows, "kept": len(cleaned)}


def first_produced(cleaned) -> str:
    datasets, sizes = produced(cleaned, workload.DEFAULT_ROWS)
    return json.dumps({"datasets": datasets, "sizes": sizes})


def layout(**_query):
    first = payload.first_view(SLUG, first_produced)
    first = json.loads(first) if first else None
    demo = html.Div(
        [
            payload.controls(ids),
            # The producer's status; while it runs (running=, fixed when the callback is registered, so in no
            # visitor's language) the status empties and the translated "running" line beside it shows.
            html.Div(
                [
                    html.Div(payload.first_view_note() if first else "", id=ids("status")),
                    html.Div(_("Running the expensive step…"), id=ids("running"), hidden=True),
                ],
                className="small text-muted mb-1",
            ),
            html.Div(
                None if first else dbc.Alert(_("The first view is not available: change an input to run the producer."),
                                             color="info", className="small py-2"),
                id=ids("error"),
            ),
            html.Div(
                payload.comparison(**first["sizes"]) if first else None, id=ids("compare"), className="mb-2"
            ),
            dcc.Loading(
                [
                    dbc.Row([graph(f"line-{fruit}") for fruit in payload.SHOWN_FRUITS[:2]], className="g-2"),
                    dbc.Row([graph(f"line-{payload.SHOWN_FRUITS[2]}"), graph("bars")], className="g-2"),
                    html.Div(id=ids("table"), className="pl-table"),
                ],
                overlay_style={"visibility": "visible", "opacity": 0.45},
                delay_show=150,
            ),
            # The same hidden div as seed 000 example 2 — holding aggregates only.
            html.Div(first["datasets"] if first else None, id=ids("data"), style={"display": "none"}),
        ]
    )
    return strategy.page(
        META,
        demo,
        instruments.panel(SLUG),
        source_panel(__name__),
        what=_("Most apps never show every row: they show a line of means, a bar per category, a table of totals. "
        "So the producer, which already holds the cleaned frame after the expensive step, computes those views "
        "right there and puts only them in the hidden div. Each consumer still gets its input from the browser, "
        "but a few kilobytes instead of the whole frame — compare the two numbers above at 100,000 rows, and "
        "the instruments with the hidden-div page."),
        when=_("You know what the consumers display and it is much smaller than the data: summaries, histograms, "
        "binned series, top-N lists."),
        when_not=_("Consumers need the individual rows (a scatter of every point, a filterable table) or the views "
        "change faster than you can add aggregates: keep the frame on the server instead."),
    )


@callback(
    Output(ids("data"), "children"),
    Output(ids("compare"), "children"),
    Output(ids("error"), "children"),
    Input(ids("region"), "value"),
    Input(ids("rows"), "value"),
    running=[(Output(ids("status"), "children"), "", ""), (Output(ids("running"), "hidden"), False, True)],
    prevent_initial_call=True,  # the default inputs' result came with the page (first_view)
)
def clean_data(region, rows):
    lab = stores.current()
    try:
        rows, region = choices.rows(rows), choices.region(region)  # only what the page offers
        cleaned = workload.expensive_step(rows, region, delay=lab.settings.compute_delay)
    except workload.WorkloadError as exc:
        return no_update, no_update, dbc.Alert(_("Cannot compute: %(reason)s", reason=exc), color="warning", className="small")
    lab.count("compute", SLUG)
    datasets, sizes = produced(cleaned, rows)
    return datasets, payload.comparison(**sizes), None


def line_consumer(fruit: str) -> None:
    @callback(Output(ids(f"line-{fruit}"), "figure"), Input(ids("data"), "children"))
    def update_graph(jsonified_aggregates):
        if jsonified_aggregates in (None, ""):
            return figures.empty(_("waiting for the producer…"))
        try:
            points = payload.aggregate_part(jsonified_aggregates, "binned", fruit)
        except BadPayload as exc:
            return payload.rejected_figure(exc)
        return figures.fruit_line(points, fruit)


for shown_fruit in payload.SHOWN_FRUITS:
    line_consumer(shown_fruit)


@callback(
    Output(ids("bars"), "figure"),
    Output(ids("table"), "children"),
    Input(ids("data"), "children"),
)
def update_summary(jsonified_aggregates):
    if jsonified_aggregates in (None, ""):
        return figures.empty(_("waiting for the producer…")), None
    try:
        table = payload.aggregate_part(jsonified_aggregates, "summary")
    except BadPayload as exc:
        return payload.rejected_figure(exc), payload.rejected(exc, _("The summary's input"))
    return figures.summary_bars(table), [html.H2(_("Summary by fruit"), className="h6 mt-2"), payload.summary_table(table)]
