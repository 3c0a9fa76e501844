"""Measured numbers for the home catalogue: what each strategy cost in a real benchmark run.

The source is the latest run the /benchmark page kept in the store (this server, its
settings), or, before anyone has run it here, the reference run committed with the site
(docs/bench/default/report.json). The catalogue says which one it shows.
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass
from pathlib import Path

from dash import html

import stores
from bench import report as reports
from components import bench_job

log = logging.getLogger(__name__)

REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "bench" / "default" / "report.json"
PREFERRED_ROWS = 10_000
# The bytes bar spans 100 B to 10 MB on a log scale: every strategy fits, differences stay visible.
BAR_FLOOR, BAR_CEILING = 2.0, 7.0


@dataclass
class Measured:
    source: str  # "latest" (run here, from /benchmark) or "reference" (committed with the site)
    rows: int
    created: str
    by_strategy: dict  # slug -> the report's result row
    workers: int | None = None


def load(lab=None) -> Measured | None:
    """The numbers to show, or None when neither a run here nor the reference run can be read."""
    report, source = None, "latest"
    try:
        report = bench_job.latest(lab or stores.current())
    except stores.StoreError as exc:  # the catalogue still renders; it shows the reference run
        log.warning("latest benchmark run not readable: %s", exc)
    if report is None:
        source = "reference"
        try:
            report = _reference(REFERENCE.stat().st_mtime_ns)
        except (OSError, ValueError, reports.ReportError) as exc:
            log.warning("reference benchmark run not readable: %s", exc)
            return None
    return pick(report, source)


@functools.lru_cache(maxsize=2)
def _reference(_mtime_ns: int) -> dict:
    """The committed reference run, parsed once per process (and again if the file changes)."""
    return reports.load(REFERENCE)


def pick(report: dict, source: str) -> Measured | None:
    """One row count of a standard run: 10,000 rows when measured, else the largest there is."""
    standard = [r for r in report.get("results", []) if r.get("scenario", "standard") == "standard"]
    counts = sorted({r["rows"] for r in standard if isinstance(r.get("rows"), int)})
    if not counts:
        return None
    rows = PREFERRED_ROWS if PREFERRED_ROWS in counts else counts[-1]
    chosen = {r["strategy"]: r for r in standard if r["rows"] == rows}
    config = report.get("config") or {}
    workers = config.get("workers_observed") or config.get("workers")
    return Measured(source, rows, str(report.get("created", ""))[:16].replace("T", " "), chosen, workers)


def cell(row: dict | None) -> html.Td:
    """p50 latency and bytes per interaction in one cell, over a log-scale bar of the bytes."""
    if row is None or row.get("request_bytes") is None:
        return html.Td("–", className="text-muted")
    total = int(row["request_bytes"]) + int(row["response_bytes"])
    ms = row.get("latency_ms_p50")
    # No latency: nothing was sent, the interaction ran in the browser.
    speed = "in the browser" if ms is None else f"{ms:,.0f} ms"
    scale = (math.log10(max(total, 1)) - BAR_FLOOR) / (BAR_CEILING - BAR_FLOOR)
    width = f"{max(0.0, min(1.0, scale)) * 100:.0f}%"
    return html.Td(
        html.Div(
            [
                html.Div([html.Span(speed, className="lab-ms"), " · ", html.Span(reports.human_bytes(total))],
                         className="lab-measured-figures"),
                html.Div(html.Div(className="lab-bytes-fill", style={"width": width}), className="lab-bytes-bar"),
            ],
            title=f"p50 {speed} per interaction; {int(row['request_bytes']):,} B up, "
            f"{int(row['response_bytes']):,} B down",
        ),
        className="text-nowrap",
        **{"data-bytes": str(total), "data-ms": "" if ms is None else f"{ms}"},
    )


def caption(measured: Measured | None) -> html.Div:
    if measured is None:
        return html.Div("No benchmark run is readable yet: run one on the benchmark page.", className="small text-muted")
    where = (
        f"the latest run on this server ({measured.created} UTC, from the benchmark page)"
        if measured.source == "latest"
        else f"the reference run committed with the site ({measured.created} UTC, docs/bench/default) — run the "
        "benchmark page to measure this server"
    )
    return html.Div(
        f"Measured: p50 latency and bytes up + down per interaction at {measured.rows:,} rows"
        f"{f', {measured.workers} workers' if measured.workers else ''}, from {where}. The bar is logarithmic (100 B to 10 MB).",
        className="small text-muted mt-2 lab-measured-caption",
        **{"data-source": measured.source, "data-rows": str(measured.rows)},
    )
