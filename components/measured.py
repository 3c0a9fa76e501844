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
from i18n import _
from runtime import bench_runs

from .sentence import listing

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
        reference.server_note = _("No run on this server yet: the operator's runs from the benchmark page appear here, "
                                  "beside the reference, when they measure %(rows)s rows at a %(delay)s compute delay.",
                                  rows=format(reference.rows, ","), delay=_delay(reference.compute_delay))
        return reference
    server = pick(latest, "latest", rows=reference.rows)
    if server is None or server.compute_delay != reference.compute_delay:
        measured_rows = listing([f"{n:,}" for n in (latest.get("config") or {}).get("rows") or []]) or _("unknown")
        reference.server_note = _("This server's latest run (%(created)s UTC: rows %(rows)s, compute delay %(delay)s) is "
                                  "not comparable with the reference (%(reference_rows)s rows, %(reference_delay)s), so it "
                                  "is not shown here; the benchmark page shows it.",
                                  created=_created(latest), rows=measured_rows,
                                  delay=_delay((latest.get("config") or {}).get("compute_delay")),
                                  reference_rows=format(reference.rows, ","), reference_delay=_delay(reference.compute_delay))
        return reference
    reference.server = server
    return reference


def _delay(seconds) -> str:
    return _("unknown") if seconds is None else f"{seconds:g} s"


def _created(report: dict) -> str:
    return str(report.get("created", ""))[:16].replace("T", " ") or _("unknown")


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
    speed = _("in the browser") if ms is None else f"{ms:,.0f} ms"
    scale = (math.log10(max(total, 1)) - BAR_FLOOR) / (BAR_CEILING - BAR_FLOOR)
    width = f"{max(0.0, min(1.0, scale)) * 100:.0f}%"
    return html.Td(
        html.Div(
            [
                html.Div([html.Span(speed, className="lab-ms"), " · ", html.Span(reports.human_bytes(total))],
                         className="lab-measured-figures"),
                html.Div(html.Div(className="lab-bytes-fill", style={"width": width}), className="lab-bytes-bar"),
            ],
            title=_("p50 %(speed)s per interaction; %(up)s B up, %(down)s B down", speed=speed,
                    up=format(int(row['request_bytes']), ","), down=format(int(row['response_bytes']), ",")),
        ),
        className="text-nowrap",
        **{"data-bytes": str(total), "data-ms": "" if ms is None else f"{ms}", "data-run": run},
    )


def _workers(workers: int | None) -> str:
    return _("%(workers)s workers", workers=workers) if workers else _("workers unknown")


def _sentences(*parts: str | None) -> str:
    """Sentences one after the other: a space after an English one, none after a Chinese or Japanese one."""
    text = ""
    for part in filter(None, parts):
        text += part if not text or text.endswith(("。", "！", "？")) else " " + part
    return text


def caption(measured: Measured | None) -> html.Div:
    if measured is None:
        return html.Div(_("No benchmark run is readable yet: run one on the benchmark page."), className="small text-muted")
    workers = _workers(measured.workers)
    if measured.source == "reference":
        first = _("Measured: p50 latency and bytes up + down per interaction at %(rows)s rows, compute delay %(delay)s. "
                  "Reference: the run committed with the site (%(created)s UTC, %(workers)s, docs/bench/default).",
                  rows=format(measured.rows, ","), delay=_delay(measured.compute_delay), created=measured.created, workers=workers)
    else:
        first = _("Measured: p50 latency and bytes up + down per interaction at %(rows)s rows, compute delay %(delay)s, "
                  "from this server's latest run (%(created)s UTC, %(workers)s).",
                  rows=format(measured.rows, ","), delay=_delay(measured.compute_delay), created=measured.created, workers=workers)
    server = measured.server
    second = (_("This server: the operator's latest run here (%(created)s UTC, %(workers)s), same rows and delay.",
                created=server.created, workers=_workers(server.workers))
              if server else measured.server_note)
    return html.Div(
        _sentences(first, second, _("The bar is logarithmic (100 B to 10 MB).")),
        className="small text-muted mt-2 lab-measured-caption",
        **{"data-source": measured.source, "data-rows": str(measured.rows), "data-server": "yes" if server else "no"},
    )
