import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, dcc, html, no_update

import choices
import stores
import workload
from components import instruments, quota, strategy
from components.ids import Ids
from components.source import source_panel
from i18n import _
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


def js_texts() -> dict:
    """What assets/browser-store.js writes, in the visitor's language; {name}s are filled in by the JS."""
    return {
        "empty": _("empty"),
        "foundOther": _("**something else** ({size}, not written by this page)"),
        "foundRows": _("**{rows} rows** ({region}), {size}, written {time}"),
        "writeMemory": _("{rows} rows kept in page memory only"),
        "writePersisted": _("persisted: {rows} rows, {size}"),
        "writeRefused": _("**NOT persisted**: {size} refused (quota exceeded)"),
        "checkMemory": _(
            "**Written to page memory.** {size} ({chars} characters), {rows} rows. Nothing is saved anywhere: a reload "
            "or a new tab starts empty."
        ),
        "checkSession": _(
            "**Persisted.** {size} ({chars} characters) in `{area}` under the key `{key}`, {percent} of the ~5 "
            "M-character quota. Reload: it comes back. A new tab: it does not."
        ),
        "checkLocal": _(
            "**Persisted.** {size} ({chars} characters) in `{area}` under the key `{key}`, {percent} of the ~5 "
            "M-character quota. Reload or open a new tab: it comes back."
        ),
        "failQuota": _(
            "**Quota exceeded — the data was NOT persisted.** dcc.Store tried to save **{size}** ({chars} characters, "
            "{rows} rows) in `{area}` under the key `{key}`. The browser allows about {quota} M characters per site and "
            "threw `{reason}`; dcc.Store calls setItem without a try/catch, so nothing told you."
        ),
        "failOther": _(
            "**Write failed — the data was NOT persisted.** dcc.Store tried to save **{size}** ({chars} characters, "
            "{rows} rows) in `{area}` under the key `{key}`. The browser did not keep it ({reason}); dcc.Store calls "
            "setItem without a try/catch, so nothing told you."
        ),
        "noError": _("no error on retry"),
        "reloadPrevious": _(
            "The page still shows the new data because it is in this page's memory, but a reload brings back **the "
            "previous value** ({rows} rows, {region}). For data this size keep it on the server and give the browser "
            "only a key: {links}."
        ),
        "reloadNothing": _(
            "The page still shows the new data because it is in this page's memory, but a reload brings back "
            "**nothing**. For data this size keep it on the server and give the browser only a key: {links}."
        ),
        "or": _("{first} or {second}"),
        "colReload": _("survives reload"),
        "colTab": _("survives a new tab"),
        "colFound": _("found when this page loaded"),
        "colWrite": _("last write from this page"),
        "notPersisted": _("Only in this page's memory: {area} refused these {rows} rows ({size}). A reload will not find them."),
        "cleared": _(
            "**Cleared.** All three stores are empty: dcc.Store removed its keys from sessionStorage and localStorage, "
            "so a reload or a new tab finds nothing. Write again to compare."
        ),
    }


def layout(**_query):
    controls = dbc.Row(
        [
            dbc.Col(
                [
                    dbc.Label(_("Write to"), className="small mb-1"),
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
                    dbc.Label(_("Region"), className="small mb-1"),
                    dcc.Dropdown(id=ids("region"), options=list(workload.REGIONS), value=workload.REGIONS[0], clearable=False),
                ],
                md=3,
            ),
            dbc.Col(
                [
                    dbc.Label(_("Rows in the dataset (≈ characters stored)"), className="small mb-1 mt-2"),
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
                    dbc.Button(_("Write to store"), id=ids("write"), color="primary", className="me-2"),
                    dbc.Button(_("Clear all three"), id=ids("clear"), color="secondary", outline=True),
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
            # The running note is in the layout (a callback's running= value is fixed at import, in English)
            # and shown only while the write runs.
            html.Div(
                html.Span(_("Running the expensive step and sending the frame down…"), id=ids("running"), className="d-none"),
                id=ids("status"),
                className="small text-muted",
            ),
            html.Div(id=ids("error")),
            html.Div(dcc.Markdown(id=ids("verdict")), id=ids("verdict-box"), className="bs-verdict d-none"),
            html.H2(_("What survives, as documented and as found in this browser"), className="h6 mt-2"),
            dcc.Markdown(id=ids("table"), className="bs-table"),
            html.H2(_("What each store holds now (a server callback reads each store as Input)"), className="h6"),
            dbc.Row([store_card(kind) for kind in quota.KINDS], className="g-2 mb-2"),
            *[dcc.Store(id=ids(kind), storage_type=kind) for kind in quota.KINDS],
            dcc.Store(id=ids("attempt")),
            dcc.Store(id=ids("boot"), data=True),
            dcc.Store(id=ids("found")),
            dcc.Store(id=ids("writes"), data={}),
            dcc.Store(id=ids("claims"), data={k: {**quota.SURVIVAL[k], "key": ids(k)} for k in quota.KINDS}),
            # The texts assets/browser-store.js writes, in the visitor's language ({name}: filled in by the JS).
            dcc.Store(id=ids("texts"), data=js_texts()),
        ]
    )
    return strategy.page(
        META,
        demo,
        instruments.panel(SLUG),
        source_panel(__name__),
        what=_(
            "dcc.Store holds JSON in the browser. With storage_type='memory' it lives in the page and is gone on "
            "reload; 'session' copies it to sessionStorage, which survives a reload of this tab but not a new tab; "
            "'local' copies it to localStorage, shared by every tab of this site and kept after the browser closes. "
            "Either way the data is sent back up with every callback that names the store as Input or State. "
            "Web storage is small — about 5 M characters per site in Chromium, 2.5 M in Safari — and dcc.Store writes "
            "to it without a try/catch: past the quota the browser throws, nothing is saved, and the page carries on "
            "as if it had been. This page checks the browser after every write and tells you."
        ),
        when=_(
            "Per-user state that is small: choices, filters, a selected id, a few hundred rows; 'local' for "
            "preferences that should outlive the session."
        ),
        when_not=_(
            "Anything that can reach megabytes, or data the user must not be able to read or edit: keep it on "
            "the server and put only a key in the store (session cache, serverside)."
        ),
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
        (Output(ids("running"), "className"), "", "d-none"),
    ],
)
def write_store(_n, kind, rows, region):
    lab = stores.current()
    try:
        kind, rows, region = quota.check_kind(kind), choices.rows(rows, quota.ROW_CHOICES), choices.region(region)
        cleaned = workload.expensive_step(rows, region, delay=lab.settings.compute_delay)
    except (workload.WorkloadError, BadPayload) as exc:
        return no_update, no_update, no_update, no_update, dbc.Alert(_("Cannot write: %(reason)s", reason=exc), color="warning", className="small")
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
    State(ids("texts"), "data"),
    prevent_initial_call=True,
)
# ...the table of claims against findings...
clientside_callback(
    ClientsideFunction(namespace="browserStore", function_name="table"),
    Output(ids("table"), "children"),
    Input(ids("found"), "data"),
    Input(ids("writes"), "data"),
    State(ids("claims"), "data"),
    State(ids("texts"), "data"),
)
# ...what a card shows is only in page memory when its write did not persist...
clientside_callback(
    ClientsideFunction(namespace="browserStore", function_name="notes"),
    *[Output(ids(f"{kind}-note"), "children") for kind in quota.KINDS],
    Input(ids("writes"), "data"),
    State(ids("texts"), "data"),
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
    State(ids("texts"), "data"),
    prevent_initial_call=True,
)
