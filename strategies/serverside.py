"""Server-side store, key in the browser: the record of pages/serverside.py (strategies/__init__.py says what a record is)."""

from __future__ import annotations

from strategies import Guide, Strategy
from strategies.spec import REGION, ROWS_TEXT, Act, Read, Spec, identify_workload

SPEC = Spec(
    slug="serverside",
    setup=(Act("rows", "value", ROWS_TEXT),),
    round=(Act("region", "value", REGION),),
    reads=(Read("summary", "children", identify_workload),),
    stampede=(Act("rows", "value", ROWS_TEXT),),
    stampede_by_default=True,
    note="The browser holds a key; the frame is Arrow in the store, computed once (single-flight).",
)

STRATEGY = Strategy(
    slug="serverside",
    title="Server-side store, key in the browser",
    summary="The browser holds a ~90-byte key; the DataFrame stays in the shared store as Arrow, computed once "
    "for everyone who asks for the same input. Each consumer's small view of it is built once and kept in the "
    "store, and every worker keeps recent frames and views decoded in memory.",
    lives="shared store (Arrow) + a key in dcc.Store",
    multi_worker_safe=True,
    shared_between_users="computed values only",
    survives_reload=False,
    payload_growth="O(1): a key up, small views down",
    pros=[
        "Constant bytes per interaction: 1,000 or 1,000,000 rows, the browser sends and receives the same key",
        "Single-flight: a crowd asking for one cold value runs the expensive step once, across workers",
        "No pickle: a value read back from the store can only become a table",
        "Bounded: oldest sessions are evicted to stay under a byte limit, never the one in use",
    ],
    cons=[
        "The data is gone when its TTL lapses or it is evicted: consumers must handle an expired key",
        "Needs a shared store (diskcache on one host, Redis across hosts)",
        "Per-worker memory holds a few decoded frames",
    ],
    group="beyond",
    order=110,
    claims_isolation=True,
    spec=SPEC,
    guide=(
        Guide(
            rank=20,
            case="About 50 MB of data per user, used by several callbacks",
            answer="Keep it on the server, give the browser a key. Serverside keys each frame by its inputs (users with the same "
            "inputs share one copy), computes it once (single-flight) and bounds the total bytes "
            "(STATELAB_SERVERSIDE_MAX_BYTES); session cache keeps one copy per session under a signed session id and "
            "bounds the number of sessions (STATELAB_SESSION_THRESHOLD), least recently used evicted. Either way, "
            "50 MB × users must fit the bound.",
            figure=lambda g: f"Serverside {g.ms('serverside')} p50, {g.traffic('serverside')}; session cache "
            f"{g.ms('session-cache')}, {g.traffic('session-cache')}; a dcc.Store would carry the whole "
            f"frame instead ({g.traffic('browser-store')} at 10,000 rows).",
            across="redis",
        ),
    ),
)
