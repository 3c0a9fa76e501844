"""Layout pieces of the /benchmark page: the run controls, a report (table, verdicts, the
report's charts) and the live-telemetry table."""

from __future__ import annotations

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dash_table, dcc, html
from dash.dash_table.Format import Format, Group

import reports as report
from i18n import _
from reports import charts
from reports.rows import rows_in, standard
from reports.tables import labels
from runtime import bench_job

from .sentence import either, listing

GRAPH_CONFIG = {"displaylogo": False, "responsive": True}
PERCENT_COLUMNS = {"cache_hit_rate"}
TEXT_COLUMNS = {"strategy"}


def progress_bar(ids) -> html.Div:
    """A Bootstrap-styled progress bar with an accessible name (dbc.Progress cannot carry one)."""
    return html.Div(
        html.Div("", id=ids("progress"), className="progress-bar progress-bar-striped progress-bar-animated",
                 role="progressbar", style={"width": "0%"},
                 **{"aria-label": _("Benchmark progress"), "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0"}),
        className="progress mt-3 bench-progress",
    )


def progress_update(share: int | None, label: str, step: str) -> tuple:
    """The values of the progress outputs (bar width, its text, its aria value, the step line)."""
    share = 0 if share is None else max(0, min(100, int(share)))
    return {"width": f"{share}%"}, label, str(share), step


def role_note(is_operator: bool) -> html.Div:
    limits = bench_job.limits_for(is_operator)
    if is_operator:
        text = _("You are the operator: your runs become this site's run — what every visitor and the home catalogue "
                 "show — and may use up to %(sessions)s sessions × %(rounds)s rounds, %(rows)s rows.",
                 sessions=limits.sessions, rounds=limits.rounds, rows=listing([f"{r:,}" for r in limits.rows]))
    else:
        text = _("Visitors may run up to %(sessions)s sessions × %(rounds)s rounds at %(rows)s rows. Your run is shown "
                 "to you only; what others see (and the home catalogue) changes only when the site's operator runs the "
                 "benchmark. One run goes at a time: others wait their turn.",
                 sessions=limits.sessions, rounds=limits.rounds, rows=either([f"{r:,}" for r in limits.rows]))
    return html.Div(text, className="small text-muted mb-2 bench-role", **{"data-role": "operator" if is_operator else "visitor"})


def controls(ids, choices: list[dict], is_operator: bool = False) -> dbc.Card:
    slugs = [c["value"] for c in choices]
    limits = bench_job.limits_for(is_operator)
    # Row counts past this visitor's limits are listed, disabled.
    offered = [{"label": f"{n:,}", "value": n, "disabled": n not in limits.rows} for n in bench_job.ROW_CHOICES]
    rows = dbc.Checklist(id=ids("rows"), options=offered, value=[bench_job.ROW_CHOICES[0]], inline=True, className="bench-rows")
    return dbc.Card(
        dbc.CardBody(
            [
                role_note(is_operator),
                dbc.Row(
                    [
                        # "auto" columns wrap to a new line rather than overlap when the card is narrow.
                        dbc.Col(
                            html.Div(
                                [
                                    html.Div(_("Rows"), id=ids("rows-label"), className="small mb-1 form-label"),
                                    rows,
                                ],
                                role="group",
                                **{"aria-labelledby": ids("rows-label")},
                            ),
                            width="auto",
                        ),
                        dbc.Col(
                            [
                                dbc.Label(_("Sessions"), html_for=ids("sessions"), className="small mb-1"),
                                dbc.Input(id=ids("sessions"), type="number", min=1, max=limits.sessions, step=1, value=4,
                                          size="sm", className="bench-number"),
                            ],
                            width="auto",
                        ),
                        dbc.Col(
                            [
                                dbc.Label(_("Rounds"), html_for=ids("rounds"), className="small mb-1"),
                                dbc.Input(id=ids("rounds"), type="number", min=1, max=limits.rounds, step=1, value=2,
                                          size="sm", className="bench-number"),
                            ],
                            width="auto",
                        ),
                        dbc.Col(
                            [
                                dbc.Button(_("Run benchmark"), id=ids("run"), color="primary", className="me-2"),
                                dbc.Button(_("Cancel"), id=ids("cancel"), color="secondary", outline=True, disabled=True),
                            ],
                            width="auto",
                            className="ms-auto bench-buttons",
                        ),
                    ],
                    className="g-3 align-items-end",
                ),
                # A checklist, not a dropdown: every choice visible at once, and each a labelled checkbox.
                html.Div(
                    [
                        html.Div(_("Strategies"), id=ids("strategies-label"), className="small mb-1 mt-3 form-label"),
                        dbc.Checklist(id=ids("strategies"), options=choices, value=slugs, inline=True,
                                      className="bench-strategies small"),
                    ],
                    role="group",
                    **{"aria-labelledby": ids("strategies-label")},
                ),
                progress_bar(ids),
                html.Div(id=ids("step"), className="small text-muted mt-1 bench-step"),
                html.Div(id=ids("status"), className="small text-muted mt-2"),
            ]
        ),
        className="lab-card mb-3",
    )


