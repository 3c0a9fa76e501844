"""Global variable: the record of pages/global_variable.py (strategies/__init__.py says what a record is)."""

from __future__ import annotations

from strategies import Guide, Strategy
from strategies.spec import TOKEN, Act, Read, Spec, click, identify_last_history_value

SPEC = Spec(
    slug="global-variable",
    writes="unique",
    takes_rows=False,
    round=(Act("value", "value", TOKEN, changed_only=False), click("set"), click("read")),
    reads=(Read("history", "data", identify_last_history_value),),
    browser_held=(("history", "data"),),
    note="Set writes a module global in whichever worker answers; Read returns that worker's copy.",
)

STRATEGY = Strategy(
    slug="global-variable",
    title="Global variable",
    summary="A callback assigns a module-level variable and another callback reads it. It looks fine on a laptop "
    "with one process; on this 4-worker server every worker keeps its own copy, and every user shares them.",
    lives="each worker process's memory",
    multi_worker_safe=False,
    shared_between_users="by accident: the bug",
    survives_reload="by accident",
    payload_growth="O(1): just the value",
    pros=[
        "No code to write: a variable is the first thing anyone tries.",
        "Reading a constant global loaded at start-up is fine.",
    ],
    cons=[
        "Each worker has its own copy: a read answered by another worker returns another value.",
        "Every session on a worker shares its copy: one user's value shows up for the next.",
        "Lost on every worker restart; impossible to scale to several hosts.",
    ],
    seeds=["000", "002", "003"],
    group="guides",
    order=10,
    claims_isolation=False,
    spec=SPEC,
    guide=(
        Guide(
            rank=10,
            case="A large dataset (say 500 MB) that every user reads and nobody changes",
            answer="Load it once at start-up into a module-level variable and never assign to it again: reading a global is safe. "
            "The cost is memory: each gunicorn worker holds its own copy — 4 workers × 500 MB = 2 GB on one host — so "
            "budget RAM per worker, or keep it in a shared store and load only the slices a callback needs.",
            figure=lambda g: f"Reading a global: {g.ms('global-variable')} p50, against a {g.ms('baseline-noop')} no-op "
            "request. Changing it is the bug the page shows: "
            f"{g.stale('global-variable', 'default')} on one host, {g.stale('global-variable')} on two.",
            across="copy",
        ),
        Guide(
            rank=110,
            case="You are tempted to keep a value a callback changes in a module-level variable",
            answer="Don't: each worker has its own copy, shared by every user.",
            figure=lambda g: f"{g.stale('global-variable')} on two hosts.",
            across="one-machine",
        ),
    ),
)
