import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import guide
from components import measured as measure
from components.strategy import GROUPS, page_path, strategies, verdict

dash.register_page(__name__, path="/", name="Home", title="Dash State Lab", order=0)

COLUMNS = [
    ("lives", "Data lives in"),
    ("multi_worker_safe", "Multi-worker safe"),
    ("shared_between_users", "Shared between users"),
    ("survives_reload", "Survives reload"),
    ("payload_growth", "Payload per interaction"),
]


def _cell(key, value):
    if key == "payload_growth":
        return html.Td(html.Code(value))
    if key == "lives":
        return html.Td(value)
    return html.Td(verdict(value, neutral=key == "shared_between_users"))


def catalogue(listed, measured=None):
    numbers = [html.Th(f"Measured at {measured.rows:,} rows" if measured.source == "latest" else "Reference run")] if measured else []
    if measured and measured.server:
        numbers.append(html.Th("This server"))
    head = html.Thead(html.Tr([html.Th("Strategy")] + [html.Th(label) for _, label in COLUMNS] + numbers))
    rows = []
    for group, label in GROUPS.items():
        members = [s for s in listed if s["group"] == group]
        if not members:
            continue
        span = len(COLUMNS) + 1 + len(numbers)
        rows.append(html.Tr(html.Th(label, colSpan=span, className="table-light small text-uppercase")))
        for s in members:
            # The summary is a hover hint: the matrix must stay scannable on a projector.
            title = html.Td(html.Span(dcc.Link(s["title"], href=page_path(s["slug"])), title=s["summary"]))
            cells = [_cell(key, s[key]) for key, _ in COLUMNS]
            if measured:
                cells.append(measure.cell(measured.by_strategy.get(s["slug"])))
                if measured.server:
                    cells.append(measure.cell(measured.server.by_strategy.get(s["slug"]), run="server"))
            rows.append(html.Tr([title] + cells, **{"data-slug": s["slug"]}))
    return dbc.Table([head, html.Tbody(rows)], hover=True, responsive=True, className="lab-catalogue bg-white")


