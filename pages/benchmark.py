import time

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html, no_update
from flask import request

import stores
from bench import report
from components import bench_job, bench_probe, bench_view
from components.ids import Ids
from components.strategy import strategies

dash.register_page(__name__, path="/benchmark", name="Benchmark", title="Benchmark · Dash State Lab", order=200, tool=True)
ids = Ids("benchmark")
noop = Ids("baseline-noop")


def choices() -> list[dict]:
    listed = [{"label": s["title"], "value": s["slug"]} for s in strategies()]
    return [{"label": "baseline-noop (the floor)", "value": bench_probe.BASELINE}, *listed]


def layout(**_query):
    lab = stores.current()
    try:
        latest, trouble = bench_job.latest(lab), None
    except stores.StoreError as exc:
        latest, trouble = None, dbc.Alert(f"Store unavailable, the latest run cannot be shown: {exc}", color="warning")
    run_tab = html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(bench_view.controls(ids, choices()), lg=8),
                    dbc.Col(bench_view.noop_card(noop), lg=4),
                ]
            ),
            html.Div(
                [html.H4("Latest run", className="mb-0 me-3"), bench_view.downloads(ids)],
                className="bench-latest-head",
            ),
            html.Div(id=ids("alert")),
            trouble,
            dcc.Loading(html.Div(bench_view.report_view(ids, latest), id=ids("report")), delay_show=400),
        ],
        className="pt-3",
    )
    live_tab = html.Div(
        [
            html.P(
                [
                    "What this site's real visitors did, per strategy, from the requests telemetry recorded "
                    "(last 6 hours; requests of benchmark runs started here are left out). ",
                    dbc.Button("Refresh", id=ids("refresh"), size="sm", color="secondary", outline=True, className="ms-2"),
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
                    html.Div("Measure", className="lab-eyebrow"),
                    html.H1("Benchmark", className="lab-title"),
                    html.P(
                        "Every strategy on one workload, on this multi-worker server: the harness opens each page as several "
                        "browsers at once and sends exactly the callback requests a browser sends, then reports latency, bytes "
                        "each way, which workers answered, how often the expensive step ran, stale reads and cross-session "
                        "leaks. The same harness runs from the command line: python -m bench --out DIR.",
                        className="lead lab-lead",
                    ),
                ],
                className="lab-header",
            ),
            dbc.Tabs(
                [
                    dbc.Tab(run_tab, label="Run and compare", tab_id="run"),
                    dbc.Tab(live_tab, label="Live telemetry", tab_id="live"),
                ],
                id=ids("tabs"),
                active_tab="run",
            ),
            dcc.Store(id=ids("request")),
            dcc.Store(id=ids("done")),
            dcc.Store(id=ids("probe-ask")),
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
    # The job runs in another process, without the request: capture this server's address now.
    try:
        wanted = bench_job.check_request(rows, sessions, rounds, chosen, [c["value"] for c in choices()])
        wanted["url"] = bench_job.own_url(request.environ, request.host_url)
    except bench_job.JobRefused as exc:
        return no_update, dbc.Alert(f"Cannot run: {exc}", color="warning", className="py-2")
    wanted["asked"] = time.time()
    return wanted, None


@callback(
    Output(ids("done"), "data"),
    Output(ids("status"), "children"),
    Input(ids("request"), "data"),
    background=True,
    prevent_initial_call=True,
    progress=[Output(ids("progress"), "value"), Output(ids("progress"), "label"), Output(ids("step"), "children")],
    progress_default=[0, "", ""],
    running=[(Output(ids("run"), "disabled"), True, False), (Output(ids("cancel"), "disabled"), False, True)],
    cancel=[Input(ids("cancel"), "n_clicks")],
)
def run_benchmark(set_progress, wanted):
    lab = stores.current()
    try:
        result = bench_job.run(lab, wanted, set_progress)
    except (bench_job.JobRefused, stores.StoreError, report.ReportError) as exc:
        return no_update, dbc.Alert(f"The benchmark did not run: {exc}", color="danger", className="py-2 mb-0")
    errors = sum(r.get("errors") or 0 for r in result["results"])
    return {"created": result["created"]}, (
        f"Done in {result['seconds']} s: {len(result['results'])} results"
        + (f", {errors} error(s) — see the table." if errors else ".")
    )


@callback(Output(ids("report"), "children"), Input(ids("done"), "data"), prevent_initial_call=True)
def show_latest(_done):
    try:
        return bench_view.report_view(ids, bench_job.latest(stores.current()))
    except stores.StoreError as exc:
        return dbc.Alert(f"Store unavailable: {exc}", color="warning")


@callback(
    Output(ids("download"), "data"),
    Output(ids("alert"), "children", allow_duplicate=True),
    Input(ids("get-json"), "n_clicks"),
    Input(ids("get-csv"), "n_clicks"),
    Input(ids("get-html"), "n_clicks"),
    prevent_initial_call=True,
)
def download(_json, _csv, _html):
    try:
        latest = bench_job.latest(stores.current())
    except stores.StoreError as exc:
        return no_update, dbc.Alert(f"Store unavailable: {exc}", color="warning", className="py-2")
    if latest is None:
        return no_update, dbc.Alert("No run to download yet: run the benchmark first.", color="info", className="py-2")
    stamp = latest.get("created", "")[:19].replace(":", "").replace("-", "")
    kind = ctx.triggered_id.split("-")[-1]
    writers = {"json": (report.to_json, "application/json"), "csv": (report.to_csv, "text/csv"), "html": (report.to_html, "text/html")}
    write, mime = writers[kind]
    return dcc.send_string(write(latest), f"statelab-bench-{stamp}.{kind}", type=mime), None


@callback(
    Output(ids("telemetry"), "children"),
    Input(ids("tabs"), "active_tab"),
    Input(ids("refresh"), "n_clicks"),
    prevent_initial_call=True,
)
def live(tab, _refresh):
    if tab != "live":
        return no_update
    try:
        return bench_view.telemetry_table(bench_job.visitors(stores.current()))
    except stores.StoreError as exc:
        return dbc.Alert(f"Store unavailable: {exc}", color="warning")


# The floor: a callback that does nothing useful (the benchmark's baseline-noop row).
@callback(Output(noop("pong"), "children"), Input(noop("ping"), "n_clicks"), prevent_initial_call=True)
def pong(n_clicks):
    return f"pong {n_clicks}"


# The harness's read-only window on the server's counters and bytes held.
@callback(Output(ids("probe"), "data"), Input(ids("probe-ask"), "data"), prevent_initial_call=True)
def probe(ask):
    try:
        return bench_probe.snapshot(stores.current(), ask)
    except stores.StoreError as exc:
        return {"error": str(exc)}
