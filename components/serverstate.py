"""Pieces shared by the server-side-state pages (cache-signal, session-cache, session-files)."""

from __future__ import annotations

import re
import time

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

import i18n
import stores
import workload
from components import figures
from components.sentence import gap, wrap
from i18n import N_, _
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


# The texts of the exceptions these pages show (raised in stores/, workload.py and choices.py, which stay
# English), as marked messages: `error_text` matches an exception's text against them and shows the visitor's
# translation, each %(name)s filled with what the text held there (itself translated when it is one of these).
# In English the result is the exception's own text, byte for byte; a text matching none is shown as it is.
ERROR_TEXTS = (
    # stores/sessions.py
    N_("session id has a bad signature: it was not issued by this server"),
    N_("session id must be a string, got %(type)s"),
    N_("session id is %(length)s characters long; at most %(limit)s are valid"),
    N_("session id is not of the form <uuid4>.<signature>"),
    # stores/sessiondata.py
    N_("your data was evicted to keep %(prefix)s under %(bound)s: yours was the least recently used. "
       "Fetch again to recompute it."),
    N_("your data was evicted: more than %(threshold)s sessions held data and yours was the least recently used. "
       "Fetch again to recompute it."),
    N_("this session has no data on the server yet (or it expired): fetch it first"),
    N_("this result is %(size)s as Arrow, more than %(prefix)s's whole bound of %(bound)s: not stored. Pick fewer rows."),
    # stores/budget.py (a bound, in the texts above and below)
    N_("%(size)s (%(name)s's share of STATELAB_MAX_DATA_BYTES = %(total)s)"),
    # stores/files.py
    N_("refusing %(name)s: it resolves outside %(folder)s"),
    N_("cannot create the session-files folder %(folder)s: %(reason)s"),
    N_("this file would be %(size)s, more than the folder's whole bound of %(bound)s: not written. Pick fewer rows."),
    N_("cannot write in %(folder)s: %(reason)s"),
    N_("cannot write the session file: %(reason)s"),
    N_("cannot read the session file: %(reason)s"),
    N_("no file for this session: it was never saved, or it was cleaned up (%(rules)s). Save again."),
    N_("the oldest files go to keep the folder under %(bound)s; so do %(rules)s"),
    N_("files older than %(minutes)s min, or beyond the newest %(count)s"),
    N_("this session's file expired (%(minutes)s min without a save) and was removed. Save again."),
    # stores/files.py, explain_seed_name: what is wrong with a typed file name
    N_("empty: the source's code would open the folder itself and fail with a server error"),
    N_("contains a NUL byte: open() raises ValueError, a 500 for the source's code"),
    N_("absolute: os.path.join throws the folder away and uses this path as it is"),
    N_("escapes the folder: after '..' is resolved the file lies outside it"),
    N_("contains '..': harmless here only by luck of the depth"),
    N_("contains backslashes: path separators on Windows"),
    N_("a Windows device name (CON, NUL, AUX, COM1 …): on Windows it opens a device, not a file"),
    N_("longer than a file name may be (255 bytes): the source's code fails with a server error"),
    N_("a hidden file name: could overwrite dot-files such as .env or .bashrc"),
    N_("chosen by the user: anyone who types someone else's name reads and overwrites their file"),
    # stores/base.py, stores/codec.py
    N_("lock %(name)s still held by another process after %(seconds)s s"),
    N_("key %(key)s holds %(value)s, not a counter"),
    N_("stored frame is not valid Arrow IPC (%(reason)s)"),
    N_("stored value is not valid JSON (%(reason)s)"),
    N_("data is not valid JSON (%(reason)s at character %(position)s)"),
    N_("data is nested too deeply to be a frame"),
    N_("data must be an object with 'columns' and 'data', got %(type)s"),
    N_("data['columns'] must be a list of column names"),
    N_("data['data'] must be a list of rows"),
    N_("data['columns'] names a column more than once"),
    N_("row %(number)s must be a list of %(width)s values"),
    N_("data lacks the column(s) %(columns)s"),
    N_("row %(number)s, column %(column)s: %(kind)s where a single value belongs"),
    N_("a number too large"),
    # stores/__init__.py, stores/disk.py, stores/redisstore.py
    N_("the session-signing secret could not be read back from the store"),
    N_("the store file %(path)s cannot be read: %(reason)s"),
    N_("the store file %(path)s is gone: the data directory was removed or moved while the site ran. "
       "Put it back, or restart the site (python app.py creates a new one)"),
    N_("the data directory %(path)s does not exist: it was removed while the site ran, or was never created. "
       "Restart the site (python app.py creates it)"),
    N_("cannot open the store directory %(path)s: %(reason)s"),
    N_("the store file %(path)s is damaged or unreadable: it cannot be opened (%(reason)s)"),
    N_("the store file %(path)s is damaged or unreadable (%(reason)s)"),
    N_("the store at %(path)s cannot be read: %(reason)s"),
    N_("the disk store at %(path)s stayed locked for %(seconds)s s (%(reason)s)"),
    N_("Redis at %(url)s did not answer within %(seconds)s s (%(reason)s)"),
    # stores/singleflight.py
    N_("computing %(key)s failed in another process: %(reason)s"),
    N_("waited %(seconds)s s for another process to compute %(key)s"),
    # stores/serverside.py
    N_("no key: the producer has not stored anything for this page yet"),
    N_("the key must be a string, got %(type)s"),
    N_("the key is %(length)s characters long; at most %(limit)s are valid"),
    N_("the key is not of the form <content>@<session id>: it was not issued here"),
    N_("content is named by short lower-case words, digits and dots, not %(content)s"),
    N_("a view is named by short lower-case words, not %(name)s"),
    N_("the frame for %(content)s is %(size)s as Arrow, more than the whole serverside bound of %(bound)s: "
       "not stored. Pick fewer rows"),
    N_("the frame for %(content)s was evicted as fast as it was computed: the serverside bound (%(bound)s) "
       "is too small for this many sessions"),
    N_("the entry for %(content)s has expired, or was evicted to keep serverside under its bound of %(bound)s; "
       "pick the input again to recompute it"),
    N_("the frame for %(content)s was evicted to keep serverside under its bound of %(bound)s; pick the input again"),
    # workload.py, choices.py (an input the page does not offer)
    N_("row count must be a whole number, got %(value)s"),
    N_("row count must be between 1 and %(limit)s, got %(value)s"),
    N_("region must be one of %(options)s, got %(value)s"),
    N_("rows must be one of %(options)s; got %(value)s"),
    N_("region must be one of %(options)s; got %(value)s"),
    N_("%(what)s must be one of %(options)s; got %(value)s"),
    N_("rows must be a whole number; got %(value)s"),
    N_("rows must be a whole number from 1 to %(limit)s; got %(value)s"),
)
_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")


