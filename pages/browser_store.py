import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, dcc, html, no_update

import choices
import stores
import workload
from components import instruments, quota, strategy
from components.ids import Ids
from components.source import source_panel
from stores.codec import BadPayload
from strategies.browser_store import STRATEGY

dash.register_page(__name__, **STRATEGY.page_args())
META = STRATEGY.meta()
ids = Ids(META["slug"])
SLUG = META["slug"]
instruments.register_counters(SLUG, ("compute",))  # no cache on this page


def store_card(kind: str) -> dbc.Col:
    facts = quota.SURVIVAL[kind]
    return dbc.Col(
        dbc.Card(
            [
                dbc.CardHeader([html.Code(f"storage_type='{kind}'"), html.Div(facts["where"], className="small text-muted")]),
                dbc.CardBody(
                    [
                        html.Div(id=ids(f"{kind}-note"), className="bs-note"),
                        dcc.Loading(html.Div(id=ids(f"{kind}-view"), className="bs-view"), delay_show=300),
                    ]
                ),
            ],
            className=f"lab-card h-100 bs-card bs-{kind}",
        ),
        md=4,
    )


def layout(**_query):
    controls = dbc.Row(
        [
            dbc.Col(
                [
                    dbc.Label("Write to", className="small mb-1"),
                    dbc.RadioItems(
                        id=ids("target"),
                        options=[{"label": k, "value": k} for k in quota.KINDS],
                        value="session",
                        className="bs-target",
                        inputClassName="btn-check",
                        labelClassName="btn btn-outline-primary btn-sm",
                        labelCheckedClassName="active",
                    ),
                ],
                md=6,
            ),
            dbc.Col(
                [
                    dbc.Label("Region", className="small mb-1"),
                    dcc.Dropdown(id=ids("region"), options=list(workload.REGIONS), value=workload.REGIONS[0], clearable=False),
                ],
                md=3,
            ),
            dbc.Col(
                [
                    dbc.Label("Rows in the dataset (≈ characters stored)", className="small mb-1 mt-2"),
                    dbc.RadioItems(
                        id=ids("rows"),
                        options=[{"label": quota.rows_label(n), "value": n} for n in quota.ROW_CHOICES],
                        value=quota.ROW_CHOICES[0],
                        inline=True,
                    ),
                ],
                md=12,
            ),
            dbc.Col(
                [
                    dbc.Button("Write to store", id=ids("write"), color="primary", className="me-2"),
                    dbc.Button("Clear all three", id=ids("clear"), color="secondary", outline=True),
                ],
                md=12,
                className="mt-1",
            ),
        ],
        className="g-2 mb-2",
    )
    demo = html.Div(
        [
            controls,
            html.Div(id=ids("status"), className="small text-muted"),
            html.Div(id=ids("error")),
            html.Div(dcc.Markdown(id=ids("verdict")), id=ids("verdict-box"), className="bs-verdict d-none"),
            html.H2("What survives, as documented and as found in this browser", className="h6 mt-2"),
            dcc.Markdown(id=ids("table"), className="bs-table"),
            html.H2("What each store holds now (a server callback reads each store as Input)", className="h6"),
            dbc.Row([store_card(kind) for kind in quota.KINDS], className="g-2 mb-2"),
            *[dcc.Store(id=ids(kind), storage_type=kind) for kind in quota.KINDS],
            dcc.Store(id=ids("attempt")),
            dcc.Store(id=ids("boot"), data=True),
            dcc.Store(id=ids("found")),
            dcc.Store(id=ids("writes"), data={}),
            dcc.Store(id=ids("claims"), data={k: {**quota.SURVIVAL[k], "key": ids(k)} for k in quota.KINDS}),
        ]
    )
    return strategy.page(
        META,
        demo,
        instruments.panel(SLUG),
        source_panel(__name__),
        what="dcc.Store holds JSON in the browser. With storage_type='memory' it lives in the page and is gone on "
        "reload; 'session' copies it to sessionStorage, which survives a reload of this tab but not a new tab; "
        "'local' copies it to localStorage, shared by every tab of this site and kept after the browser closes. "
        "Either way the data is sent back up with every callback that names the store as Input or State. "
        "Web storage is small — about 5 M characters per site in Chromium, 2.5 M in Safari — and dcc.Store writes "
        "to it without a try/catch: past the quota the browser throws, nothing is saved, and the page carries on "
        "as if it had been. This page checks the browser after every write and tells you.",
        when="Per-user state that is small: choices, filters, a selected id, a few hundred rows; 'local' for "
        "preferences that should outlive the session.",
        when_not="Anything that can reach megabytes, or data the user must not be able to read or edit: keep it on "
        "the server and put only a key in the store (session cache, serverside).",
    )


