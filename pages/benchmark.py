import secrets

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

import reports as report
import stores
from components import bench_view, operator
from components.ids import Ids
from components.sentence import listing
from components.strategy import strategies
from i18n import N_, _
from reports import capacity as capacity_report
from reports import charts
from runtime import bench_job, bench_pass, bench_probe, bench_runs
from stores import telemetry
from stores.ids import PROBE_ASK_ID, PROBE_ID

dash.register_page(__name__, path="/benchmark", name=N_("Benchmark"), title="Benchmark · Dash State Lab", order=200, tool=True)
ids = Ids("benchmark")
# dcc.Tabs rather than dbc.Tabs: dbc's tabs are links to "#", which screen readers announce as links.
TAB_STYLE = {"padding": "8px 16px", "lineHeight": "1.5"}
TAB_SELECTED = {**TAB_STYLE, "fontWeight": 600}
noop = Ids("baseline-noop")


def choices() -> list[dict]:
    listed = [{"label": s["title"], "value": s["slug"]} for s in strategies()]
    return [{"label": _("baseline-noop (the floor)"), "value": bench_probe.BASELINE}, *listed]


def shown_run(lab, is_op: bool) -> tuple[dict | None, str]:
    """What this browser is shown: its own latest run (a visitor's), else the site's run."""
    own = None if is_op else bench_runs.mine(lab, operator.visitor_id(lab=lab))
    return (own, "mine") if own else (bench_runs.latest(lab), "site")


def report_block(result: dict | None, whose: str) -> html.Div:
    if whose == "mine":
        note = _("Your run: only this browser sees it. Other visitors and the home catalogue keep showing the site's run, "
                 "which only the operator's runs replace.")
    else:
        note = _("The site's run: the operator's latest, the same for every visitor.") if result else None
    return html.Div([html.P(note, className="small text-muted mb-2 bench-whose") if note else None,
                     bench_view.report_view(ids, result)], **{"data-showing": whose})


CAPACITY_COMMAND = ("python -m bench --scenario capacity --strategies baseline-noop,serverside,session-cache,hidden-div,"
                    "peer-dash-extensions --out DIR --publish")


def _verdict(met) -> str:
    """reports.fmt.target_verdict's words ("met", "missed", "not measured") in the visitor's language."""
    return _("not measured") if met is None else (_("met") if met else _("missed"))


def capacity_block(result: dict | None) -> html.Div:
    """The operator's latest capacity report (a CLI run, never a visitor's button): the table, the bars, the lines."""
    if result is None:
        return html.Div([
            html.P(_("No capacity report yet. Measuring capacity loads the server for minutes, so it is the operator's "
                     "action, from the command line:"), className="small text-muted"),
            html.Pre(CAPACITY_COMMAND, className="small"),
        ], className="pt-3")
    cfg = result["config"]
    caps = result.get("capacity") or []
    servers = list(dict.fromkeys(c["server"] for c in caps))
    head = html.Thead(html.Tr([html.Th(_("strategy")), *[html.Th(_("%(server)s (sessions)", server=s)) for s in servers]]))
    body = []
    for strategy in dict.fromkeys(c["strategy"] for c in caps):
        cells = []
        for s in servers:
            c = next((x for x in caps if x["strategy"] == strategy and x["server"] == s), None)
            cells.append(html.Td("–" if c is None else f"{c['capacity_sessions']}{'+' if c['session_bound_reached'] else ''}",
                                 title=None if c is None else c["ended_by"]))
        body.append(html.Tr([html.Td(strategy), *cells]))
    # The targets from the capacities, in the visitor's language (report.json's own are English).
    targets = [html.Li(_("%(target)s: %(verdict)s (%(detail)s)", target=t["target"], verdict=_verdict(t["met"]),
                         detail=t["detail"])) for t in capacity_report.targets(result)]
    graphs = [dcc.Graph(figure=charts.capacity_bars(result), config={"displaylogo": False, "responsive": True},
                        className="bench-graph")]
    graphs += [dcc.Graph(figure=charts.capacity_latency(result, s), config={"displaylogo": False, "responsive": True},
                         className="bench-graph") for s in servers]
    return html.Div([
        html.P(_("Run %(age)s: steps %(steps)s sessions of %(step_s)s s; a step is within the limits while p95 ≤ "
                 "%(p95_limit)s ms and errors ≤ %(error_limit)s %%; capacity = the last step within them (+: the session "
                 "bound ended the ramp). Load from Locust on the same machine: read the generator's CPU beside the "
                 "server's in the report.",
                 age=capacity_report.age(result), steps=listing([str(n) for n in cfg["steps"]]), step_s=format(cfg['step_s'], "g"),
                 p95_limit=format(cfg['p95_limit_ms'], "g"), error_limit=format(100 * cfg['error_limit'], "g")),
               className="small text-muted"),
        html.Div(dbc.Table([head, html.Tbody(body)], size="sm", bordered=False, className="bench-capacity"),
                 style={"overflowX": "auto"}),
        html.Ul(targets, className="small"),
        *graphs,
    ], className="pt-3")


