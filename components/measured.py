"""Measured numbers for the home catalogue: what each strategy cost in a real benchmark run.

Two runs, side by side. The reference run committed with the site (docs/bench/default/report.json)
is always shown. Beside it, the site's latest run on this server — the operator's, since only the
operator's runs from /benchmark become the site's run — when it is comparable: the same row count
and the same compute delay. A visitor's run is kept for that visitor only and never appears here.
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass
from pathlib import Path

from dash import html

import reports
import stores
from runtime import bench_runs

log = logging.getLogger(__name__)

REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "bench" / "default" / "report.json"
PREFERRED_ROWS = 10_000
# The bytes bar spans 100 B to 10 MB on a log scale: every strategy fits, differences stay visible.
BAR_FLOOR, BAR_CEILING = 2.0, 7.0


@dataclass
class Measured:
    source: str  # "reference" (committed with the site) or "latest" (the site's run on this server)
    rows: int
    created: str
    by_strategy: dict  # slug -> the report's result row
    workers: int | None = None
    compute_delay: float | None = None
    server: Measured | None = None  # the comparable run on this server, beside the reference
    server_note: str | None = None  # why no run of this server is shown beside it


def load(lab=None) -> Measured | None:
    """The reference run, with the comparable run of this server attached; None when unreadable."""
    try:
        reference = pick(_reference(REFERENCE.stat().st_mtime_ns), "reference")
    except (OSError, ValueError, reports.ReportError) as exc:
        log.warning("reference benchmark run not readable: %s", exc)
        reference = None
    try:
        latest = bench_runs.latest(lab or stores.current())
    except stores.StoreError as exc:  # the catalogue still renders the reference run
        log.warning("latest benchmark run not readable: %s", exc)
        latest = None
    if reference is None:
        return pick(latest, "latest") if latest else None
    if latest is None:
        reference.server_note = ("No run on this server yet: the operator's runs from the benchmark page appear here, "
                                 f"beside the reference, when they measure {reference.rows:,} rows at a "
                                 f"{_delay(reference.compute_delay)} compute delay.")
        return reference
    server = pick(latest, "latest", rows=reference.rows)
    if server is None or server.compute_delay != reference.compute_delay:
        measured_rows = ", ".join(f"{n:,}" for n in (latest.get("config") or {}).get("rows") or []) or "unknown"
        reference.server_note = (f"This server's latest run ({_created(latest)} UTC: rows {measured_rows}, compute delay "
                                 f"{_delay((latest.get('config') or {}).get('compute_delay'))}) is not comparable with the "
                                 f"reference ({reference.rows:,} rows, {_delay(reference.compute_delay)}), so it is not "
                                 "shown here; the benchmark page shows it.")
        return reference
    reference.server = server
    return reference


def _delay(seconds) -> str:
    return "unknown" if seconds is None else f"{seconds:g} s"


def _created(report: dict) -> str:
    return str(report.get("created", ""))[:16].replace("T", " ") or "unknown"


@functools.lru_cache(maxsize=2)
def _reference(_mtime_ns: int) -> dict:
    """The committed reference run, parsed once per process (and again if the file changes)."""
    return reports.load(REFERENCE)


def pick(report: dict, source: str, rows: int | None = None) -> Measured | None:
    """One row count of a standard run: `rows` if given (None when not measured), else 10,000 rows
    when measured, else the largest there is."""
    standard = [r for r in report.get("results", []) if r.get("scenario", "standard") == "standard"]
    counts = sorted({r["rows"] for r in standard if isinstance(r.get("rows"), int)})
    if not counts or (rows is not None and rows not in counts):
        return None
    if rows is None:
        rows = PREFERRED_ROWS if PREFERRED_ROWS in counts else counts[-1]
    chosen = {r["strategy"]: r for r in standard if r["rows"] == rows}
    config = report.get("config") or {}
    workers = config.get("workers_observed") or config.get("workers")
    return Measured(source, rows, _created(report), chosen, workers, config.get("compute_delay"))


def cell(row: dict | None, run: str = "reference") -> html.Td:
    """p50 latency and bytes per interaction in one cell, over a log-scale bar of the bytes."""
    if row is None or row.get("request_bytes") is None:
        return html.Td("–", className="text-muted", **{"data-run": run})
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
        **{"data-bytes": str(total), "data-ms": "" if ms is None else f"{ms}", "data-run": run},
    )


def caption(measured: Measured | None) -> html.Div:
    if measured is None:
        return html.Div("No benchmark run is readable yet: run one on the benchmark page.", className="small text-muted")
    workers = f"{measured.workers} workers" if measured.workers else "workers unknown"
    if measured.source == "reference":
        first = (f"Measured: p50 latency and bytes up + down per interaction at {measured.rows:,} rows, compute delay "
                 f"{_delay(measured.compute_delay)}. Reference: the run committed with the site ({measured.created} UTC, "
                 f"{workers}, docs/bench/default).")
    else:
        first = (f"Measured: p50 latency and bytes up + down per interaction at {measured.rows:,} rows, compute delay "
                 f"{_delay(measured.compute_delay)}, from this server's latest run ({measured.created} UTC, {workers}).")
    server = measured.server
    second = (f" This server: the operator's latest run here ({server.created} UTC, "
              f"{f'{server.workers} workers' if server.workers else 'workers unknown'}), same rows and delay."
              if server else f" {measured.server_note}" if measured.server_note else "")
    return html.Div(
        first + second + " The bar is logarithmic (100 B to 10 MB).",
        className="small text-muted mt-2 lab-measured-caption",
        **{"data-source": measured.source, "data-rows": str(measured.rows), "data-server": "yes" if server else "no"},
    )
