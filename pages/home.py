import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import guide
from components import measured as measure
from components.strategy import GROUPS, guide_rows, page_path, strategies, verdict
from reports.fmt import human_bytes

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
                row = measured.by_strategy.get(s["slug"])
                cells.append(_measured(row) if row or not guide.pushed(s["slug"]) else _pushed(s["slug"]))
                if measured.server:
                    cells.append(_measured(measured.server.by_strategy.get(s["slug"]), run="server"))
            rows.append(html.Tr([title] + cells, **{"data-slug": s["slug"]}))
    return dbc.Table([head, html.Tbody(rows)], hover=True, responsive=True, className="lab-catalogue bg-white")


def _measured(row: dict | None, run: str = "reference") -> html.Td:
    """The measured cell, plus the bytes as deployed when the run has them: the upload raw (browsers never
    compress a request body) and the answers as they crossed the wire, compressed."""
    td = measure.cell(row, run=run)
    wire = (row or {}).get("response_bytes_wire")
    if wire is None or row.get("request_bytes") is None:
        return td
    up = int(row["request_bytes"])
    td.children.children.append(html.Div(
        f"{human_bytes(up + int(wire))} on the wire", className="lab-wire small text-muted",
        title=f"As deployed: {up:,} B up (raw), {int(wire):,} B down compressed ({row.get('content_encoding') or 'identity'}), "
        f"{int(row['response_bytes']):,} B decoded",
        **{"data-wire": str(up + int(wire))},
    ))
    return td


def _pushed(slug: str) -> html.Td:
    """A live page has no row in the standard run: its figures come from the push run (docs/bench/push)."""
    push, poll = guide.pushed(slug), guide.pushed(slug, "poll")
    key = "propagation_ms_p95" if "propagation_ms_p95" in push else "first_progress_ms_p50"
    what = "p95 to every other tab" if key == "propagation_ms_p95" else "to first progress"
    return html.Td(
        html.Div([html.Div([html.Span(f"{push.get(key, 0):,.0f} ms", className="lab-ms"), f" pushed, {what}"],
                           className="lab-measured-figures"),
                  html.Div(f"polling: {poll.get(key, 0):,.0f} ms", className="small text-muted")],
                 title="From the push reference run (python -m bench --scenario push, docs/bench/push)"),
        **{"data-run": "push"},
    )


# The questions a developer choosing a strategy asks, in the order worth asking them: each strategy's
# record declares its rows (strategies/<module>.py, Guide), read back from dash.page_registry.


def decision_guide(listed):
    known = {s["slug"]: s for s in listed}
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2("Which one should I use?", className="h5"),
                guide.table(guide_rows(), known),
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
                    dcc.Link("benchmark", href=page_path("benchmark")),
                    " runs all of them on the same workload and reports latency, bytes and worker hits side by side.",
                ],
                className="text-muted",
            ),
        ]
    )
