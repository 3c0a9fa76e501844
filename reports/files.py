"""The report's files: report.json (the data), report.csv (one row per result) and report.html."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from .html import to_html
from .load_view import memory_rows
from .schema import FIELDS, check


def to_json(report: dict) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False)


def csv_columns(results: list[dict]) -> list[str]:
    extra = sorted({k for r in results for k in r} - set(FIELDS))
    return FIELDS + extra


def to_csv(report: dict) -> str:
    results = report["results"]
    if report.get("memory"):  # the load scenario: its memory readings follow as rows of kind "memory"
        results = results + memory_rows(report)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=csv_columns(results), lineterminator="\n")
    writer.writeheader()
    for r in results:
        writer.writerow({k: json.dumps(v, separators=(",", ":")) if isinstance(v, (dict, list)) else ("" if v is None else v)
                         for k, v in r.items()})
    return out.getvalue()


def write(report: dict, out: Path | str) -> dict[str, Path]:
    """DIR/report.json, report.csv, report.html; the paths written."""
    check(report)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "csv": out / "report.csv", "html": out / "report.html"}
    paths["json"].write_text(to_json(report))
    paths["csv"].write_text(to_csv(report))
    paths["html"].write_text(to_html(report))
    return paths