@callback(
    Output(ids("memory"), "data"),
    Output(ids("session"), "data"),
    Output(ids("local"), "data"),
    Output(ids("attempt"), "data"),
    Output(ids("error"), "children"),
    Input(ids("write"), "n_clicks"),
    State(ids("target"), "value"),
    State(ids("rows"), "value"),
    State(ids("region"), "value"),
    prevent_initial_call=True,
    running=[
        (Output(ids("write"), "disabled"), True, False),
        (Output(ids("status"), "children"), "Running the expensive step and sending the frame down…", ""),
    ],
)
def write_store(_n, kind, rows, region):
    lab = stores.current()
    try:
        kind, rows, region = quota.check_kind(kind), choices.rows(rows, quota.ROW_CHOICES), choices.region(region)
        cleaned = workload.expensive_step(rows, region, delay=lab.settings.compute_delay)
    except (workload.WorkloadError, BadPayload) as exc:
        return no_update, no_update, no_update, no_update, dbc.Alert(f"Cannot write: {exc}", color="warning", className="small")
    lab.count("compute", SLUG)
    data = quota.envelope(cleaned, kind, rows, region)
    written = [data if k == kind else no_update for k in quota.KINDS]
    return *written, quota.attempt(data, ids(kind)), None


def store_consumer(kind: str) -> None:
    @callback(Output(ids(f"{kind}-view"), "children"), Input(ids(kind), "data"))
    def show_store(data):
        if data is None:
            return quota.empty_view()
        try:
            facts, frame = quota.parse_stored(data)
        except BadPayload as exc:
            return quota.rejected(exc, kind)
        return quota.stored_view(facts, workload.summary(frame))


for store_kind in quota.KINDS:
    store_consumer(store_kind)


# All in the browser, no request: what web storage held when the page loaded...
clientside_callback(
    ClientsideFunction(namespace="browserStore", function_name="snapshot"),
    Output(ids("found"), "data"),
    Input(ids("boot"), "data"),
    State(ids("memory"), "data"),
    State(ids("claims"), "data"),
)
# ...whether the last write really reached it (dcc.Store does not say when it fails)...
clientside_callback(
    ClientsideFunction(namespace="browserStore", function_name="check"),
    Output(ids("verdict"), "children"),
    Output(ids("verdict-box"), "className"),
    Output(ids("writes"), "data"),
    Input(ids("attempt"), "data"),
    State(ids("memory"), "data"),
    State(ids("session"), "data"),
    State(ids("local"), "data"),
    State(ids("writes"), "data"),
    prevent_initial_call=True,
)
# ...the table of claims against findings...
clientside_callback(
    ClientsideFunction(namespace="browserStore", function_name="table"),
    Output(ids("table"), "children"),
    Input(ids("found"), "data"),
    Input(ids("writes"), "data"),
    State(ids("claims"), "data"),
)
# ...what a card shows is only in page memory when its write did not persist...
clientside_callback(
    ClientsideFunction(namespace="browserStore", function_name="notes"),
    *[Output(ids(f"{kind}-note"), "children") for kind in quota.KINDS],
    Input(ids("writes"), "data"),
)
# ...and clearing all three stores (dcc.Store removes the keys from web storage), verdict included.
clientside_callback(
    ClientsideFunction(namespace="browserStore", function_name="clear"),
    Output(ids("memory"), "clear_data"),
    Output(ids("session"), "clear_data"),
    Output(ids("local"), "clear_data"),
    Output(ids("writes"), "data", allow_duplicate=True),
    Output(ids("verdict"), "children", allow_duplicate=True),
    Output(ids("verdict-box"), "className", allow_duplicate=True),
    Input(ids("clear"), "n_clicks"),
    prevent_initial_call=True,
)
