"""Partial updates with Patch: the record of pages/patch.py (strategies/__init__.py says what a record is)."""

from __future__ import annotations

from strategies import Guide, Strategy
from strategies.spec import Read, Spec, click


def _patch_count(value, ctx, candidates):
    return len(value) if isinstance(value, list) else None


SPEC = Spec(
    slug="patch",
    writes="count",
    takes_rows=False,
    round=(click("append"),),
    reads=(Read("table", "data", _patch_count),),
    expect=lambda c, s: (c.round + 1) * 1000,
    browser_held=(("table", "data"), ("graph", "figure")),
    reset=(10, click("reset")),  # the demo stops at 50,000 rows: a long load resets it every 10 rounds
    note="Appends 1,000 rows per click with dash.Patch: only the new rows travel down.",
)

STRATEGY = Strategy(
    slug="patch",
    title="Partial updates with Patch",
    summary="Append rows to a chart and a table by sending only the new rows: dash.Patch describes the change, "
    "the browser applies it to what it already shows. Switch to a full re-send and watch the bytes grow.",
    lives="browser (the figure and table props)",
    multi_worker_safe=True,
    shared_between_users=False,
    survives_reload=False,
    payload_growth="O(new rows) down; State still goes up whole",
    pros=[
        "Response bytes follow the change, not the size of what is already on screen",
        "Plain Dash (2.9+): no extra store, no server memory",
        "Works for any prop: figure traces, layout, table rows, children",
    ],
    cons=[
        "Only server → browser shrinks: a Store or figure used as Input/State is still sent up whole",
        "The server must know the current shape (here: a row count kept in the browser) to describe the change",
        "Concurrent patches to the same prop apply in arrival order; a lost response leaves the view out of sync",
    ],
    group="beyond",
    order=120,
    claims_isolation=True,
    spec=SPEC,
    guide=(
        Guide(
            rank=100,
            case="You append to a figure or table that is already on screen",
            answer="Return a dash.Patch.",
            figure=lambda g: f"{g.traffic('patch')} per 1,000-row append.",
            across="browser",
        ),
    ),
)
