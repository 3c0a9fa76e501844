"""Progress pushed, not polled: the record of pages/live_progress.py (the live page is live/progress.py)."""

from __future__ import annotations

from strategies import Guide, Strategy

STRATEGY = Strategy(
    slug="live-progress",
    title="Progress pushed, not polled",
    summary="The background page's progress example as a WebSocket callback (Dash 4.4, FastAPI backend): one socket "
    "per browser carries the click, every progress step (set_props, pushed at once) and the result — beside the "
    "polling version, a background callback that asks every 500 ms.",
    lives="the worker that holds the browser's WebSocket (the job runs in that process)",
    multi_worker_safe="per connection",
    shared_between_users=False,
    survives_reload=False,
    payload_growth="one small frame per step; no request per interval",
    pros=(
        "no HTTP request after the first: progress arrives the moment the job reaches a step",
        "no job handles, no result store: the answer goes back on the socket",
        "closing the tab closes the socket, and the job stops at its next step",
    ),
    cons=(
        "the job lives and dies with its socket's worker: a dropped connection or a killed worker loses it",
        "a job runs inside a web worker (bounded here per worker), not on a task queue that scales out",
        "needs an ASGI server and Dash's FastAPI (or Quart) backend; Flask has no WebSocket callbacks",
    ),
    order=150,
    claims_isolation=True,
    spec=None,  # measured by `python -m bench --scenario push` (bench/push.py): a job, pushed against polled
    guide=(
        Guide(
            rank=35,
            case="A job of a few seconds whose progress the user watches",
            answer="A WebSocket callback that pushes each step with set_props: no poll at all, progress on screen at "
            "once; a background callback polls every interval. If the socket's worker dies the job is lost — "
            "for jobs that must survive that, keep the task queue.",
            figure=None,
            across="one-machine",
        ),
    ),
    store_prefix="live-progress",
    path="/live/progress",
    group="beyond",
)
