"""The encodings report (scenario "encodings"): the JSON path as a dimension of the strategies that ship data.

One row per strategy × encoding × rows over the runs (bytes: the median; times: the best run): serialize_ms (the server, frame to the bytes
Dash sends), request_bytes (the payload's trips back up, raw: browsers never compress a request body; 0 when
the strategy keeps it in the browser), response_bytes_wire / response_bytes (the answer compressed on the wire,
and decoded), compression_down, browser_decode_ms (the browser turning the value into columns,
performance.now(), DecompressionStream included), server_decode_ms (a consumer parsing it back).
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from .fmt import DASH, human_bytes, number

TEMPLATES = Path(__file__).resolve().parent / "templates"
_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, keep_trailing_newline=True,
                          undefined=jinja2.StrictUndefined)
FIELDS = ["strategy", "kind", "scenario", "encoding", "rows", "serialize_ms", "request_bytes", "response_bytes_wire",
          "response_bytes", "compression_down", "browser_decode_ms", "server_decode_ms", "consumers", "runs", "errors"]
COLUMNS = [("strategy", "strategy"), ("encoding", "encoding"), ("rows", "rows"), ("serialize_ms", "serialize ms"),
           ("request_bytes", "up (raw)"), ("response_bytes_wire", "down (wire)"), ("response_bytes", "down (decoded)"),
           ("compression_down", "down ratio"), ("browser_decode_ms", "browser decode ms"),
           ("server_decode_ms", "server decode ms"), ("errors", "errors")]
BYTES = {"request_bytes", "response_bytes_wire", "response_bytes"}


def cell(key: str, value) -> str:
    if value is None:
        return DASH
    if isinstance(value, str):
        return value
    if key in BYTES:
        return human_bytes(value)
    if key == "compression_down":
        return f"{value:.1f}×"
    return number(value)


def table(results: list[dict]) -> list[list[str]]:
    return [[cell(k, r.get(k)) for k, _ in COLUMNS] for r in results]


def best(results: list[dict]) -> list[str]:
    """Per strategy and row count: which encoding moves the fewest bytes, and which is fastest end to end."""
    lines = []
    groups: dict[tuple, list[dict]] = {}
    for r in results:
        groups.setdefault((r["strategy"], r["rows"]), []).append(r)
    for (strategy, rows), found in groups.items():
        measured = [r for r in found if r.get("response_bytes_wire") is not None]
        if not measured:
            continue
        fewest = min(measured, key=lambda r: (r.get("request_bytes") or 0) + r["response_bytes_wire"])
        timed = [r for r in measured if r.get("serialize_ms") is not None and r.get("browser_decode_ms") is not None]
        fastest = min(timed, key=lambda r: r["serialize_ms"] + r["browser_decode_ms"] + (r.get("server_decode_ms") or 0)) if timed else None
        line = (f"{strategy} at {rows:,} rows: fewest bytes with {fewest['encoding']} "
                f"({human_bytes((fewest.get('request_bytes') or 0) + fewest['response_bytes_wire'])} up + down on the wire)")
        if fastest is not None:
            line += f"; least time with {fastest['encoding']} ({fastest['serialize_ms'] + fastest['browser_decode_ms']:,.0f} ms serialize + decode)"
        lines.append(line + ".")
    return lines


def summary_text(report: dict) -> str:
    """The table as plain text for the terminal."""
    widths = [14, 9, 8, 12, 10, 11, 14, 10, 17, 16, 6]
    lines = ["  ".join(label.ljust(w) if i < 2 else label.rjust(w) for i, ((_, label), w) in enumerate(zip(COLUMNS, widths, strict=True)))]
    for row in table(report["results"]):
        lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))
    return "\n".join(lines + [""] + best(report["results"]))


def encodings_html(report: dict) -> str:
    cfg = report["config"]
    return _ENV.get_template("encodings.html.j2").render(
        css=(TEMPLATES / "report.css").read_text(), cfg=cfg, schema=report.get("schema", ""),
        created=str(report.get("created", "")), took=report.get("seconds"), columns=COLUMNS,
        table=table(report["results"]), best=best(report["results"]), cpus=(cfg.get("machine") or {}).get("cpus"),
    )
