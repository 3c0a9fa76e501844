"""Live instruments beside every demo.

Browser side (assets/instruments.js): every callback request's worker pid, bytes
up and down and round-trip time, as the browser itself saw them. Bytes down come twice, as
deployed: on the wire (Resource Timing's encodedBodySize: brotli or gzip per STATELAB_COMPRESS)
and decoded (the JSON Dash parses); bytes up are the body as sent, which browsers never compress.
Server side (this module): the strategy's counters from telemetry — how often the
expensive step ran, cache hits and misses, plus whatever a page registers.

"reset counters" moves this browser's own baseline (kept in its localStorage): the counts
start again from zero here and nowhere else. Only the operator's reset clears the strategy's
counters site-wide. The namespace a request names is checked, so a forged or missing one
reads nothing and erases nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import dash_bootstrap_components as dbc
from dash import MATCH, ClientsideFunction, Input, Output, State, callback, clientside_callback, ctx, dcc, html, no_update

import stores
from components import operator
from components.serverstate import error_text
from i18n import N_, _, gettext
from stores import telemetry

# Extra server-side readings a page adds to its panel: slug -> fn(lab) -> [(label, value)].
_EXTRA: dict[str, Callable] = {}
LABELS = {"compute": N_("expensive step ran"), "hit": N_("cache hits"), "miss": N_("cache misses"), "evict": N_("evictions")}
SHOWN = ("compute", "hit", "miss")
_NS = re.compile(r"[a-z][a-z0-9-]{0,40}")


def register_stats(slug: str, readings: Callable) -> None:
    _EXTRA[slug] = readings


# Which telemetry counters a page shows (default: all three); a page with no cache, or no
# expensive step, lists fewer, so it never shows counters stuck at 0 that do not apply to it.
_COUNTERS: dict[str, tuple[str, ...]] = {}


def register_counters(slug: str, kinds) -> None:
    unknown = [k for k in kinds if k not in LABELS]
    if unknown:
        raise ValueError(f"unknown counter(s) {unknown}; known: {list(LABELS)}")
    _COUNTERS[slug] = tuple(kinds)


def _id(kind: str, slug: str) -> dict:
    return {"type": f"lab-{kind}", "ns": slug}


def texts() -> dict:
    """What assets/instruments.js writes, in the visitor's language ({name}: filled in by the browser)."""
    return {
        "last": _("**Last interaction:** {count} request(s), **{up} up** (raw), **{wire} down on the wire** "
                  "({down} decoded)"),
        "lastEncoded": _("**Last interaction:** {count} request(s), **{up} up** (raw), **{wire} down on the wire** "
                         "({down} decoded, {encodings})"),
        "lastPlain": _("**Last interaction:** {count} request(s), **{up} up** (raw), **{wire} down on the wire** "
                       "({down} decoded, not compressed)"),
        "header": _("| output | pid | up | wire | ms |"),
        "poll": _("{output} (poll)"),
        "unknown": _("unknown"),
        "workers": _("**Workers seen by this tab:** {count}{pids} over {requests} request(s)"),
        "workersUnknown": _("**Workers seen by this tab:** {count}{pids} over {requests} request(s); {unknown} answered "
                            "without a worker pid (an error before the app)"),
        "noAnswer": _("The server did not answer this request ({error}): the worker serving it may have stopped. "
                      "Try again."),
        "httpError": _("The server answered {status} to a callback for {page}."),
        "httpErrorHere": _("The server answered {status} to a callback for this page."),
    }


def panel(slug: str) -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader(
                [
                    html.Span(_("Instruments"), className="fw-semibold"),
                    dbc.Button(_("reset counters"), id=_id("reset", slug), size="sm", color="link", className="float-end p-0",
                               title=_("Counts start again from zero in this browser; other visitors' counts are unchanged")),
                ]
            ),
            dbc.CardBody(
                [
                    html.Div(id=_id("stats", slug), className="lab-stats"),
                    dcc.Markdown(_("Waiting for the first callback…"), id=_id("log", slug), className="lab-log"),
                    dcc.Interval(id=_id("tick", slug), interval=1000),
                    dcc.Store(id=_id("version", slug), data=0),
                    dcc.Store(id=_id("baseline", slug), storage_type="local"),
                    dcc.Store(id=_id("texts", slug), data=texts()),
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
    [Output(_id(name, MATCH), prop) for name, prop in (("log", "children"), ("version", "data"))],
    Input(_id("tick", MATCH), "n_intervals"),
    [State(_id(name, MATCH), prop) for name, prop in (("tick", "id"), ("version", "data"), ("texts", "data"))],
)


def _baseline(value) -> dict[str, int]:
    """This browser's baseline as it sent it: only small non-negative counts of known kinds."""
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if k in LABELS and isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**53}


@callback(
    Output(_id("stats", MATCH), "children"),
    Output(_id("baseline", MATCH), "data"),
    Input(_id("version", MATCH), "data"),
    Input(_id("reset", MATCH), "n_clicks"),
    State(_id("stats", MATCH), "id"),
    State(_id("baseline", MATCH), "data"),
)
def show_stats(_version, _reset, stats_id, baseline):
    slug = stats_id.get("ns") if isinstance(stats_id, dict) else None
    if not isinstance(slug, str) or not _NS.fullmatch(slug):
        return dbc.Alert(_("Unknown instruments %(name)s: nothing to show.", name=repr(str(slug)[:60])), color="warning",
                         className="mb-2 py-2 small"), no_update
    lab = stores.current()
    baseline, new_baseline = _baseline(baseline), no_update
    try:
        counts = {k: telemetry.counter(lab.store, k, slug) for k in _COUNTERS.get(slug, SHOWN)}
        if isinstance(ctx.triggered_id, dict) and ctx.triggered_id.get("type") == "lab-reset":
            if operator.is_operator(lab=lab):  # the operator's reset is site-wide
                telemetry.reset(lab.store, slug)
                counts = dict.fromkeys(counts, 0)
            baseline = new_baseline = counts
        elif any(counts.get(k, 0) < v for k, v in baseline.items()):  # counters were reset site-wide since
            baseline = new_baseline = {}
        items = [metric(gettext(LABELS[k]), max(0, counts[k] - baseline.get(k, 0))) for k in counts]
        if slug in _EXTRA:
            items += [metric(label, value) for label, value in _EXTRA[slug](lab)]
    except stores.StoreError as exc:
        return dbc.Alert(_("Store unavailable: %(reason)s", reason=error_text(exc)), color="warning",
                         className="mb-2 py-2 small"), no_update
    return html.Div(items, className="lab-metrics"), new_baseline
