"""The reports' tables: the columns shown, how a cell is written, the rows of a table, the terminal's text table.

A table's columns are (key, label) pairs: the key is a result row's field and stays as it is (code finds a column by
it); the label is English, marked with N_, and written in the reader's language by `labels`."""

from __future__ import annotations

from i18n import N_, _, gettext

from . import l10n
from .fmt import DASH

TABLE_COLUMNS = [
    ("strategy", N_("strategy")), ("rows", N_("rows")), ("latency_ms_p50", N_("p50 ms")), ("latency_ms_p95", N_("p95 ms")),
    ("request_bytes", N_("up B (raw)")), ("response_bytes_wire", N_("down B wire")), ("response_bytes", N_("down B decoded")),
    ("workers_hit", N_("workers")), ("computations", N_("computed")),
    ("cache_hit_rate", N_("hit rate")), ("stale_reads", N_("stale")), ("leaks", N_("leaks")), ("server_bytes", N_("server B")),
    ("browser_bytes", N_("browser B")), ("errors", N_("errors")),
]


def labels(columns: list[tuple[str, str]]) -> dict[str, str]:
    """Each column's key -> its label in the reader's language."""
    return {key: gettext(label) for key, label in columns}


def cell(key: str, value) -> str:
    """A table cell in the reader's language's digits (in English: f"{value:.0%}", f"{value:,.1f}", f"{value:,}")."""
    if value is None:
        return DASH
    if key == "cache_hit_rate":
        return l10n.percent(value)
    if isinstance(value, (int, float)):
        return l10n.number(value)
    return str(value)


def peer_label(strategy: str) -> str:
    """A peer's row name: the strategy, marked as the peer."""
    return _("%(strategy)s (peer)", strategy=strategy)


def table_rows(results: list[dict]) -> list[dict]:
    """Rows for a table: the listed columns, plus the scenario when it is not the standard one."""
    out = []
    for r in results:
        row = {k: r.get(k) for k, _ in TABLE_COLUMNS}
        if r.get("kind") == "peer":
            row["strategy"] = peer_label(r["strategy"])
        if r.get("scenario") not in (None, "standard"):
            row["strategy"] = f"{row['strategy']} [{r['scenario']}]"
        out.append(row)
    return out


LOAD_COLUMNS = [("strategy", N_("strategy")), ("sessions", N_("sessions")), ("interactions", N_("interactions")),
                ("interactions_per_s", N_("per s")), ("latency_ms_p50", N_("p50 ms")), ("latency_ms_p95", N_("p95 ms")),
                ("errors", N_("errors")), ("errors_outside_window", N_("outside")), ("stale_reads", N_("stale")),
                ("leaks", N_("leaks")), ("unverified_reads", N_("unrec.")), ("unanswered", N_("unans.")),
                ("http_500", "HTTP 500"), ("workers_hit", N_("workers")), ("passed", N_("pass"))]


def summary_table(result: dict) -> str:
    """The side-by-side table as plain text for the terminal (English: the CLI prints it outside any language)."""
    names = [r["strategy"] + ("" if r.get("scenario") in (None, "standard") else f" [{r['scenario']}]") for r in result["results"]]
    cols = [("strategy", max([22, *map(len, names)])), ("rows", 8), ("latency_ms_p50", 8), ("latency_ms_p95", 8), ("request_bytes", 10),
            ("response_bytes_wire", 11), ("response_bytes", 10), ("workers_hit", 7), ("computations", 8), ("stale_reads", 6), ("leaks", 6), ("errors", 6)]
    heads = {"latency_ms_p50": "p50 ms", "latency_ms_p95": "p95 ms", "request_bytes": "up B", "response_bytes_wire": "down B wire", "response_bytes": "down B",
             "workers_hit": "workers", "computations": "computed", "stale_reads": "stale"}
    lines = ["  ".join(heads.get(c, c).rjust(w) if i else heads.get(c, c).ljust(w) for i, (c, w) in enumerate(cols))]
    for name, r in zip(names, result["results"], strict=True):
        cells = [name.ljust(cols[0][1])] + [cell(c, r.get(c)).rjust(w) for c, w in cols[1:]]
        lines.append("  ".join(cells))
    return "\n".join(lines)
