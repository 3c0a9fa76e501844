"""Browser store: the record of pages/browser_store.py (strategies/__init__.py says what a record is)."""

from __future__ import annotations

from strategies import Guide, Strategy
from strategies.spec import REGION, ROWS, Act, Read, Spec, click, identify_workload

SPEC = Spec(
    slug="browser-store",
    round=(Act("region", "value", REGION), Act("rows", "value", ROWS), click("write")),
    reads=(Read("session-view", "children", identify_workload),),
    browser_held=(("memory", "data"), ("session", "data"), ("local", "data")),
    note="Writes to the page's default store (storage_type='session'); its consumer reads it as Input.",
)

STRATEGY = Strategy(
    slug="browser-store",
    title="Browser store",
    summary="dcc.Store keeps the data in the browser: in page memory, in sessionStorage or in localStorage. "
    "Choose where, write, reload, open a new tab — and push the size past the browser's quota to see the write "
    "fail without a word from dcc.Store.",
    lives="the browser: memory, sessionStorage or localStorage",
    multi_worker_safe=True,
    shared_between_users=False,
    survives_reload="session and local",
    payload_growth="O(rows): down once, up per consumer",
    pros=[
        "No server state; any worker answers.",
        "session / local keep the data across reloads (local across tabs and restarts).",
        "A Store is a real component: no hidden div, no string juggling.",
    ],
    cons=[
        "The data still travels up with every callback that uses it as Input or State.",
        "sessionStorage and localStorage hold about 5 M characters; past that dcc.Store fails silently.",
        "localStorage outlives the session: stale data comes back after a deploy, and anyone at the browser can edit it.",
    ],
    seeds=["003"],
    group="guides",
    order=30,
    claims_isolation=True,
    spec=SPEC,
    guide=(
        Guide(
            rank=60,
            case="The value is small (an id, a filter, a few KB) and belongs to one user",
            answer="A dcc.Store; past ~5 MB web storage refuses it.",
            figure=lambda g: f"{g.traffic('browser-store')} at 10,000 rows.",
            across="browser",
        ),
    ),
)
