"""Pieces shared by the server-side-state pages (cache-signal, session-cache, session-files)."""

from __future__ import annotations

import textwrap
import time

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

import stores
import workload
from components import figures
from stores import codec
from stores.codec import BadPayload
from stores.files import FileMissing, SessionFiles
from stores.sessiondata import NoSessionData, SessionData
from stores.sessions import InvalidSessionId, short

SESSION_TTL = 3600.0
# What the callbacks of these pages catch and show with `problem`.
EXPECTED = (
    InvalidSessionId,
    stores.StoreError,
    NoSessionData,
    FileMissing,
    BadPayload,
    workload.WorkloadError,
)  # seconds of no use after which a session's server data expires


FIRST_VIEW_SECONDS = 24 * 3600


def first_frame(lab: stores.Lab, slug: str, rows: int, region: str) -> pd.DataFrame | None:
    """The expensive step's result for the page's default inputs, computed once for every visitor.

    A new session starts with a copy of it (the page says so), so the page shows a real result on
    arrival instead of making every visitor wait for the expensive step; the workload is seeded, so
    the copy is exactly what this session would have computed. None when the store cannot give it.
    """

    def compute() -> bytes:
        cleaned = workload.expensive_step(rows, region, delay=lab.settings.compute_delay)
        lab.count("compute", slug)
        return codec.frame_to_arrow(cleaned)

    try:
        value, _ = lab.memo(f"{slug}:first-view:{rows}:{region}", compute, ttl=FIRST_VIEW_SECONDS)
        return codec.frame_from_arrow(value)
    except (stores.StoreError, codec.BadPayload):
        return None


def first_view_note(region: str, rows: int, holds: str, button: str) -> html.Div:
    return html.Div(
        [
            dbc.Badge("first view", color="info", text_color="dark", className="me-2"),
            f"Shown on arrival: {region}, {rows:,} rows, the result for these inputs computed once for every visitor. "
            f"{holds} Press {button}: the expensive step then runs for this session alone.",
        ],
        className="small lab-first-view",
    )


def session_data(lab: stores.Lab, prefix: str) -> SessionData:
    """A per-session store of this process's lab: keys "<prefix>:<uuid>:…", bounded by session_threshold and by
    the prefix's share of the data bound (the strategy record's store_prefix, a key of config.DEFAULT_SHARES)."""
    return SessionData(
        lab.store,
        lab.check_session,
        prefix=prefix,
        ttl=SESSION_TTL,
        threshold=lab.settings.session_threshold,
        on_evict=lambda n: lab.count("evict", prefix, n),
        max_bytes=stores.budget.bound(lab.settings, prefix),
        bound_text=stores.budget.describe(lab.settings, prefix),
    )


def session_files(lab: stores.Lab, prefix: str) -> SessionFiles:
    """One file per session under <data_dir>/<prefix>, at most session_threshold files, bounded by the prefix's share."""
    return SessionFiles(
        lab.settings.data_dir / prefix,
        lab.check_session,
        max_age=SESSION_TTL,
        max_files=lab.settings.session_threshold,
        max_bytes=stores.budget.bound(lab.settings, prefix),
        bound_text=stores.budget.describe(lab.settings, prefix),
    )


def problem(exc: Exception) -> dbc.Alert:
    """A clear in-page message for the errors these pages expect; never a traceback."""
    if isinstance(exc, InvalidSessionId):
        title, text, color = (
            "Rejected session id",
            f"{exc}. The server did not mint it, so it will not touch any data for it. Reload the page to get a new session.",
            "danger",
        )
    elif isinstance(exc, stores.LockTimeout):
        title, text, color = (
            "Still busy",
            f"{exc}. Another request of this session is still computing; try again in a moment.",
            "warning",
        )
    elif isinstance(exc, stores.StoreError):
        title, text, color = "Store unavailable", str(exc), "warning"
    elif isinstance(exc, (NoSessionData, FileMissing)):
        title, text, color = "No data for this session", str(exc), "info"
    elif isinstance(exc, (BadPayload, workload.WorkloadError)):
        title, text, color = "Rejected input", str(exc), "danger"
    else:
        title, text, color = type(exc).__name__, str(exc), "danger"
    return dbc.Alert([html.Strong(title + ": "), text], color=color, className="mb-2 py-2 small")


def empty_figure(message: str, height: int = 300):
    """An empty figure carrying a message, wrapped to fit a half-width card."""
    lines = textwrap.wrap(message, 48)[:4]
    return figures.empty("<br>".join(lines) or "no data", height)


def session_badge(session_id: str | None) -> html.Span:
    if not session_id:
        return html.Span("no session", className="badge text-bg-secondary")
    return html.Span(
        ["session ", html.Code(short(session_id), className="text-white")],
        className="badge text-bg-dark lab-session-badge",
        title="the first 8 characters of your signed session id",
    )


def ago(timestamp: float) -> str:
    seconds = max(0.0, time.time() - timestamp)
    if seconds < 1:
        return "just now"
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def clock(timestamp: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(timestamp))


def kb(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 2**20:.2f} MB"


def summary_table(cleaned: pd.DataFrame) -> dbc.Table:
    table = workload.summary(cleaned)
    head = html.Thead(html.Tr([html.Th(c) for c in ("fruit", "rows", "revenue", "mean x")]))
    body = html.Tbody(
        [
            html.Tr([html.Td(r.fruit), html.Td(f"{r.rows:,}"), html.Td(f"{r.revenue:,.0f}"), html.Td(f"{r.mean_x:.1f}")])
            for r in table.itertuples()
        ]
    )
    return dbc.Table([head, body], size="sm", striped=True, responsive=True, className="mb-0 lab-summary-table")


def options(values) -> list[dict]:
    return [{"label": f"{v:,}" if isinstance(v, int) else v, "value": v} for v in values]


def consumers(ids, table_title: str, empty: str, fruit: str) -> dbc.Row:
    """The two outputs that read a session's server-held data: a fruit scatter and a summary table."""
    graph = dbc.Card(
        [
            dbc.CardHeader(dbc.RadioItems(id=ids("fruit"), options=list(workload.FRUITS), value=fruit, inline=True)),
            dcc.Graph(id=ids("graph"), figure=figures.empty(empty), config=figures.GRAPH_CONFIG),
        ],
        className="lab-card mb-3",
    )
    table = dbc.Card(
        [dbc.CardHeader(table_title), dbc.CardBody(html.Div(id=ids("table"), className="small text-muted", children=empty))],
        className="lab-card mb-3",
    )
    return dbc.Row([dbc.Col(graph, md=7), dbc.Col(table, md=5)], className="g-3")


def mint_session() -> tuple[str | None, dbc.Alert | None]:
    """A new signed session id for this page load, or the alert saying why there is none."""
    try:
        return stores.current().new_session(), None
    except stores.StoreError as exc:
        return None, problem(exc)


def workload_pickers(ids, region: str, width: int, rows: int = workload.DEFAULT_ROWS) -> list[dbc.Col]:
    """Labelled dropdowns for the workload's inputs: ids("region") and ids("rows")."""

    def picker(name, label, choices, value):
        dropdown = dcc.Dropdown(id=ids(name), options=choices, value=value, clearable=False)
        return dbc.Col([dbc.Label(label, html_for=ids(name)), dropdown], md=width)

    return [
        picker("region", "Region", list(workload.REGIONS), region),
        picker("rows", "Rows", options(workload.ROW_CHOICES), rows),
    ]
