"""report.html: one self-contained file per report (plotly.js inlined once), rendered from Jinja2 templates
(templates/, one stylesheet; reports/templating.py) that escape every value by themselves, in the reader's language:
the /benchmark page's request's, or `python -m bench --lang`'s (i18n.speaking)."""

from __future__ import annotations

import plotly.io as pio

from i18n import N_, _, gettext

from . import charts
from .capacity import capacity_html
from .encodings import encodings_html
from .fmt import DASH
from .l10n import general, number, times, verdict
from .load_targets import shown_targets
from .load_view import memory_lines, outage_line
from .push import push_html
from .rows import rows_in, standard
from .run_words import shown_event, shown_verdict
from .tables import LOAD_COLUMNS, TABLE_COLUMNS, cell, labels, table_rows
from .templating import render
from .verdicts import stampede_lines, targets, verdicts

GROWTH = ("growth-bytes", "growth-latency", "growth-server", "growth-browser")
EVENTS_SHOWN = 120
# The load's event kinds (bench/load/analysis.py writes them in report.json) as a reader reads them.
EVENT_KINDS = {"error": N_("error"), "stale": N_("stale"), "leak": N_("leak"), "unverified": N_("unverified"),
               "unanswered": N_("unanswered")}


def _has_data(name: str, results: list[dict]) -> bool:
    """Whether a chart would show anything: the report leaves out the ones that would be empty."""
    shown = standard(results)
    if name in GROWTH:
        return len(rows_in(shown)) > 1
    if name == "latency":
        return any(r.get("latency_ms_p50") is not None for r in shown)
    if name in ("bytes", "workers"):
        return bool(shown)
    return True


def _inline(figures: dict) -> dict[str, str]:
    """Each figure as an HTML fragment; plotly.js goes in once, with the first one."""
    out, first = {}, True
    for name, fig in figures.items():
        out[name] = pio.to_html(fig, include_plotlyjs=first, full_html=False, div_id=f"chart-{name}",
                                config={"displaylogo": False, "responsive": True})
        first = False
    return out


def _known(value, unit: str = "") -> str:
    if value in (None, "", "?"):
        return _("unknown")
    return f"{number(value) if isinstance(value, (int, float)) else value}{unit}"


def _workers(cfg: dict) -> str:
    if cfg.get("workers"):
        return _("%(workers)s workers", workers=number(cfg["workers"]))
    if cfg.get("workers_observed"):
        return _("%(workers)s workers seen", workers=number(cfg["workers_observed"]))
    return _("workers unknown")


def _standard_rows(results: list[dict]) -> list[dict]:
    out = []
    for r, row in zip(results, table_rows(results), strict=True):
        bad = (r.get("stale_reads") or 0) + (r.get("leaks") or 0)
        cls = "bad" if bad else ("floor" if r.get("kind") == "baseline" else "")
        out.append({"cls": cls, "cells": [cell(k, row[k]) for k, _label in TABLE_COLUMNS]})
    return out


def compression_rows(results: list[dict]) -> list[list[str]]:
    """Bytes as deployed, per standard result: the upload (raw), the download on the wire and decoded, their ratio."""
    out = []
    for r in standard(results):
        if r.get("response_bytes") is None:
            continue
        out.append([r["strategy"], cell("rows", r.get("rows")), r.get("content_encoding") or DASH,
                    cell("request_bytes", r.get("request_bytes")), cell("response_bytes_wire", r.get("response_bytes_wire")),
                    cell("response_bytes", r.get("response_bytes")), times(r.get("compression_down"))])
    return out


def _measured(ratio) -> str:
    return DASH if ratio is None else general(ratio, 4)


def standard_html(report: dict) -> str:
    cfg, results = report["config"], report["results"]
    figures = {name: fig for name, fig in charts.all_figures(results).items() if _has_data(name, results)}
    machine = cfg.get("machine") or {}
    delay = cfg.get("compute_delay")
    return render(
        "standard.html.j2", cfg=cfg, results=results, schema=report.get("schema", ""),
        rows=", ".join(number(n) for n in cfg.get("rows", [])), workers=_workers(cfg),
        compute_delay=_known(None if delay is None else general(delay), " s"), dash_version=_known(cfg.get("dash_version")),
        cpus=_known(machine.get("cpus")), python=_known(machine.get("python")), created=_known(report.get("created")),
        took=_known(report.get("seconds"), " s"), skipped=cfg.get("skipped") or {},
        columns=labels(TABLE_COLUMNS), table=_standard_rows(results), compression=compression_rows(results),
        verdicts=verdicts(report), charts=_inline(figures), growth=list(GROWTH), stampede=stampede_lines(report),
        growth_empty=_("Growth curves need at least two row counts: this run measured one.") if standard(results) else "",
        targets=[{**t, "measured": _measured(t["ratio"]), "verdict": verdict(t["met"])} for t in targets(report)],
    )


def _load_cell(key: str, r: dict) -> str:
    if key == "passed":
        return "✓" if r["passed"] else "✗"
    value = r.get(key)
    return value if isinstance(value, str) else number(value)


def _events(report: dict) -> list[dict]:
    return [{**e, "message": shown_event(e), "kind": gettext(EVENT_KINDS[e["kind"]]) if e.get("kind") in EVENT_KINDS else e.get("kind"),
             "in_window": _("yes") if e.get("in_window") else _("no")} for e in (report.get("events") or [])[:EVENTS_SHOWN]]


def load_html(report: dict) -> str:
    cfg, results = report["config"], report["results"]
    outage = report.get("outage")
    columns = [c for c in LOAD_COLUMNS if outage is not None or c[0] != "errors_outside_window"]
    figures = {"latency": charts.load_latency(results), "timeline": charts.load_timeline(report),
               "memory": charts.load_memory(report)}
    return render(
        "load.html.j2", cfg=cfg, results=[{**r, "verdict": shown_verdict(r, outage is not None)} for r in results], schema=report.get("schema", ""), passed=report.get("passed"),
        cpus=(cfg.get("machine") or {}).get("cpus"), created=str(report.get("created", "")),
        skipped=cfg.get("skipped") or {}, columns=labels(columns),
        table=[{"passed": r["passed"], "cells": [_load_cell(k, r) for k, _label in columns]} for r in results],
        charts=_inline(figures), outage=outage, outage_line=outage_line(report) if outage is not None else "",
        memory=memory_lines(report), events=_events(report), events_total=report.get("events_total"),
        targets=[{**t, "measured": t["ratio"] if isinstance(t["ratio"], str) else number(t["ratio"]),
                  "verdict": verdict(t["met"], missed=N_("MISSED"))} for t in shown_targets(report)],
        sessions=number(cfg["sessions"]), duration=general(cfg["duration_s"]), think=general(cfg["think_s"]),
        first_rows=number(cfg["rows"][0]), requests_sent=number(cfg["requests_sent"]), budget=number(cfg["max_requests"]),
    )


def to_html(report: dict) -> str:
    """One file, no network needed: a scenario's own page (load, capacity, encodings, push), or the standard one."""
    scenario = report["config"].get("scenario")
    if scenario == "capacity":
        return capacity_html(report)
    if scenario == "encodings":
        return encodings_html(report)
    if scenario == "push":
        return push_html(report)
    return load_html(report) if scenario == "load" else standard_html(report)