def layout(**_query):
    lab = stores.current()
    is_op = operator.is_operator(lab=lab)
    try:
        (shown, whose), trouble = shown_run(lab, is_op), None
    except stores.StoreError as exc:
        (shown, whose), trouble = (None, "site"), dbc.Alert(_("Store unavailable, the latest run cannot be shown: %(error)s", error=exc),
                                                      color="warning")
    try:
        capacity_tab = capacity_block(bench_runs.latest_capacity(lab))
    except stores.StoreError as exc:
        capacity_tab = dbc.Alert(_("Store unavailable, the capacity report cannot be shown: %(error)s", error=exc), color="warning")
    run_tab = html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(bench_view.controls(ids, choices(), is_op), lg=8),
                    dbc.Col(bench_view.noop_card(noop), lg=4),
                ]
            ),
            html.Div(
                [html.H2(_("Latest run"), className="h4 mb-0 me-3"), bench_view.downloads(ids)],
                className="bench-latest-head",
            ),
            html.Div(id=ids("alert")),
            trouble,
            dcc.Loading(html.Div(report_block(shown, whose), id=ids("report")), delay_show=400),
        ],
        className="pt-3",
    )
    live_tab = html.Div(
        [
            html.P(
                [
                    _("What this site's real visitors did, per strategy, from the requests telemetry recorded: the last "
                      "%(records)s callback requests at most, of the last 6 hours (the benchmark's own requests are left "
                      "out; requests the server refused as malformed are not recorded).",
                      records=format(lab.settings.telemetry_max_records, ",")),
                    " ",
                    dbc.Button(_("Refresh"), id=ids("refresh"), size="sm", color="secondary", outline=True, className="ms-2"),
                    dbc.Button(_("Reset telemetry site-wide"), id=ids("reset-all"), size="sm", color="danger", outline=True,
                               className="ms-2") if is_op else None,
                ],
                className="small text-muted",
            ),
            dcc.Loading(html.Div(id=ids("telemetry")), delay_show=300),
        ],
        className="pt-3",
    )
    return html.Div(
        [
            html.Div(
                [
                    html.Div(_("Measure"), className="lab-eyebrow"),
                    html.H1(_("Benchmark"), className="lab-title"),
                    html.P(
                        _("Every strategy on one workload, on this multi-worker server: the harness opens each page as "
                          "several browsers at once and sends exactly the callback requests a browser sends, then reports "
                          "latency, bytes each way, which workers answered, how often the expensive step ran, stale reads "
                          "and cross-session leaks. The same harness runs from the command line: python -m bench --out DIR. "
                          "Runs from this page use the command line's compute delay (%(page_delay)s s per expensive step) "
                          "where the strategy pages use %(compute_delay)s s, so both measure the same thing.",
                          page_delay=format(bench_pass.page_delay(lab), "g"), compute_delay=format(lab.settings.compute_delay, "g")),
                        className="lead lab-lead",
                    ),
                ],
                className="lab-header",
            ),
            dcc.Tabs(
                [
                    dcc.Tab(run_tab, label=_("Run and compare"), value="run", style=TAB_STYLE, selected_style=TAB_SELECTED),
                    dcc.Tab(live_tab, label=_("Live telemetry"), value="live", style=TAB_STYLE, selected_style=TAB_SELECTED),
                    dcc.Tab(capacity_tab, label=_("Capacity"), value="capacity", style=TAB_STYLE, selected_style=TAB_SELECTED),
                ],
                id=ids("tabs"),
                value="run",
                className="bench-tabs",
            ),
            dcc.Store(id=ids("request")),
            dcc.Store(id=ids("done")),
            dcc.Store(id=PROBE_ASK_ID),
            dcc.Store(id=ids("probe")),
        ]
    )


@callback(
    Output(ids("request"), "data"),
    Output(ids("alert"), "children"),
    Input(ids("run"), "n_clicks"),
    State(ids("rows"), "value"),
    State(ids("sessions"), "value"),
    State(ids("rounds"), "value"),
    State(ids("strategies"), "value"),
    prevent_initial_call=True,
)
def ask(_clicks, rows, sessions, rounds, chosen):
    # A first check, to answer at once; the job checks everything again where it runs.
    is_op = operator.is_operator()
    try:
        wanted = bench_job.check_request(rows, sessions, rounds, chosen, [c["value"] for c in choices()],
                                         bench_job.limits_for(is_op))
    except bench_job.JobRefused as exc:
        return no_update, dbc.Alert(_("Cannot run: %(reason)s", reason=exc), color="warning", className="py-2")
    wanted["nonce"] = secrets.token_hex(8)  # every click is a new job, never a cached result
    return wanted, None


