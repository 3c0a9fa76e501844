"""The report's files: report.json (the data), report.csv (one row per result) and report.html."""

from __future__ import annotations

import json
from pathlib import Path

from .html import to_html
from .load_view import memory_rows
from .output import csv_text, write_files
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
    return csv_text(results, FIELDS)


def write(report: dict, out: Path | str) -> dict[str, Path]:
    """DIR/report.json, report.csv, report.html; the paths written."""
    check(report)
    return write_files(out, report, to_csv(report), to_html(report))
