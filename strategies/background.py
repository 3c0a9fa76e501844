"""Background callbacks: the record of pages/background.py (strategies/__init__.py says what a record is)."""

from __future__ import annotations

from strategies import Guide, Strategy
from strategies.spec import ROWS, Act, Read, Spec, click, identify_rows_only

SPEC = Spec(
    slug="background",
    setup=(Act("rows", "value", ROWS), Act("steps", "value", 4)),
    round=(click("ex1-run"),),
    reads=(Read("ex1-result", "children", identify_rows_only),),
    expect=lambda c, s: (None, c.rows),
    server_prefixes=("background:",),
    fresh_reads=True,  # every job reports the session's row count: only a replaced output is this round's read
    note="Example 1 (background=True, 4 steps): one POST, then a poll every interval until the result.",
)

STRATEGY = Strategy(
    slug="background",
    title="Background callbacks",
    summary="A long job runs outside the web workers — in its own process (DiskcacheManager) or on a Celery worker fed "
    "through Redis (CeleryManager) — while the browser polls for progress and the result. Five examples from the "
    "guide, then why a task queue at all.",
    lives="task queue + result store (diskcache files, or Redis with Celery)",
    multi_worker_safe=True,
    shared_between_users=False,
    survives_reload=False,
    payload_growth="O(result) down once, plus a small poll every interval",
    pros=[
        "jobs longer than the web server's timeout finish: they never run inside a request",
        "web workers stay free for other users while jobs run",
        "progress, running and cancel come built in (progress=, running=, cancel=)",
        "CeleryManager scales out: more Celery workers on more hosts, one Redis",
    ],
    cons=[
        "one HTTP poll per interval per job, and up to one interval of extra latency",
        "a reload loses the job handle: the job runs on but nobody reads its result",
        "a lost Celery task stays PENDING, which Dash reads as running: without a deadline the browser polls for ever",
        "DiskcacheManager forks one process per job on the web host: fine for a demo, not for production",
    ],
    seeds=["001"],
    order=80,
    claims_isolation=True,
    spec=SPEC,
    guide=(
        Guide(
            rank=30,
            case="A computation that takes 2 minutes",
            answer="A background callback: the request returns at once, a task queue runs the job, the browser polls for "
            "progress and the result, and Cancel stops it. A normal callback holds a request for its whole run and meets "
            "the request timeout (30 s here; a proxy's is often shorter): the background page shows its synchronous twin stopped.",
            figure=lambda g: f"Measured: {g.ms('background')} p50 per job of the benchmark's size, "
            f"{(g.result('background') or {}).get('polls_per_interaction', 'unknown')} poll(s) per job, "
            f"{(g.result('background') or {}).get('errors', 'unknown')} errors.",
            across="redis",
        ),
    ),
)
