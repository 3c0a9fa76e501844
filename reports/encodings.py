"""The encodings report (scenario "encodings"): the JSON path as a dimension of the strategies that ship data.

One row per strategy × encoding × rows over the runs (bytes: the median; times: the best run): serialize_ms (the server, frame to the bytes
Dash sends), request_bytes (the payload's trips back up, raw: browsers never compress a request body; 0 when
the strategy keeps it in the browser), response_bytes_wire / response_bytes (the answer compressed on the wire,
and decoded), compression_down, browser_decode_ms (the browser turning the value into columns,
performance.now(), DecompressionStream included), server_decode_ms (a consumer parsing it back).
"""

from __future__ import annotations

from i18n import N_, _

from . import l10n
from .fmt import DASH
from .tables import labels
from .templating import render

FIELDS = ["strategy", "kind", "scenario", "encoding", "rows", "serialize_ms", "request_bytes", "response_bytes_wire",
          "response_bytes", "compression_down", "browser_decode_ms", "server_decode_ms", "consumers", "runs", "errors"]
COLUMNS = [("strategy", N_("strategy")), ("encoding", N_("encoding")), ("rows", N_("rows")), ("serialize_ms", N_("serialize ms")),
           ("request_bytes", N_("up (raw)")), ("response_bytes_wire", N_("down (wire)")), ("response_bytes", N_("down (decoded)")),
           ("compression_down", N_("down ratio")), ("browser_decode_ms", N_("browser decode ms")),
           ("server_decode_ms", N_("server decode ms")), ("errors", N_("errors"))]
BYTES = {"request_bytes", "response_bytes_wire", "response_bytes"}


def cell(key: str, value) -> str:
    """A cell in the reader's digits (in English as reports.fmt writes it)."""
    if value is None:
        return DASH
    if isinstance(value, str):
        return value
    if key in BYTES:
        return l10n.size(value)
    if key == "compression_down":
        return l10n.times(value)
    return l10n.number(value)


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
        fewest_bytes = l10n.size((fewest.get("request_bytes") or 0) + fewest["response_bytes_wire"])
        if fastest is None:
            lines.append(_("%(strategy)s at %(rows)s rows: fewest bytes with %(fewest)s (%(bytes)s up + down on the wire).",
                           strategy=strategy, rows=l10n.number(rows), fewest=fewest["encoding"], bytes=fewest_bytes))
            continue
        lines.append(_("%(strategy)s at %(rows)s rows: fewest bytes with %(fewest)s (%(bytes)s up + down on the wire); "
                       "least time with %(fastest)s (%(ms)s ms serialize + decode).", strategy=strategy, rows=l10n.number(rows),
                       fewest=fewest["encoding"], bytes=fewest_bytes, fastest=fastest["encoding"],
                       ms=l10n.fixed(fastest["serialize_ms"] + fastest["browser_decode_ms"], 0)))
    return lines


def summary_text(report: dict) -> str:
    """The table as plain text for the terminal (English: the CLI prints it outside any language)."""
    widths = [14, 9, 8, 12, 10, 11, 14, 10, 17, 16, 6]
    lines = ["  ".join(label.ljust(w) if i < 2 else label.rjust(w) for i, ((_, label), w) in enumerate(zip(COLUMNS, widths, strict=True)))]
    for row in table(report["results"]):
        lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))
    return "\n".join(lines + [""] + best(report["results"]))


def encodings_html(report: dict) -> str:
    cfg = report["config"]
    return render(
        "encodings.html.j2", cfg=cfg, schema=report.get("schema", ""),
        created=str(report.get("created", "")), took=report.get("seconds"), columns=labels(COLUMNS),
        table=table(report["results"]), best=best(report["results"]), cpus=(cfg.get("machine") or {}).get("cpus"),
    )
