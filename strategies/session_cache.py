"""Session cache: the record of pages/session_cache.py (strategies/__init__.py says what a record is)."""

from __future__ import annotations

from strategies import Strategy
from strategies.spec import per_session_spec

SPEC = per_session_spec("session-cache", "fetch", "Per-session Arrow frame in the store under the signed session id.")

STRATEGY = Strategy(
    slug="session-cache",
    title="Session cache",
    summary="Each page load gets a signed session id; the expensive result is kept on the server under that id. "
    "Callbacks of one session share it without sending it through the browser, and sessions never see each "
    "other's data. The number of sessions held is bounded: the least recently used are evicted.",
    lives="server store (Arrow per session, with TTL and a session limit)",
    multi_worker_safe=True,
    shared_between_users=False,
    survives_reload=False,
    payload_growth="O(1) up (the session id), outputs down",
    pros=[
        "per-session data with no round trip of the frame through the browser",
        "first fetch pays the expensive step, later fetches read the store",
        "bounded: a session limit and a TTL keep the store from filling up",
    ],
    cons=[
        "the server holds one copy per session: memory grows with concurrent users",
        "a reload starts a new session (the id lives in the page), so the work is redone",
        "the session id is a bearer token: it must be validated on every use",
        "under pressure, idle sessions are evicted and must recompute",
    ],
    seeds=["000", "003"],
    order=60,
    claims_isolation=True,
    spec=SPEC,
)
