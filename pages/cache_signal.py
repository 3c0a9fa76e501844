import os
import time

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html
from flask import g

import choices
import stores
import workload
from components import figures, instruments, strategy
from components.ids import Ids
from components.sentence import rich
from components.serverstate import EXPECTED, ago, clock, empty_figure, problem
from components.source import source_panel
from i18n import _
from stores.caching import memoize
from stores.codec import frame_from_json, frame_to_json
from strategies.cache_signal import STRATEGY

dash.register_page(__name__, **STRATEGY.page_args())
META = STRATEGY.meta()
ids = Ids(META["slug"])
SLUG = META["slug"]
KINDS = ("scatter", "line", "histogram2d", "histogram2dcontour")
CACHE_SECONDS = 8 * 3600  # the seed's timeout


# The "global store": computed at most once per region while cached; the cache is shared
# by every worker (and every host in Redis mode). Values must be JSON: no pickle.
@memoize(timeout=CACHE_SECONDS)
def global_store(region):
    lab = stores.current()
    started = time.perf_counter()
    cleaned = workload.expensive_step(workload.DEFAULT_ROWS, region, delay=lab.settings.compute_delay)
    lab.count("compute", SLUG)
    lab.store.incr(f"{SLUG}:computed:{region}")
    g.cache_signal_computed = True  # tells `read` this call was a miss
    return {
        "frame": frame_to_json(cleaned),
        "region": region,
        "computed_at": time.time(),
        "seconds": round(time.perf_counter() - started, 3),
        "pid": os.getpid(),
    }


def read(region):
    """The cached value for region, and whether this call had to compute it."""
    region = choices.region(region)
    g.cache_signal_computed = False
    payload = global_store(region)
    computed = g.pop("cache_signal_computed", False)
    stores.current().count("miss" if computed else "hit", SLUG)
    return payload, computed


def region_stats(lab):
    counts = " · ".join(str(lab.store.get_int(f"{SLUG}:computed:{r}")) for r in workload.REGIONS)
    try:
        cached = sum(global_store.cached(r) for r in workload.REGIONS)
    except Exception:  # a readout: the cache backend's own errors (redis, OS) mean "unknown"
        cached = "?"
    return [
        (_("times computed: %(regions)s", regions=" · ".join(workload.REGIONS)), counts),
        (_("regions in the cache"), f"{cached} / {len(workload.REGIONS)}"),
    ]


instruments.register_stats(SLUG, region_stats)


def _graph_card(kind):
    return dbc.Col(
        dbc.Card(
            dcc.Loading(
                dcc.Graph(
                    id=ids(f"graph-{kind}"), figure=figures.empty(_("waiting for the signal"), 260), config=figures.GRAPH_CONFIG
                ),
                delay_show=300,
            ),
            className="lab-card mb-3",
        ),
        md=6,
    )


# A function, not a value: Dash registers this module in sys.modules only after running it,
# and source_panel reads the module from there.
def layout(**_query):
    demo = [
        dbc.Card(
            dbc.CardBody(
                [
                    dbc.Row(
                        [
                            dbc.Col(
                                [
                                    dbc.Label(_("Region (the memoized argument)"), html_for=ids("region")),
                                    dcc.Dropdown(
                                        id=ids("region"),
                                        options=list(workload.REGIONS),
                                        value=workload.REGIONS[0],
                                        clearable=False,
                                    ),
                                ],
                                md=5,
                            ),
                            dbc.Col(
                                dcc.Loading(html.Div(id=ids("readout"), className="lab-readout"), type="dot"),
                                md=7,
                            ),
                        ],
                        className="g-3 align-items-end",
                    ),
                    html.P(
                        rich(
                            _(
                                "First time a region is picked anywhere: the expensive step runs once (*miss*). After that, "
                                "in this tab, another tab or another browser: instant (*hit*). Watch *expensive step ran* in "
                                "the instruments stay at one per region."
                            )
                        ),
                        className="small text-muted mt-3 mb-0",
                    ),
                    # The signal: just the region, set when the value is in the cache.
                    dcc.Store(id=ids("signal")),
                ]
            ),
            className="lab-card mb-3",
        ),
        dbc.Row([_graph_card(kind) for kind in KINDS], className="g-3"),
    ]
    return strategy.page(
        META,
        demo,
        instruments.panel(SLUG),
        source_panel(__name__),
        what=_(
            "flask-caching's memoize stores a function's result in a cache every worker can reach, keyed by its "
            "arguments. One callback calls it (computing on a miss) and then writes the region into a small dcc.Store "
            "— the signal. The four graph callbacks fire on the signal and call the same function, which by then is a "
            "cache hit. Nothing big travels through the browser. Caveat: flask-caching has no stampede protection — "
            "two sessions picking a new region at the same moment both compute it. The serverside page fixes that with "
            "single-flight (one computation per key across all workers, the others wait for it)."
        ),
        when=_(
            "A few distinct inputs (a dropdown), an expensive step whose result is the same for everyone, many "
            "viewers: the first one pays, everyone after gets it instantly."
        ),
        when_not=_(
            "The data differs per user or session (use session-cache), inputs are unbounded (free text, "
            "timestamps), or results must never be computed twice at once (use single-flight)."
        ),
    )


@callback(
    Output(ids("signal"), "data"),
    Output(ids("readout"), "children"),
    Input(ids("region"), "value"),
    running=[(Output(ids("region"), "disabled"), True, False)],
)
def compute_value(region):
    started = time.perf_counter()
    try:
        payload, computed = read(region)
    except EXPECTED as exc:
        return None, problem(exc)
    ms = (time.perf_counter() - started) * 1000
    if computed:
        text = [
            *rich(
                _("**%(region)s: computed now** in %(seconds)s s by worker %(pid)s", region=region, seconds=format(ms / 1000, ".2f"), pid=payload["pid"]),
                tail=" ",
            ),
            dbc.Badge(_("cache miss"), color="warning", text_color="dark"),
        ]
    else:
        text = [
            *rich(_("**%(region)s: from the cache** in %(ms)s ms", region=region, ms=format(ms, ".0f")), tail=" "),
            dbc.Badge(_("cache hit"), color="success"),
            html.Div(
                _(
                    "computed %(ago)s (%(clock)s) by worker %(pid)s in %(seconds)s s",
                    ago=ago(payload["computed_at"]),
                    clock=clock(payload["computed_at"]),
                    pid=payload["pid"],
                    seconds=format(payload["seconds"], ".2f"),
                ),
                className="small text-muted",
            ),
        ]
    return {"region": region}, html.Div(text, id=ids("verdict"), **{"data-computed": "yes" if computed else "no"})


def _graph_callback(kind):
    @callback(Output(ids(f"graph-{kind}"), "figure"), Input(ids("signal"), "data"))
    def draw(signal):
        if not signal:
            return figures.empty(_("waiting for the signal"), 260)
        try:
            payload, _computed = read(signal.get("region") if isinstance(signal, dict) else signal)
            return figures.cache_graph(kind, frame_from_json(payload["frame"]))
        except EXPECTED as exc:
            return empty_figure(f"{type(exc).__name__}: {exc}", 260)

    return draw


for _kind in KINDS:
    _graph_callback(_kind)
