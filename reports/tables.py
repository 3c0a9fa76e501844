"""The reports' tables: the columns shown, how a cell is written, the rows of a table, the terminal's text table."""

from __future__ import annotations

from .fmt import DASH

TABLE_COLUMNS = [
    ("strategy", "strategy"), ("rows", "rows"), ("latency_ms_p50", "p50 ms"), ("latency_ms_p95", "p95 ms"),
    ("request_bytes", "up B (raw)"), ("response_bytes_wire", "down B wire"), ("response_bytes", "down B decoded"),
    ("workers_hit", "workers"), ("computations", "computed"),
    ("cache_hit_rate", "hit rate"), ("stale_reads", "stale"), ("leaks", "leaks"), ("server_bytes", "server B"),
    ("browser_bytes", "browser B"), ("errors", "errors"),
]


def cell(key: str, value) -> str:
    if value is None:
        return DASH
    if key == "cache_hit_rate":
        return f"{value:.0%}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table_rows(results: list[dict]) -> list[dict]:
    """Rows for a table: the listed columns, plus the scenario when it is not the standard one."""
    out = []
    for r in results:
        row = {k: r.get(k) for k, _ in TABLE_COLUMNS}
        if r.get("kind") == "peer":
            row["strategy"] = f"{r['strategy']} (peer)"
        if r.get("scenario") not in (None, "standard"):
            row["strategy"] = f"{row['strategy']} [{r['scenario']}]"
        out.append(row)
    return out


LOAD_COLUMNS = [("strategy", "strategy"), ("sessions", "sessions"), ("interactions", "interactions"),
                ("interactions_per_s", "per s"), ("latency_ms_p50", "p50 ms"), ("latency_ms_p95", "p95 ms"),
                ("errors", "errors"), ("errors_outside_window", "outside"), ("stale_reads", "stale"),
                ("leaks", "leaks"), ("unverified_reads", "unrec."), ("unanswered", "unans."),
                ("http_500", "HTTP 500"), ("workers_hit", "workers"), ("passed", "pass")]


def summary_table(result: dict) -> str:
    """The side-by-side table as plain text for the terminal."""
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