def downloads(ids) -> html.Div:
    """JSON, CSV and the self-contained HTML report of the latest run."""
    return html.Div(
        [
            dbc.Button(_("Download JSON"), id=ids("get-json"), size="sm", color="primary", outline=True, className="me-2"),
            dbc.Button(_("Download CSV"), id=ids("get-csv"), size="sm", color="primary", outline=True, className="me-2"),
            dbc.Button(_("Download HTML report"), id=ids("get-html"), size="sm", color="primary", outline=True),
            dcc.Download(id=ids("download")),
        ],
        className="bench-downloads",
    )


def noop_card(noop) -> dbc.Card:
    """The floor every strategy is measured against: a callback that returns its input."""
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(_("The floor"), className="lab-eyebrow"),
                html.P(
                    _("baseline-noop: a callback on this server that does nothing but echo its input. Its latency is the "
                      "framework's own round trip; every strategy row is measured against it."),
                    className="small mb-2",
                ),
                dbc.Button(_("Ping"), id=noop("ping"), size="sm", color="secondary", outline=True, className="me-2"),
                html.Span(_("not pinged yet"), id=noop("pong"), className="small text-muted"),
            ]
        ),
        className="lab-card mb-3",
    )


def _columns() -> list[dict]:
    columns = []
    # By the columns' keys (the result rows' fields): the labels are in the visitor's language.
    names = labels(report.TABLE_COLUMNS)
    for key, _label in report.TABLE_COLUMNS:
        column = {"name": names[key], "id": key}
        if key in PERCENT_COLUMNS:
            column.update(type="numeric", format=Format(precision=0, scheme="%"))
        elif key not in TEXT_COLUMNS:
            column.update(type="numeric", format=Format(group=Group.yes, precision=0, scheme="f"))
        columns.append(column)
    return columns


def results_table(ids, results: list[dict]) -> dash_table.DataTable:
    return dash_table.DataTable(
        id=ids("table"),
        columns=_columns(),
        data=report.table_rows(results),
        sort_action="native",
        page_action="none",
        style_table={"overflowX": "auto", "maxWidth": "100%"},
        style_cell={"fontFamily": "system-ui, sans-serif", "fontSize": 12, "padding": "3px 6px", "textAlign": "right", "minWidth": 48},
        style_cell_conditional=[{"if": {"column_id": "strategy"}, "textAlign": "left", "fontWeight": 600, "minWidth": 130}],
        style_header={"backgroundColor": "#f0f3f9", "fontWeight": 600},
        style_data_conditional=[
            {"if": {"filter_query": "{stale_reads} > 0 || {leaks} > 0"}, "backgroundColor": "#fff1f1", "color": "#9b1c1c"},
            {"if": {"filter_query": '{strategy} = "baseline-noop"'}, "color": "#667085", "fontStyle": "italic"},
        ],
        sort_by=[],
    )


def verdict_cards(result: dict) -> html.Div:
    cards = [
        dbc.Card(
            dbc.CardBody([html.H6(strategy, className="mb-1"), html.Ul([html.Li(line) for line in lines], className="small mb-0")]),
            className="lab-card bench-verdict",
        )
        for strategy, lines in report.verdicts(result).items()
    ]
    return html.Div(cards, className="bench-verdicts")


