"""The browser-store page's helpers: what goes into a dcc.Store, what comes back, and the
facts about each storage_type the page checks live (assets/browser-store.js)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping

import dash_bootstrap_components as dbc
import pandas as pd
from dash import html

from i18n import N_, _, gettext
from stores import codec
from stores.codec import BadPayload

from .payload import FRAME_COLUMNS, human, numbers, summary_table
from .sentence import gap
from .serverstate import error_text
from .strategy import page_path

KINDS = ("memory", "session", "local")
# Up to a size whose cleaned frame (about a quarter of the rows, ~9.6 JSON characters per
# dataset row) is past Chromium's ~5.24 M-character quota for localStorage / sessionStorage.
ROW_CHOICES = (1_000, 10_000, 100_000, 200_000, 600_000)
CHARS_PER_ROW = 9.7
QUOTA_CHARS = 5 * 1024 * 1024


class _Facts(Mapping):
    """kind -> {fact: text}, each text (marked with N_) read in the visitor's language when it is looked up."""

    def __init__(self, facts: dict):
        self._facts = facts

    def __getitem__(self, kind: str) -> dict:
        return {name: gettext(text) for name, text in self._facts[kind].items()}

    def __iter__(self):
        return iter(self._facts)

    def __len__(self) -> int:
        return len(self._facts)


# What each storage_type keeps, as documented; the page shows it next to what it measures.
SURVIVAL = _Facts({
    "memory": {"reload": N_("no"), "tab": N_("no"), "where": N_("this page's JavaScript memory")},
    "session": {"reload": N_("yes"), "tab": N_("no (a duplicated tab gets a copy)"), "where": N_("sessionStorage, per tab")},
    "local": {"reload": N_("yes"), "tab": N_("yes"), "where": N_("localStorage, per origin, until cleared")},
})


def rows_label(rows: int) -> str:
    estimate = rows * CHARS_PER_ROW
    if estimate > QUOTA_CHARS:
        return _("%(rows)s (≈ %(size)s — over the quota)", rows=format(rows, ","), size=human(estimate))
    return f"{rows:,} (≈ {human(estimate)})"


def check_kind(kind) -> str:
    if kind not in KINDS:
        raise BadPayload(_("storage type must be one of %(kinds)s, got %(value)s", kinds=", ".join(KINDS), value=repr(kind)))
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
        # Link texts; "Session cache" is that page's title, translated with the strategy records' texts.
        "alternatives": [[_("Serverside"), page_path("serverside")], [gettext("Session cache"), page_path("session-cache")]],
    }


def parse_stored(data) -> tuple[dict, pd.DataFrame]:
    """(facts, frame) from a store's data as the browser sent it; BadPayload when malformed."""
    if not isinstance(data, dict):
        raise BadPayload(_("stored data must be an object, got %(type)s", type=type(data).__name__))
    for name in ("rows", "kept"):
        if not isinstance(data.get(name), int):
            raise BadPayload(_("stored data lacks a whole number %(name)s", name=repr(name)))
    if data.get("region") is not None and not isinstance(data["region"], str):
        raise BadPayload(_("stored data's 'region' must be text"))
    df = numbers(codec.frame_from_json(data.get("frame"), required=FRAME_COLUMNS), ("x", "y", "amount", "revenue"))
    facts = {"rows": data["rows"], "kept": data["kept"], "region": data.get("region"), "written": data.get("written")}
    return facts, df


def stored_view(facts: dict, table: pd.DataFrame) -> html.Div:
    shown = table[["fruit", "rows", "revenue"]]
    return html.Div(
        [
            html.Div(
                [html.B(_("%(rows)s rows", rows=format(facts['rows'], ","))),
                 f" · {facts['region']} · " + _("%(kept)s cleaned rows", kept=format(facts['kept'], ","))],
                className="small bs-facts",
                **{"data-rows": str(facts["rows"])},
            ),
            summary_table(shown),
        ]
    )


def empty_view() -> html.Div:
    return html.Div(_("empty"), className="small text-muted bs-facts", **{"data-rows": "0"})


def rejected(exc: BadPayload, kind: str) -> dbc.Alert:
    return dbc.Alert(
        [
            html.B(_("Rejected data from the browser.") + gap()),
            _("The %(kind)s store holds something this page did not write: %(reason)s. Press “Clear all three” to remove it.",
              kind=kind, reason=error_text(exc)),
        ],
        color="danger",
        className="small mb-0 bs-rejected",
    )
