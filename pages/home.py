import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import guide
from components import measured as measure
from components.sentence import inline
from components.strategy import GROUPS, guide_rows, page_path, strategies, verdict
from i18n import N_, _, format_bytes, lazy_gettext

dash.register_page(__name__, path="/", name=N_("Home"), title="Dash State Lab", order=0)

# Labels are lazy (module level): str() them where they become a prop.
COLUMNS = [
    ("lives", lazy_gettext("Data lives in")),
    ("multi_worker_safe", lazy_gettext("Multi-worker safe")),
    ("shared_between_users", lazy_gettext("Shared between users")),
    ("survives_reload", lazy_gettext("Survives reload")),
    ("payload_growth", lazy_gettext("Payload per interaction")),
]


def _cell(key, value):
    if key == "payload_growth":
        return html.Td(html.Code(value))
    if key == "lives":
        return html.Td(value)
    return html.Td(verdict(value, neutral=key == "shared_between_users"))


def catalogue(listed, measured=None):
    numbers = []
    if measured:
        counted = f"{measured.rows:,}"
        numbers.append(html.Th(_("Measured at %(rows)s rows", rows=counted) if measured.source == "latest" else _("Reference run")))
    if measured and measured.server:
        numbers.append(html.Th(_("This server")))
    head = html.Thead(html.Tr([html.Th(_("Strategy"))] + [html.Th(str(label)) for _key, label in COLUMNS] + numbers))
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
            cells = [_cell(key, s[key]) for key, _label in COLUMNS]
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
    raw, down, decoded = f"{up:,}", f"{int(wire):,}", f"{int(row['response_bytes']):,}"
    td.children.children.append(html.Div(
        _("%(bytes)s on the wire", bytes=format_bytes(up + int(wire))), className="lab-wire small text-muted",
        title=_("As deployed: %(up)s B up (raw), %(down)s B down compressed (%(encoding)s), %(decoded)s B decoded",
                up=raw, down=down, encoding=row.get("content_encoding") or "identity", decoded=decoded),
        **{"data-wire": str(up + int(wire))},
    ))
    return td


def _pushed(slug: str) -> html.Td:
    """A live page has no row in the standard run: its figures come from the push run (docs/bench/push)."""
    push, poll = guide.pushed(slug), guide.pushed(slug, "poll")
    key = "propagation_ms_p95" if "propagation_ms_p95" in push else "first_progress_ms_p50"
    figure = html.Span(f"{push.get(key, 0):,.0f} ms", className="lab-ms")
    polled = f"{poll.get(key, 0):,.0f}"
    pushed = _("{ms} pushed, p95 to every other tab") if key == "propagation_ms_p95" else _("{ms} pushed, to first progress")
    return html.Td(
        html.Div([html.Div(inline(pushed, ms=figure), className="lab-measured-figures"),
                  html.Div(_("polling: %(ms)s ms", ms=polled), className="small text-muted")],
                 title=_("From the push reference run (python -m bench --scenario push, docs/bench/push)")),
        **{"data-run": "push"},
    )


# The questions a developer choosing a strategy asks, in the order worth asking them: each strategy's
# record declares its rows (strategies/<module>.py, Guide), read back from dash.page_registry.


def decision_guide(listed):
    known = {s["slug"]: s for s in listed}
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(_("Which one should I use?"), className="h5"),
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
                    html.Div(_("A field guide you can click"), className="lab-eyebrow"),
                    html.H1(_("Sharing state between Dash callbacks"), className="lab-title"),
                    html.P(
                        _("Dash runs your callbacks on several worker processes, so a value one callback keeps "
                        "in a Python variable is invisible to the next. Each strategy below is a live demo on "
                        "this multi-worker server, instrumented: you see which worker answered, how many bytes "
                        "crossed the wire and how often the expensive step ran. Open a page in two tabs and compare."),
                        className="lead lab-lead",
                    ),
                ],
                className="lab-header",
            ),
            dbc.Card(dbc.CardBody([catalogue(listed, measured), measure.caption(measured)]), className="lab-card mb-4"),
            decision_guide(listed),
            html.P(
                inline(
                    _("%(count)s strategies. The {benchmark} runs all of them on the same workload and reports latency, "
                      "bytes and worker hits side by side.", count=len(listed)),
                    benchmark=dcc.Link(_("benchmark"), href=page_path("benchmark")),
                ),
                className="text-muted",
            ),
        ]
    )
