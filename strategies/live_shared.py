"""Live shared state: the record of pages/live_shared.py (the live page is live/shared.py)."""

from __future__ import annotations

from strategies import Guide, Strategy

STRATEGY = Strategy(
    slug="live-shared",
    title="Live shared state",
    summary="One annotation every visitor shares: anyone changes it, and every open tab on every worker shows the "
    "change within a fraction of a second — pushed over each tab's WebSocket (Dash 4.4, FastAPI backend) from a bus "
    "that crosses the workers (Redis pub/sub, or Unix datagram sockets on one machine), beside dcc.Interval "
    "polling the store every second.",
    lives="the shared store (current value and history); the bus carries each change to every worker",
    multi_worker_safe=True,
    shared_between_users=True,
    survives_reload=True,
    payload_growth="one small frame per change per tab; polling: a request per tab per second",
    pros=(
        "a change reaches every open tab in tens of milliseconds, not up to an interval later",
        "no request per tab per second: an idle tab costs a socket and a heartbeat",
        "one listener per worker fans out to its tabs: Redis sees one connection per worker, not per tab",
    ),
    cons=(
        "needs an ASGI server and Dash's FastAPI (or Quart) backend; Flask has no WebSocket callbacks",
        "a socket per tab held open on a worker (bounded per worker); a dropped socket reconnects and reloads",
        "a Redis outage pauses the pushes; the page says so and reports the changes it may have missed",
    ),
    order=160,
    claims_isolation=False,  # one value every visitor shares, by design
    spec=None,  # measured by `python -m bench --scenario push` (bench/push.py): push against polling
    guide=(
        Guide(
            rank=36,
            case="A value every visitor sees and anyone may change (an annotation, a threshold, a vote)",
            answer="Keep it in the shared store and push each change over the tabs' WebSockets from one bus "
            "listener per worker (Redis pub/sub across hosts, Unix datagram sockets on one machine); polling it "
            "with dcc.Interval costs a request per tab per interval and lags by up to the interval.",
            figure=None,
            across="redis",
        ),
    ),
    store_prefix="livebus",
    path="/live/shared",
    group="beyond",
)