def _pattern(message: str) -> re.Pattern:
    parts, pos = [], 0
    for match in _PLACEHOLDER.finditer(message):
        parts.append(re.escape(message[pos:match.start()]))
        parts.append("%" if match.group(0) == "%%" else f"(?P<{match.group(1)}>.+?)")
        pos = match.end()
    parts.append(re.escape(message[pos:]))
    return re.compile("".join(parts), re.S)


_ERROR_PATTERNS = tuple((message, _pattern(message)) for message in ERROR_TEXTS)


def error_text(error) -> str:
    """An exception's text (or such a text) in the visitor's language: see ERROR_TEXTS."""
    text = str(error)
    if i18n.current() == i18n.DEFAULT or not text:
        return text
    for message, pattern in _ERROR_PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            return i18n.gettext(message, **{name: error_text(value) for name, value in match.groupdict().items()})
    return text


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
        value, _fresh = lab.memo(f"{slug}:first-view:{rows}:{region}", compute, ttl=FIRST_VIEW_SECONDS)
        return codec.frame_from_arrow(value)
    except (stores.StoreError, codec.BadPayload):
        return None


def first_view_note(region: str, rows: int, holds: str, press: str) -> html.Div:
    """`holds`: what this session holds (a sentence); `press`: which button to press, and what it does then."""
    shown = _("Shown on arrival: %(region)s, %(rows)s rows, the result for these inputs computed once for every visitor.",
              region=region, rows=format(rows, ","))
    return html.Div(
        [
            dbc.Badge(_("first view"), color="info", text_color="dark", className="me-2"),
            gap().join((shown, holds, press)),
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
    reason = error_text(exc)
    if isinstance(exc, InvalidSessionId):
        title, text, color = (
            _("Rejected session id"),
            _("%(reason)s. The server did not mint it, so it will not touch any data for it. "
              "Reload the page to get a new session.", reason=reason),
            "danger",
        )
    elif isinstance(exc, stores.LockTimeout):
        title, text, color = (
            _("Still busy"),
            _("%(reason)s. Another request of this session is still computing; try again in a moment.", reason=reason),
            "warning",
        )
    elif isinstance(exc, stores.StoreError):
        title, text, color = _("Store unavailable"), reason, "warning"
    elif isinstance(exc, (NoSessionData, FileMissing)):
        title, text, color = _("No data for this session"), reason, "info"
    elif isinstance(exc, (BadPayload, workload.WorkloadError)):
        title, text, color = _("Rejected input"), reason, "danger"
    else:
        title, text, color = type(exc).__name__, reason, "danger"
    return dbc.Alert([html.Strong(_("%(title)s: ", title=title)), text], color=color, className="mb-2 py-2 small")


def empty_figure(message: str, height: int = 300):
    """An empty figure carrying a message (an exception's text is shown translated), wrapped to fit a half-width card."""
    lines = wrap(error_text(message), 48)[:4]
    return figures.empty("<br>".join(lines) or _("no data"), height)


def session_badge(session_id: str | None) -> html.Span:
    if not session_id:
        return html.Span(_("no session"), className="badge text-bg-secondary")
    return html.Span(
        [_("session") + " ", html.Code(short(session_id), className="text-white")],
        className="badge text-bg-dark lab-session-badge",
        title=_("the first 8 characters of your signed session id"),
    )


def ago(timestamp: float) -> str:
    seconds = max(0.0, time.time() - timestamp)
    if seconds < 1:
        return _("just now")
    if seconds < 90:
        return _("%(seconds)s s ago", seconds=format(seconds, ".0f"))
    if seconds < 5400:
        return _("%(minutes)s min ago", minutes=format(seconds / 60, ".0f"))
    return _("%(hours)s h ago", hours=format(seconds / 3600, ".1f"))


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
    head = html.Thead(html.Tr([html.Th(c) for c in (_("fruit"), _("rows"), _("revenue"), _("mean x"))]))
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
        picker("region", _("Region"), list(workload.REGIONS), region),
        picker("rows", _("Rows"), options(workload.ROW_CHOICES), rows),
    ]