def _graph(fig, name: str) -> dcc.Graph:
    return dcc.Graph(figure=fig, config=GRAPH_CONFIG, className=f"bench-graph bench-graph-{name}")


def report_view(ids, result: dict | None) -> html.Div:
    """A report as the page shows it; an empty state when there is none yet."""
    if not result:
        return html.Div(
            dbc.Alert(_("No benchmark has run on this site yet: press Run benchmark (a small run takes about a minute)."),
                      color="light", className="mb-0"),
            className="bench-empty",
        )
    cfg, results = result["config"], result["results"]
    figs = charts.all_figures(results)
    skipped = cfg.get("skipped") or {}
    delay = cfg.get("compute_delay")
    meta = _("%(created)s · %(results)s results · rows %(rows)s · %(sessions)s sessions × %(rounds)s rounds · "
             "%(backend)s · compute delay %(delay)s · %(workers)s workers · took %(seconds)s s",
             created=result.get("created", ""), results=len(results), rows=listing([f"{n:,}" for n in cfg["rows"]]),
             sessions=cfg["sessions"], rounds=cfg["rounds"], backend=cfg.get("backend") or _("unknown backend"),
             delay=_("unknown") if delay is None else f"{delay:g} s",
             workers=cfg.get("workers") or cfg.get("workers_observed") or _("unknown"),
             seconds=result.get("seconds", _("unknown")))
    return html.Div(
        [
            html.Div(meta, className="small text-muted mb-2 bench-meta"),
            html.P(_("Not measured: %(skipped)s", skipped="; ".join(f"{k} — {v}" for k, v in skipped.items())),
                   className="small text-muted") if skipped else None,
            dbc.Card(dbc.CardBody(results_table(ids, results)), className="lab-card mb-3"),
            html.H5(_("What the numbers say"), className="mt-2"),
            verdict_cards(result),
            html.H5(_("Latency and bytes"), className="mt-4"),
            dbc.Row([dbc.Col(dbc.Card(_graph(figs["latency"], "latency"), className="lab-card mb-3"), lg=6),
                     dbc.Col(dbc.Card(_graph(figs["bytes"], "bytes"), className="lab-card mb-3"), lg=6)]),
            html.H5(_("Growth with the data")),
            dbc.Row([dbc.Col(dbc.Card(_graph(figs[f"growth-{m}"], m), className="lab-card mb-3"), lg=6)
                     for m in ("bytes", "latency", "server", "browser")])
            if len(rows_in(standard(results))) > 1
            else html.P(_("Growth curves need at least two row counts: tick more than one under Rows."), className="small text-muted"),
            html.H5(_("Worker hits")),
            dbc.Card(_graph(figs["workers"], "workers"), className="lab-card mb-3"),
            dbc.Card(_graph(figs["stampede"], "stampede"), className="lab-card mb-3") if "stampede" in figs else None,
        ]
    )


def telemetry_table(frame: pd.DataFrame) -> html.Div:
    if frame.empty:
        return dbc.Alert(_("No visitor requests recorded yet: use a strategy page, then refresh."), color="light")
    # runtime.bench_job.visitors' English column names: the ids; the headers in the visitor's language.
    headers = {"strategy": _("strategy"), "requests": _("requests"), "workers hit": _("workers hit"),
               "p50 server ms": _("p50 server ms"), "p95 server ms": _("p95 server ms"), "mean up B": _("mean up B"),
               "mean down B": _("mean down B"), "errors": _("errors"), "last seen": _("last seen")}
    columns = []
    for name in frame.columns:
        column = {"name": headers.get(name, name), "id": name}
        if name not in ("strategy", "last seen"):
            column.update(type="numeric", format=Format(group=Group.yes))
        columns.append(column)
    return dash_table.DataTable(
        columns=columns,
        data=frame.to_dict("records"),
        sort_action="native",
        style_cell={"fontFamily": "system-ui, sans-serif", "fontSize": 13, "padding": "4px 8px", "textAlign": "right"},
        style_cell_conditional=[{"if": {"column_id": "strategy"}, "textAlign": "left", "fontWeight": 600}],
        style_header={"backgroundColor": "#f0f3f9", "fontWeight": 600},
    )
