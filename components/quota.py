"""The browser-store page's helpers: what goes into a dcc.Store, what comes back, and the
facts about each storage_type the page checks live (assets/browser-store.js)."""

from __future__ import annotations

import secrets
import time

import dash_bootstrap_components as dbc
import pandas as pd
from dash import html

from stores import codec
from stores.codec import BadPayload

from .payload import FRAME_COLUMNS, human, numbers, summary_table
from .strategy import page_path

KINDS = ("memory", "session", "local")
# Up to a size whose cleaned frame (about a quarter of the rows, ~9.6 JSON characters per
# dataset row) is past Chromium's ~5.24 M-character quota for localStorage / sessionStorage.
ROW_CHOICES = (1_000, 10_000, 100_000, 200_000, 600_000)
CHARS_PER_ROW = 9.7
QUOTA_CHARS = 5 * 1024 * 1024
# What each storage_type keeps, as documented; the page shows it next to what it measures.
SURVIVAL = {
    "memory": {"reload": "no", "tab": "no", "where": "this page's JavaScript memory"},
    "session": {"reload": "yes", "tab": "no (a duplicated tab gets a copy)", "where": "sessionStorage, per tab"},
    "local": {"reload": "yes", "tab": "yes", "where": "localStorage, per origin, until cleared"},
}


def rows_label(rows: int) -> str:
    estimate = rows * CHARS_PER_ROW
    over = " — over the quota" if estimate > QUOTA_CHARS else ""
    return f"{rows:,} (≈ {human(estimate)}{over})"


def check_kind(kind) -> str:
    if kind not in KINDS:
        raise BadPayload(f"storage type must be one of {', '.join(KINDS)}, got {kind!r}")
    return kind


def envelope(cleaned: pd.DataFrame, kind: str, rows: int, region: str) -> dict:
    """What the page writes into a store: the cleaned frame plus where it came from."""
    return {
        "token": secrets.token_hex(8),
        "storage": kind,
        "rows": rows,
        "region": region,
        "kept": len(cleaned),
        "written": round(time.time() * 1000),
        "frame": codec.frame_to_json(cleaned),
    }


def attempt(data: dict, key: str) -> dict:
    """A small record of the write, for the browser-side check of whether it persisted."""
    return {
        "token": data["token"],
        "storage": data["storage"],
        "key": key,
        "rows": data["rows"],
        "region": data["region"],
        "quota": QUOTA_CHARS,
        "alternatives": [["Serverside", page_path("serverside")], ["Session cache", page_path("session-cache")]],
    }


def parse_stored(data) -> tuple[dict, pd.DataFrame]:
    """(facts, frame) from a store's data as the browser sent it; BadPayload when malformed."""
    if not isinstance(data, dict):
        raise BadPayload(f"stored data must be an object, got {type(data).__name__}")
    for name in ("rows", "kept"):
        if not isinstance(data.get(name), int):
            raise BadPayload(f"stored data lacks a whole number {name!r}")
    if data.get("region") is not None and not isinstance(data["region"], str):
        raise BadPayload("stored data's 'region' must be text")
    df = numbers(codec.frame_from_json(data.get("frame"), required=FRAME_COLUMNS), ("x", "y", "amount", "revenue"))
    facts = {"rows": data["rows"], "kept": data["kept"], "region": data.get("region"), "written": data.get("written")}
    return facts, df


def stored_view(facts: dict, table: pd.DataFrame) -> html.Div:
    shown = table[["fruit", "rows", "revenue"]]
    return html.Div(
        [
            html.Div(
                [html.B(f"{facts['rows']:,} rows"), f" · {facts['region']} · {facts['kept']:,} cleaned rows"],
                className="small bs-facts",
                **{"data-rows": str(facts["rows"])},
            ),
            summary_table(shown),
        ]
    )


def empty_view() -> html.Div:
    return html.Div("empty", className="small text-muted bs-facts", **{"data-rows": "0"})


def rejected(exc: BadPayload, kind: str) -> dbc.Alert:
    return dbc.Alert(
        [
            html.B("Rejected data from the browser. "),
            f"The {kind} store holds something this page did not write: {exc}. Press “Clear all three” to remove it.",
        ],
        color="danger",
        className="small mb-0 bs-rejected",
    )
