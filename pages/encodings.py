import time

import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, Patch, State, callback, clientside_callback, dcc, html, no_update
from flask import request

import choices
import workload
from components import instruments, payload, strategy
from components.ids import Ids
from components.source import source_panel
from i18n import _
from stores.codec import BadPayload
from strategies.encodings import STRATEGY

dash.register_page(__name__, **STRATEGY.page_args())
META = STRATEGY.meta()
ids = Ids(META["slug"])
SLUG = META["slug"]
instruments.register_counters(SLUG, ())  # nothing cached or computed once: the figures are in the table
STRATEGIES = tuple(payload.SENDS_UP)


def strategy_labels() -> dict[str, str]:
    """The strategies' radio labels, in the visitor's language."""
    return {"hidden-div": _("hidden div (4 consumers send it back up)"), "browser-store": _("dcc.Store (1 consumer)"),
            "patch": _("Patch (appended, nothing up)"), "clientside": _("clientside (loaded once, nothing up)")}


def encoding_labels() -> dict[str, str]:
    """components.payload.ENCODING_LABELS in the visitor's language (an encoding not listed here: its label as is)."""
    own = {"records": _("records (Dash's serializer)"), "columns": _("columnar JSON"),
           "gzip-b64": _("gzip + base64 of columnar JSON")}
    return {key: own.get(key, str(label)) for key, label in payload.ENCODING_LABELS.items()}


def advice_rows() -> list[tuple[str, str, str]]:
    """Which to use when: the page's answer, from the committed run (README, docs/bench/encodings) and this table."""
    return [
        (_("Most apps, any size"), "columns",
         _("Columnar JSON: a list per column. Several times faster for the server to serialize than records "
           "(Dash's encoder walks every row's dict), about half the bytes decoded, and nothing to decode in the browser "
           "beyond what the renderer already parses. Compression on the wire (brotli) takes it down further.")),
        (_("The payload goes back up (hidden div, dcc.Store as Input or State)"), "gzip-b64",
         _("gzip + base64: uploads are never compressed by the browser, so a 4-consumer hidden div sends the raw JSON up "
           "four times; a compressed string is a fraction of it each time. It costs server time to pack and a "
           "DecompressionStream in the browser.")),
        (_("Small payloads (about 1,000 rows or less)"), "records",
         _("Records are fine: milliseconds either way, and the code that reads df.to_dict('records') is the simplest.")),
        (_("Patch appends"), "columns",
         _("Columnar: Patch can extend each column's list; a compressed string can only be appended as a whole chunk.")),
    ]


def controls() -> dbc.Row:
    def radio(name: str, label: str, options: dict, value) -> dbc.Col:
        return dbc.Col([dbc.Label(label, className="small mb-1"),
                        dbc.RadioItems(id=ids(name), options=[{"label": v, "value": k} for k, v in options.items()],
                                       value=value, className="small")], md=4)

    return dbc.Row(
        [
            radio("strategy", _("Strategy"), strategy_labels(), "hidden-div"),
            radio("encoding", _("Encoding"), encoding_labels(), "records"),
            radio("rows", _("Rows"), {n: f"{n:,}" for n in workload.ROW_CHOICES}, workload.ROW_CHOICES[0]),
        ],
        className="g-2 mb-2",
    )


def advice() -> dbc.Card:
    # A list, not a table: the reasons are sentences, and on a phone a three-column table squeezes them to words.
    items = [html.Li([html.B(case), " → ", html.Code(choice), html.Div(why, className="small text-muted")], className="mb-2",
                     **{"data-encoding": choice}) for case, choice, why in advice_rows()]
    return dbc.Card(
        [dbc.CardHeader(_("Which to use when"), className="fw-semibold"),
         dbc.CardBody(html.Ul(items, className="mb-0 ps-3"))],
        className="lab-card mb-3", id=ids("advice"),
    )


def table_texts() -> dict[str, str]:
    """The texts assets/encodings.js writes into the table of runs ({problem}: the browser's error message)."""
    return {
        "empty": _("No run yet: choose a strategy, an encoding and a row count, then press Run."),
        "strategy": _("strategy"), "encoding": _("encoding"), "rows": _("rows"), "serialize_ms": _("serialize ms"),
        "up": _("up"), "down_wire": _("down (wire)"), "down_decoded": _("down (decoded)"), "decode_ms": _("decode ms"),
        "none": _("none"), "failed": _("failed: {problem}"),
    }