# The questions a developer choosing a strategy asks, in the order worth asking them:
# (case, strategy, the answer, the measured figure behind it, across hosts — components/guide.py).
GUIDE = [
    (
        "A large dataset (say 500 MB) that every user reads and nobody changes",
        "global-variable",
        "Load it once at start-up into a module-level variable and never assign to it again: reading a global is safe. "
        "The cost is memory: each gunicorn worker holds its own copy — 4 workers × 500 MB = 2 GB on one host — so "
        "budget RAM per worker, or keep it in a shared store and load only the slices a callback needs.",
        lambda: f"Reading a global: {guide.ms('global-variable')} p50, against a {guide.ms('baseline-noop')} no-op "
        "request. Changing it is the bug the page shows: "
        f"{guide.stale('global-variable', 'default')} on one host, {guide.stale('global-variable')} on two.",
        "copy",
    ),
    (
        "About 50 MB of data per user, used by several callbacks",
        "serverside",
        "Keep it on the server, give the browser a key. Serverside keys each frame by its inputs (users with the same "
        "inputs share one copy), computes it once (single-flight) and bounds the total bytes "
        "(STATELAB_SERVERSIDE_MAX_BYTES); session cache keeps one copy per session under a signed session id and "
        "bounds the number of sessions (STATELAB_SESSION_THRESHOLD), least recently used evicted. Either way, "
        "50 MB × users must fit the bound.",
        lambda: f"Serverside {guide.ms('serverside')} p50, {guide.traffic('serverside')}; session cache "
        f"{guide.ms('session-cache')}, {guide.traffic('session-cache')}; a dcc.Store would carry the whole "
        f"frame instead ({guide.traffic('browser-store')} at 10,000 rows).",
        "redis",
    ),
    (
        "A computation that takes 2 minutes",
        "background",
        "A background callback: the request returns at once, a task queue runs the job, the browser polls for "
        "progress and the result, and Cancel stops it. A normal callback holds a request for its whole run and meets "
        "the request timeout (30 s here; a proxy's is often shorter): the background page shows its synchronous twin stopped.",
        lambda: f"Measured: {guide.ms('background')} p50 per job of the benchmark's size, "
        f"{(guide.result('background') or {}).get('polls_per_interaction', 'unknown')} poll(s) per job, "
        f"{(guide.result('background') or {}).get('errors', 'unknown')} errors.",
        "redis",
    ),
    (
        "Several web hosts behind a load balancer",
        "cache-signal",
        "Set REDIS_URL on every host: the stores, the caches and the background jobs then live in one Redis "
        "(embedded mode keeps them on one machine's disk). State in the browser works anywhere; a module global "
        "or a file on local disk never does.",
        lambda: f"Two hosts on one Redis: cache + signal {guide.stale('cache-signal')}, serverside "
        f"{guide.stale('serverside')}, session cache {guide.stale('session-cache')}; but session files "
        f"{guide.stale('session-files')} (a file on the other host's disk) and the global {guide.stale('global-variable')}.",
        "redis",
    ),
    ("The state is a few choices a user should be able to reload, bookmark, share or undo with Back", "url-state",
     "Put them in the query string.", lambda: f"{guide.ms('url-state')} p50, {guide.traffic('url-state')}.", "browser"),
    ("The value is small (an id, a filter, a few KB) and belongs to one user", "browser-store",
     "A dcc.Store; past ~5 MB web storage refuses it.", lambda: f"{guide.traffic('browser-store')} at 10,000 rows.",
     "browser"),
    ("Everyone asks for the same few expensive values", "cache-signal",
     "Memoize on a shared cache and send a signal.",
     lambda: f"{guide.ms('cache-signal')} p50, {(guide.result('cache-signal') or {}).get('computations', 'unknown')} "
     "computations for all sessions once warm.", "redis"),
    ("The outputs only need a summary of a large result", "aggregates",
     "Ship the aggregates, not the frame.", lambda: f"{guide.traffic('aggregates')}, against the hidden div's "
     f"{guide.traffic('hidden-div')}.", "browser"),
    ("The browser can do the filtering itself on a modest dataset", "clientside",
     "Load the rows once, filter in JavaScript.", "No request per interaction.", "browser"),
    ("You append to a figure or table that is already on screen", "patch",
     "Return a dash.Patch.", lambda: f"{guide.traffic('patch')} per 1,000-row append.", "browser"),
    ("You are tempted to keep a value a callback changes in a module-level variable", "global-variable",
     "Don't: each worker has its own copy, shared by every user.",
     lambda: f"{guide.stale('global-variable')} on two hosts.", "one-machine"),
]


def decision_guide(listed):
    known = {s["slug"]: s for s in listed}
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2("Which one should I use?", className="h5"),
                guide.table(GUIDE, known),
                guide.reference_note(),
            ]
        ),
        className="lab-card mb-4",
        id="home-guide",
    )


def layout(**_query):
    listed = strategies()
    measured = measure.load()
    return html.Div(
        [
            html.Div(
                [
                    html.Div("A field guide you can click", className="lab-eyebrow"),
                    html.H1("Sharing state between Dash callbacks", className="lab-title"),
                    html.P(
                        "Dash runs your callbacks on several worker processes, so a value one callback keeps "
                        "in a Python variable is invisible to the next. Each strategy below is a live demo on "
                        "this multi-worker server, instrumented: you see which worker answered, how many bytes "
                        "crossed the wire and how often the expensive step ran. Open a page in two tabs and compare.",
                        className="lead lab-lead",
                    ),
                ],
                className="lab-header",
            ),
            dbc.Card(dbc.CardBody([catalogue(listed, measured), measure.caption(measured)]), className="lab-card mb-4"),
            decision_guide(listed),
            html.P(
                [
                    f"{len(listed)} strategies. The ",
                    dcc.Link("benchmark", href=dash.get_relative_path("/benchmark")),
                    " runs all of them on the same workload and reports latency, bytes and worker hits side by side.",
                ],
                className="text-muted",
            ),
        ]
    )
