"""Session files: the record of pages/session_files.py (strategies/__init__.py says what a record is)."""

from __future__ import annotations

from strategies import Strategy
from strategies.spec import per_session_spec

SPEC = per_session_spec(
    "session-files",
    "save",
    "One Arrow file per session; server bytes are those files.",
    server_prefixes=(),
    server_dirs=("session-files",),
)

STRATEGY = Strategy(
    slug="session-files",
    title="Session files",
    summary="One file per session on the server's disk, as in source 003 (English notes on Dash's guide) — but the file name comes only from the "
    "server-minted, signed session id, never from what the user types. Writes are atomic and old files are "
    "cleaned up.",
    lives="server disk: <data_dir>/session-files/<uuid>.arrow",
    multi_worker_safe="one host only",
    shared_between_users=False,
    survives_reload=False,
    payload_growth="O(1) up (the session id), outputs down",
    pros=[
        "no server to run: a folder on the web server's disk",
        "frames stay on the server; each file is one session's, named by the server",
        "easy to inspect and to clean up (max age, max count)",
    ],
    cons=[
        "works only while every worker shares one disk: a second host sees other files",
        "a user-chosen file name (source 003's version) is a path traversal hole",
        "disk I/O on every read; needs cleanup, or the folder grows forever",
    ],
    seeds=["003"],
    order=70,
    claims_isolation=True,
    spec=SPEC,
)
