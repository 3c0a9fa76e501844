"""The report's files: report.json (the data), report.csv (one row per result) and report.html."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import i18n

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


def write(report: dict, out: Path | str, lang: str | None = None) -> dict[str, Path]:
    """DIR/report.json, report.csv, report.html; the paths written. The HTML in language `lang` (en, zh, ja:
    i18n.speaking, its catalogs loaded first, as bench/cli.py does; None: the current language); the JSON and CSV
    are the same in every language, their field names English."""
    check(report)
    with contextlib.nullcontext() if lang is None else i18n.speaking(lang):
        html = to_html(report)
    return write_files(out, report, to_csv(report), html)