def layout(**_query):
    texts = table_texts()
    demo = html.Div(
        [
            controls(),
            dbc.Button(_("Run"), id=ids("run"), color="primary", size="sm", className="mb-2"),
            html.Div(id=ids("status"), className="small text-muted mb-1"),
            html.Div(id=ids("error")),
            html.Div(dcc.Markdown(texts["empty"], id=ids("table"), className="small"),
                     className="enc-runs", tabIndex="0", role="region", **{"aria-label": _("Runs of this tab")}),
            html.P(_("Bytes up are the request bodies as sent (browsers never compress them), times the requests that "
                     "carry the payload back up. Down (wire) is the answer's body as it crossed the network, compressed as "
                     "deployed (Resource Timing's encodedBodySize); decoded is the JSON the renderer parsed. Decode ms: the "
                     "browser turning the value into one array per column (performance.now()), DecompressionStream "
                     "included."),
                   className="small text-muted"),
            advice(),
            dcc.Store(id=ids("go")),
            dcc.Store(id=ids("payload")),
            dcc.Store(id=ids("server")),
            dcc.Store(id=ids("decoded")),
            dcc.Store(id=ids("upload")),
            dcc.Store(id=ids("consumed")),
            dcc.Store(id=ids("shown")),
            dcc.Store(id=ids("texts"), data=texts),
            dcc.Interval(id=ids("tick"), interval=1000),
        ]
    )
    return strategy.page(
        META,
        demo,
        instruments.panel(SLUG),
        source_panel(__name__),
        what=_("One producer callback turns the workload's frame into a callback value in the chosen encoding and "
               "returns it to a dcc.Store (timed: the encoding plus Dash's own to_json, what the server does before a "
               "byte leaves). A clientside callback decodes it into columns, timed in the browser; for the hidden div and "
               "the store, a consumer callback then takes the value back up as a real request, as their consumers do. "
               "Patch sends the rows as dash.Patch operations onto an empty value."),
        when=_("Choose the encoding with the strategy: columnar JSON by default; compressed when the payload travels up."),
        when_not=_("Do not ship a frame at all when the consumers need only aggregates or a key (aggregates, "
                   "serverside)."),
    )


# In the browser: a run starts from the controls (Patch gets an empty value of the encoding's shape to extend).
clientside_callback(
    ClientsideFunction(namespace="encodings", function_name="start"),
    Output(ids("go"), "data"),
    Output(ids("payload"), "data", allow_duplicate=True),
    Input(ids("run"), "n_clicks"),
    State(ids("strategy"), "value"),
    State(ids("encoding"), "value"),
    State(ids("rows"), "value"),
    prevent_initial_call=True,
)


def _patched(value, encoding: str) -> Patch:
    """The value as Patch operations onto the empty value start() set: extend each list, or append the chunk."""
    patch = Patch()
    if encoding == "records":
        patch.extend(value)
    elif encoding == "columns":
        patch["columns"] = value["columns"]
        patch["data"] = value["data"]
    else:
        patch.append(value)
    return patch


@callback(
    Output(ids("payload"), "data"),
    Output(ids("server"), "data"),
    Output(ids("error"), "children"),
    Input(ids("go"), "data"),
    # running= values are fixed when the callback is registered (no request, no language): this one stays English.
    running=[(Output(ids("run"), "disabled"), True, False), (Output(ids("status"), "children"), "Serializing…", "")],
    prevent_initial_call=True,
)
def produce(go):
    try:
        if not isinstance(go, dict):
            raise choices.Refused(_("a run needs its strategy, encoding and rows"))
        kind = choices.one_of(go.get("strategy"), STRATEGIES, "strategy")
        encoding = choices.one_of(go.get("encoding"), payload.ENCODINGS, "encoding")
        rows = choices.rows(go.get("rows"))  # only the page's own row counts
        run = go.get("run") if isinstance(go.get("run"), int) else 0
        run_id = str(go.get("id", ""))[:40]
    except workload.WorkloadError as exc:
        return no_update, no_update, dbc.Alert(_("Cannot run: %(reason)s", reason=exc), color="warning", className="small py-2")
    value, ms, size = payload.timed_encode(workload.dataset(rows), encoding)
    info = {"run": run, "id": run_id, "strategy": kind, "encoding": encoding, "rows": rows, "serialize_ms": round(ms, 1),
            "json_bytes": size, "consumers": payload.SENDS_UP[kind]}
    return (_patched(value, encoding) if kind == "patch" else value), info, None


# In the browser: decode into columns, timed; a strategy whose consumers send it up then does so.
clientside_callback(
    ClientsideFunction(namespace="encodings", function_name="decode"),
    Output(ids("decoded"), "data"),
    Output(ids("upload"), "data"),
    Input(ids("server"), "data"),
    State(ids("payload"), "data"),
    prevent_initial_call=True,
)


@callback(
    Output(ids("consumed"), "data"),
    Output(ids("error"), "children", allow_duplicate=True),
    Input(ids("upload"), "data"),
    State(ids("payload"), "data"),
    State(ids("server"), "data"),
    prevent_initial_call=True,
)
def consume(upload, value, server):
    """A consumer: the payload came back up with this request; parse it as the strategy's consumers would."""
    try:
        encoding = choices.one_of((server or {}).get("encoding"), payload.ENCODINGS, "encoding")
        started = time.perf_counter()
        frame = payload.decode(value, encoding)
    except (workload.WorkloadError, BadPayload) as exc:
        return no_update, payload.rejected(BadPayload(str(exc)), _("The consumer's input"))
    ms = (time.perf_counter() - started) * 1000
    run_id = str((upload or {}).get("id", ""))[:40] if isinstance(upload, dict) else ""
    return {"id": run_id, "parse_ms": round(ms, 1), "rows": len(frame), "up_bytes": request.content_length or 0}, None


clientside_callback(
    ClientsideFunction(namespace="encodings", function_name="show"),
    Output(ids("table"), "children"),
    Output(ids("shown"), "data"),
    Input(ids("decoded"), "data"),
    Input(ids("consumed"), "data"),
    Input(ids("tick"), "n_intervals"),
    State(ids("server"), "data"),
    State(ids("shown"), "data"),
    State(ids("texts"), "data"),
)
