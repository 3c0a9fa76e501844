"""Selecting and summing result rows: what the tables, the verdicts and the charts all ask of a report."""

from __future__ import annotations


def standard(results: list[dict]) -> list[dict]:
    return [r for r in results if r.get("scenario") in ("standard", "scale-out")]


def strategies_in(results: list[dict]) -> list[str]:
    order: list[str] = []
    for r in results:
        if r["strategy"] not in order:
            order.append(r["strategy"])
    return order


def rows_in(results: list[dict]) -> list[int]:
    return sorted({r["rows"] for r in results})


def wire_bytes(r: dict | None) -> int:
    """Request + response bytes per interaction; 0 when the row has none (or there is no row)."""
    return ((r or {}).get("request_bytes") or 0) + ((r or {}).get("response_bytes") or 0)


def total_bytes(r: dict) -> int | None:
    """Request + response bytes per interaction; None when neither was measured (a chart leaves a gap)."""
    if r.get("request_bytes") is None and r.get("response_bytes") is None:
        return None
    return wire_bytes(r)


def find(results: list[dict], strategy: str, rows: int, scenario: str = "standard") -> dict | None:
    for r in results:
        if r["strategy"] == strategy and r["rows"] == rows and r.get("scenario", "standard") in (scenario, "scale-out"):
            return r
    return None
