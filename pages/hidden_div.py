import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, dcc, html, no_update

import choices
import stores
import workload
from components import figures, instruments, payload, strategy
from components.ids import Ids
from components.source import source_panel
from i18n import _
from stores.codec import BadPayload
from strategies.hidden_div import STRATEGY

dash.register_page(__name__, **STRATEGY.page_args())
META = STRATEGY.meta()
ids = Ids(META["slug"])
SLUG = META["slug"]
instruments.register_counters(SLUG, ("compute",))  # no cache on this page


def graph(name: str) -> dbc.Col:
    return dbc.Col(
        dcc.Graph(id=ids(name), figure=figures.empty(_("waiting for the producer…")), config=figures.GRAPH_CONFIG), md=6
    )


def first_frame(cleaned) -> str:
    return cleaned.to_json(orient="split", index=False)  # exactly what clean_data returns


def layout(**_query):
    first = payload.first_view(SLUG, first_frame)
    tamper = dbc.Button(
        _("Send malformed data"),
        id=ids("tamper"),
        size="sm",
        color="danger",
        outline=True,
        title=_("Replace the hidden div's JSON with a malformed frame, as a tampering client could"),
    )
    demo = html.Div(
        [
            payload.controls(ids, extra=tamper),
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
            dcc.Markdown(id=ids("size"), className="pl-size small"),
            dcc.Loading(
                [
                    dbc.Row([graph(f"scatter-{fruit}") for fruit in payload.SHOWN_FRUITS[:2]], className="g-2"),
                    dbc.Row(
                        [
                            graph(f"scatter-{payload.SHOWN_FRUITS[2]}"),
                            dbc.Col(html.Div(id=ids("table"), className="pl-table"), md=6),
                        ],
                        className="g-2",
                    ),
                ],
                overlay_style={"visibility": "visible", "opacity": 0.45},
                delay_show=150,
            ),
            # The seed's hidden div: the cleaned frame as JSON, never shown.
            html.Div(first, id=ids("data"), style={"display": "none"}),
            dcc.Store(id=ids("sizes"), data={}),
            dcc.Store(id=ids("consumers"), data=len(payload.SHOWN_FRUITS) + 1),
            # What assets/hidden-div.js writes, in the visitor's language ({name} fields filled in there).
            dcc.Store(id=ids("texts"), data={
                "empty": _("The hidden div is empty until the producer answers."),
                "notFrame": _("**The hidden div holds {bytes} that is not a frame** — the consumers reject it."),
                "frame": _("**The hidden div holds {bytes} of JSON** ({rows} cleaned rows). It came down once; each of "
                           "the {consumers} consumers sends it back up: ≈ **{up} up** for this one interaction."),
                "size": _("{rows} rows → {bytes}"),
                "measured": _("Measured in this tab: {sizes}. The size grows linearly with the rows."),
            }),
        ]
    )
    return strategy.page(
        META,
        demo,
        instruments.panel(SLUG),
        source_panel(__name__),
        what=_("The producer turns its DataFrame into a JSON string and returns it as the children of a div styled "
        "display:none. Dash keeps that string in the browser; each consumer names the div's children as Input, so the "
        "renderer sends the whole string back up with every consumer request, and the consumer parses it again. "
        "Watch the instruments: one request down with the frame, then one request up per consumer, each carrying "
        "the frame. Ten times the rows, ten times the bytes, four times over. dcc.Store(storage_type='memory') is "
        "the same idea with a proper component."),
        when=_("The shared result is small (kilobytes), the consumers are few, and you want no server-side state at all."),
        when_not=_("The frame is large or grows with the data: compute aggregates up front, or keep the frame on the "
        "server and ship a key (session cache, serverside)."),
    )


@callback(
    Output(ids("data"), "children"),
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
        return no_update, dbc.Alert(_("Cannot compute: %(reason)s", reason=exc), color="warning", className="small")
    lab.count("compute", SLUG)
    return cleaned.to_json(orient="split", index=False), None  # the whole cleaned frame, as the seed does


def scatter_consumer(fruit: str) -> None:
    @callback(Output(ids(f"scatter-{fruit}"), "figure"), Input(ids("data"), "children"))
    def update_graph(jsonified_cleaned_data):
        if jsonified_cleaned_data in (None, ""):
            return figures.empty(_("waiting for the producer…"))
        try:
            dff = payload.frame(jsonified_cleaned_data)
        except BadPayload as exc:
            return payload.rejected_figure(exc)
        return figures.fruit_scatter(dff, fruit)


for shown_fruit in payload.SHOWN_FRUITS:
    scatter_consumer(shown_fruit)


@callback(Output(ids("table"), "children"), Input(ids("data"), "children"))
def update_table(jsonified_cleaned_data):
    if jsonified_cleaned_data in (None, ""):
        return None
    try:
        dff = payload.frame(jsonified_cleaned_data)
    except BadPayload as exc:
        return payload.rejected(exc, _("The summary table's input"))
    return [html.H2(_("Summary by fruit"), className="h6 mt-2"), payload.summary_table(workload.summary(dff))]


# In the browser, no request: how big the hidden div is, and how that grew with the rows in this tab.
clientside_callback(
    ClientsideFunction(namespace="hiddenDiv", function_name="size"),
    Output(ids("size"), "children"),
    Output(ids("sizes"), "data"),
    Input(ids("data"), "children"),
    State(ids("rows"), "value"),
    State(ids("sizes"), "data"),
    State(ids("consumers"), "data"),
    State(ids("texts"), "data"),
)

# What a tampering client could send: the consumers must answer with a clear message, not a 500.
clientside_callback(
    ClientsideFunction(namespace="hiddenDiv", function_name="tamper"),
    Output(ids("data"), "children", allow_duplicate=True),
    Input(ids("tamper"), "n_clicks"),
    prevent_initial_call=True,
)
