"""Dash State Lab's benchmark reports: what the benchmark writes and what the site reads back.

Shared by the harness (bench/), the /benchmark page and the home catalogue, and importing none of
them: a gunicorn worker that shows a report loads neither the runner, the headless client nor the
specs. schema (SCHEMA, FIELDS, check, load, envelope) · fmt (the one byte formatter) · rows
(selecting results) · verdicts · tables · charts · html (Jinja2 templates, one stylesheet) ·
load_view (the load scenario's words) · files (JSON, CSV, HTML on disk).
"""

from .files import csv_columns, to_csv, to_json, write
from .fmt import human_bytes
from .html import to_html
from .schema import FIELDS, SCHEMA, ReportError, check, envelope, load
from .tables import TABLE_COLUMNS, cell, table_rows
from .verdicts import stampede_lines, targets, verdicts

__all__ = ["FIELDS", "SCHEMA", "TABLE_COLUMNS", "ReportError", "cell", "check", "csv_columns", "envelope", "human_bytes", "load",
           "stampede_lines", "table_rows", "targets", "to_csv", "to_html", "to_json", "verdicts", "write"]