@callback(
    Output(ids("done"), "data"),
    Output(ids("status"), "children"),
    Input(ids("request"), "data"),
    background=True,
    prevent_initial_call=True,
    progress=[Output(ids("progress"), "style"), Output(ids("progress"), "children"),
              Output(ids("progress"), "aria-valuenow"), Output(ids("step"), "children")],
    progress_default=list(bench_view.progress_update(0, "", "")),
    running=[(Output(ids("run"), "disabled"), True, False), (Output(ids("cancel"), "disabled"), False, True)],
    cancel=[Input(ids("cancel"), "n_clicks")],
)
def run_benchmark(set_progress, wanted):
    # A background job: it runs in its own process, outside any request, so its texts (the progress notes, the
    # result line below) stay English; gettext there would answer English anyway.
    lab = stores.current()

    def progress(value):
        set_progress(list(bench_view.progress_update(*value)))

    try:
        is_op = operator.is_operator(lab=lab)  # the cookies Dash captured with the job, re-read where it runs
        result = bench_job.run(lab, wanted, [c["value"] for c in choices()], operator.visitor_id(lab=lab), is_op, progress)
    except (bench_job.JobRefused, stores.StoreError, report.ReportError) as exc:
        return no_update, dbc.Alert(f"The benchmark did not run: {exc}", color="danger", className="py-2 mb-0")
    errors = sum(r.get("errors") or 0 for r in result["results"])
    whose = "the site's run" if result["config"].get("started_by") == "operator" else "your run, shown to you only"
    return {"created": result["created"]}, (
        f"Done in {result['seconds']} s: {len(result['results'])} results ({whose})"
        + (f", {errors} error(s) — see the table." if errors else ".")
    )


@callback(Output(ids("report"), "children"), Input(ids("done"), "data"), prevent_initial_call=True)
def show_latest(_done):
    lab = stores.current()
    try:
        return report_block(*shown_run(lab, operator.is_operator(lab=lab)))
    except stores.StoreError as exc:
        return dbc.Alert(_("Store unavailable: %(error)s", error=exc), color="warning")


@callback(
    Output(ids("download"), "data"),
    Output(ids("alert"), "children", allow_duplicate=True),
    Input(ids("get-json"), "n_clicks"),
    Input(ids("get-csv"), "n_clicks"),
    Input(ids("get-html"), "n_clicks"),
    prevent_initial_call=True,
)
def download(_json, _csv, _html):
    lab = stores.current()
    try:
        latest, _whose = shown_run(lab, operator.is_operator(lab=lab))
    except stores.StoreError as exc:
        return no_update, dbc.Alert(_("Store unavailable: %(error)s", error=exc), color="warning", className="py-2")
    if latest is None:
        return no_update, dbc.Alert(_("No run to download yet: run the benchmark first."), color="info", className="py-2")
    stamp = latest.get("created", "")[:19].replace(":", "").replace("-", "")
    kind = ctx.triggered_id.split("-")[-1]
    writers = {"json": (report.to_json, "application/json"), "csv": (report.to_csv, "text/csv"), "html": (report.to_html, "text/html")}
    write, mime = writers[kind]
    # The HTML report in this visitor's language (its words, numbers and <html lang>), as python -m bench --lang
    # writes it; the JSON and CSV are the same in every language (English field names).
    text = write(latest)
    return dcc.send_string(text, f"statelab-bench-{stamp}.{kind}", type=mime), None


@callback(
    Output(ids("telemetry"), "children"),
    Input(ids("tabs"), "value"),
    Input(ids("refresh"), "n_clicks"),
    prevent_initial_call=True,
)
def live(tab, _refresh):
    if tab != "live":
        return no_update
    try:
        return bench_view.telemetry_table(bench_job.visitors(stores.current()))
    except stores.StoreError as exc:
        return dbc.Alert(_("Store unavailable: %(error)s", error=exc), color="warning")


# Only rendered for the operator, and checked again here: the button's presence proves nothing.
@callback(
    Output(ids("telemetry"), "children", allow_duplicate=True),
    Input(ids("reset-all"), "n_clicks"),
    prevent_initial_call=True,
)
def reset_all(_clicks):
    lab = stores.current()
    if not operator.is_operator(lab=lab):
        return dbc.Alert(_("Only the site's operator can reset telemetry site-wide."), color="warning")
    try:
        telemetry.reset(lab.store)
        return [dbc.Alert(_("Telemetry reset for every visitor."), color="info", className="py-2"),
                bench_view.telemetry_table(bench_job.visitors(lab))]
    except stores.StoreError as exc:
        return dbc.Alert(_("Store unavailable: %(error)s", error=exc), color="warning")


# The floor: a callback that does nothing useful (the benchmark's baseline-noop row).
@callback(Output(noop("pong"), "children"), Input(noop("ping"), "n_clicks"), prevent_initial_call=True)
def pong(n_clicks):
    return f"pong {n_clicks}"


# The harness's read-only window on the server's counters and bytes held.
@callback(Output(PROBE_ID, "data"), Input(PROBE_ASK_ID, "data"), prevent_initial_call=True)
def probe(ask):
    try:
        return bench_probe.snapshot(stores.current(), ask)
    except stores.StoreError as exc:
        return {"error": str(exc)}
