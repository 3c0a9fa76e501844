"""Live instruments beside every demo.

Browser side (assets/instruments.js): every callback request's worker pid, bytes
up and down and round-trip time, as the browser itself saw them.
Server side (this module): the strategy's counters from telemetry — how often the
expensive step ran, cache hits and misses, plus whatever a page registers.
"""

from __future__ import annotations

from collections.abc import Callable

import dash_bootstrap_components as dbc
from dash import MATCH, ClientsideFunction, Input, Output, State, callback, clientside_callback, ctx, dcc, html

import stores
from stores import telemetry

# Extra server-side readings a page adds to its panel: slug -> fn(lab) -> [(label, value)].
_EXTRA: dict[str, Callable] = {}
LABELS = {"compute": "expensive step ran", "hit": "cache hits", "miss": "cache misses", "evict": "evictions"}


def register_stats(slug: str, readings: Callable) -> None:
    _EXTRA[slug] = readings


def _id(kind: str, slug: str) -> dict:
    return {"type": f"lab-{kind}", "ns": slug}


def panel(slug: str) -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader(
                [
                    html.Span("Instruments", className="fw-semibold"),
                    dbc.Button("reset counters", id=_id("reset", slug), size="sm", color="link", className="float-end p-0"),
                ]
            ),
            dbc.CardBody(
                [
                    html.Div(id=_id("stats", slug), className="lab-stats"),
                    dcc.Markdown("Waiting for the first callback…", id=_id("log", slug), className="lab-log"),
                    dcc.Interval(id=_id("tick", slug), interval=1000),
                    dcc.Store(id=_id("version", slug), data=0),
                ]
            ),
        ],
        className="lab-card lab-instruments mb-3",
    )


def metric(label: str, value, hint: str | None = None, tone: str = "") -> html.Div:
    return html.Div(
        [html.Div(str(value), className=f"lab-metric-value {tone}"), html.Div(label, className="lab-metric-label")],
        className="lab-metric",
        title=hint,
    )


# Render the browser-side log without a server round trip.
clientside_callback(
    ClientsideFunction(namespace="lab", function_name="render"),
    Output(_id("log", MATCH), "children"),
    Output(_id("version", MATCH), "data"),
    Input(_id("tick", MATCH), "n_intervals"),
    State(_id("tick", MATCH), "id"),
    State(_id("version", MATCH), "data"),
)


@callback(
    Output(_id("stats", MATCH), "children"),
    Input(_id("version", MATCH), "data"),
    Input(_id("reset", MATCH), "n_clicks"),
    State(_id("stats", MATCH), "id"),
)
def show_stats(_version, _reset, stats_id):
    slug = stats_id["ns"]
    lab = stores.current()
    try:
        if ctx.triggered_id and ctx.triggered_id.get("type") == "lab-reset":
            telemetry.reset(lab.store, slug)
        items = [metric(LABELS[k], telemetry.counter(lab.store, k, slug)) for k in ("compute", "hit", "miss")]
        if slug in _EXTRA:
            items += [metric(label, value) for label, value in _EXTRA[slug](lab)]
    except stores.StoreError as exc:
        return dbc.Alert(f"Store unavailable: {exc}", color="warning", className="mb-2 py-2 small")
    return html.Div(items, className="lab-metrics")
