import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

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
    numbers = [html.Th(f"Measured at {measured.rows:,} rows")] if measured else []
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
                row = measured.by_strategy.get(s["slug"])
                cells.append(measure.cell(row))
            rows.append(html.Tr([title] + cells, **{"data-slug": s["slug"]}))
    return dbc.Table([head, html.Tbody(rows)], hover=True, responsive=True, className="lab-catalogue bg-white")


# The questions a developer choosing a strategy asks, in the order worth asking them.
GUIDE = [
    ("The state is a few choices a user should be able to reload, bookmark, share or undo with Back", "url-state"),
    ("The value is small (an id, a filter, a few KB) and belongs to one user", "browser-store"),
    ("Several outputs need the same expensive result, per user, and the result is large", "serverside"),
    ("Everyone asks for the same few expensive values", "cache-signal"),
    ("The outputs only need a summary of a large result", "aggregates"),
    ("The work takes longer than a request may (30 s) or needs a progress bar", "background"),
    ("The browser can do the filtering itself on a modest dataset", "clientside"),
    ("You append to a figure or table that is already on screen", "patch"),
    ("You are tempted to keep it in a module-level variable", "global-variable"),
]


def guide(listed):
    known = {s["slug"]: s for s in listed}
    items = [
        html.Li([html.Span(question + " → "), dcc.Link(known[slug]["title"], href=page_path(slug))])
        for question, slug in GUIDE
        if slug in known
    ]
    return dbc.Card(
        dbc.CardBody([html.H5("Which one should I use?"), html.Ul(items, className="mb-0")]), className="lab-card mb-4"
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
            guide(listed),
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
