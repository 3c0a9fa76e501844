"""Writing a report's files: the CSV text of result rows, and the three files of one run side by side."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path


def csv_text(results: list[dict], fields: list[str]) -> str:
    """One row per result; `fields` first, then any other key a row has, sorted; lists and dicts as JSON."""
    columns = list(fields) + sorted({k for r in results for k in r} - set(fields))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for r in results:
        writer.writerow({k: json.dumps(v, separators=(",", ":")) if isinstance(v, (dict, list)) else ("" if v is None else v)
                         for k, v in r.items()})
    return out.getvalue()


def write_files(out: Path | str, report: dict, csv: str, html: str) -> dict[str, Path]:
    """DIR/report.json, report.csv, report.html; the paths written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "csv": out / "report.csv", "html": out / "report.html"}
    paths["json"].write_text(json.dumps(report, indent=2, ensure_ascii=False))
    paths["csv"].write_text(csv)
    paths["html"].write_text(html)
    return paths
