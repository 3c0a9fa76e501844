"""Cache + signal: the record of pages/cache_signal.py (strategies/__init__.py says what a record is)."""

from __future__ import annotations

import workload
from strategies import Guide, Strategy
from strategies.spec import REGION, Act, Read, Spec, identify_workload

SPEC = Spec(
    slug="cache-signal",
    takes_rows=False,
    fixed_rows=workload.DEFAULT_ROWS,
    round=(Act("region", "value", REGION),),
    reads=tuple(Read(f"graph-{kind}", "figure", identify_workload) for kind in ("scatter", "line", "histogram2d", "histogram2dcontour")),
    flask_cache=True,
    stampede=(Act("region", "value", REGION),),
    stampede_by_default=True,
    note="flask-caching memoize on the shared backend, at the page's fixed 10,000 rows.",
)

STRATEGY = Strategy(
    slug="cache-signal",
    title="Cache + signal",
    summary="One callback runs the expensive step through a memoized function on the shared flask-caching backend, "
    "then sets a tiny signal; four graphs read the cached result. Each input value is computed once — for every "
    "worker and every session.",
    lives="server cache (flask-caching on Redis or files), shared by everyone",
    multi_worker_safe=True,
    shared_between_users=True,
    survives_reload=True,
    payload_growth="O(1) up (the signal), figures down",
    pros=[
        "the expensive step runs once per input value, whatever worker or session asks",
        "later sessions get precomputed results instantly",
        "the browser only holds a tiny signal; the frame never travels up",
    ],
    cons=[
        "no stampede protection: two sessions asking at once both compute",
        "shared by all users: wrong for per-user or per-session data",
        "one cache entry per distinct argument: fine for a dropdown, not for free text",
        "every read deserializes the whole value (JSON here: no pickle)",
    ],
    seeds=["000", "002", "004"],
    order=50,
    claims_isolation=True,
    spec=SPEC,
    guide=(
        Guide(
            rank=40,
            case="Several web hosts behind a load balancer",
            answer="Set REDIS_URL on every host: the stores, the caches and the background jobs then live in one Redis "
            "(embedded mode keeps them on one machine's disk). State in the browser works anywhere; a module global "
            "or a file on local disk never does.",
            figure=lambda g: f"Two hosts on one Redis: cache + signal {g.stale('cache-signal')}, serverside "
            f"{g.stale('serverside')}, session cache {g.stale('session-cache')}; but session files "
            f"{g.stale('session-files')} (a file on the other host's disk) and the global {g.stale('global-variable')}.",
            across="redis",
        ),
        Guide(
            rank=70,
            case="Everyone asks for the same few expensive values",
            answer="Memoize on a shared cache and send a signal.",
            figure=lambda g: f"{g.ms('cache-signal')} p50, {(g.result('cache-signal') or {}).get('computations', 'unknown')} "
     "computations for all sessions once warm.",
            across="redis",
        ),
    ),
)
