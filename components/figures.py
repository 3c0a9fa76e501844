"""Figure builders for the shared workload; one look across the site."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from i18n import _, lazy_gettext

COLORS = {
    "apples": "#d1495b",
    "oranges": "#edae49",
    "figs": "#7b4b94",
    "pears": "#8fb339",
    "plums": "#3d5a80",
    "kiwis": "#00798c",
}
ACCENT = "#2f6fde"
_GRID = "#e9eef6"
# A small template of our own: a named one ("plotly_white") is copied whole, about
# 7 KB, into every figure's JSON — more than many of the demos' data.
LEAN = go.layout.Template(
    layout={
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "colorway": list(COLORS.values()),
        "xaxis": {"gridcolor": _GRID, "zerolinecolor": _GRID, "linecolor": _GRID, "automargin": True},
        "yaxis": {"gridcolor": _GRID, "zerolinecolor": _GRID, "linecolor": _GRID, "automargin": True},
        "hoverlabel": {"align": "left"},
    }
)


def _style(fig: go.Figure, title: str, height: int = 300) -> go.Figure:
    fig.update_layout(
        template=LEAN,
        title={"text": title, "x": 0.02, "font": {"size": 14}},
        height=height,
        margin={"l": 48, "r": 16, "t": 40, "b": 40},
        showlegend=False,
        font={"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"},
    )
    return fig


def empty(message: str | None = None, height: int = 300, font_size: int = 14) -> go.Figure:
    """A chart with only `message` in it (default: "No data yet", in the visitor's language)."""
    if message is None:
        message = _("No data yet")
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font={"size": font_size, "color": "#6c757d"})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _style(fig, "", height)


# The config of every chart on the strategy pages: no modebar (its buttons were built for every chart on
# arrival, and nothing on these pages needs them). Redraws at an unchanged size are skipped by
# assets/plotly-same-size.js.
GRAPH_CONFIG = {"displayModeBar": False}


# Every chart draws SVG: the site serves plotly.js's cartesian bundle (assets/plotly-cartesian-*.min.js,
# a third of the full bundle's size and start-up time), which has no WebGL traces. WebGL would help
# only past tens of thousands of points, and a browser without a GPU (headless, some projectors' PCs)
# shows an error instead. A cloud larger than DRAWN_AT_MOST is drawn as an evenly spaced sample, and
# the title says so; the numbers in titles and tables always count every row.
DRAWN_AT_MOST = 10_000


def _drawn(frame: pd.DataFrame) -> pd.DataFrame:
    if len(frame) <= DRAWN_AT_MOST:
        return frame
    step = -(-len(frame) // DRAWN_AT_MOST)  # ceil: at most DRAWN_AT_MOST rows, spread over the whole frame
    return frame.iloc[::step]


def _sampled(total: int, drawn: int) -> dict | None:
    """The title's words for a sample (None when every row is drawn): how many drawn, one in how many."""
    return None if drawn == total else {"drawn": f"{drawn:,}", "step": -(-total // drawn)}


def fruit_scatter(cleaned: pd.DataFrame, fruit: str) -> go.Figure:
    """Every point of one fruit: the consumer that needs the full frame."""
    part = cleaned[cleaned["fruit"] == fruit]
    shown = _drawn(part)
    fig = go.Figure(
        go.Scatter(x=shown["x"], y=shown["y"], mode="markers", marker={"size": 4, "color": COLORS.get(fruit, ACCENT), "opacity": 0.6})
    )
    sampled, points = _sampled(len(part), len(shown)), f"{len(part):,}"
    if sampled:
        title = _("%(fruit)s — %(points)s points (%(drawn)s drawn: 1 in %(step)s)", fruit=fruit, points=points, **sampled)
    else:
        title = _("%(fruit)s — %(points)s points", fruit=fruit, points=points)
    return _style(fig, title)


def fruit_line(points: pd.DataFrame, fruit: str) -> go.Figure:
    """Binned means of one fruit: the consumer that needs only an aggregate."""
    fig = go.Figure(go.Scatter(x=points["x"], y=points["y"], mode="lines+markers", line={"color": COLORS.get(fruit, ACCENT)}))
    rows = f"{int(points['n'].sum()) if len(points) else 0:,}"
    return _style(fig, _("%(fruit)s — mean y by x (%(rows)s rows)", fruit=fruit, rows=rows))


def summary_bars(table: pd.DataFrame) -> go.Figure:
    fig = go.Figure(go.Bar(x=table["fruit"], y=table["revenue"], marker_color=[COLORS.get(f, ACCENT) for f in table["fruit"]]))
    return _style(fig, _("revenue by fruit"))


def cache_graph(kind: str, cleaned: pd.DataFrame) -> go.Figure:
    """The four views of seed 004 (scatter, line, histogram2d, histogram2dcontour)."""
    x, y = cleaned["x"], cleaned["y"]
    sampled = None
    if kind in ("scatter", "line"):
        line = cleaned.assign(y=y.rolling(50, min_periods=1).mean()) if kind == "line" else cleaned
        shown = _drawn(line)  # the rolling mean is taken over every row, then sampled for drawing
        sampled = _sampled(len(cleaned), len(shown))
    rows = f"{len(cleaned):,}"
    if sampled:
        title = _("%(kind)s — %(rows)s rows (%(drawn)s drawn: 1 in %(step)s)", kind=kind, rows=rows, **sampled)
    else:
        title = _("%(kind)s — %(rows)s rows", kind=kind, rows=rows)
    if kind == "scatter":
        trace = go.Scatter(x=shown["x"], y=shown["y"], mode="markers", marker={"size": 3, "color": ACCENT, "opacity": 0.5})
    elif kind == "line":
        trace = go.Scatter(x=shown["x"], y=shown["y"], mode="lines", line={"color": ACCENT})
    elif kind == "histogram2d":
        trace = go.Histogram2d(x=x, y=y, colorscale="Blues", nbinsx=40, nbinsy=40, showscale=False)
    elif kind == "histogram2dcontour":
        trace = go.Histogram2dContour(x=x, y=y, colorscale="Blues", showscale=False)
    else:
        raise ValueError(f"unknown graph kind {kind!r}")
    fig = _style(go.Figure(trace), title, height=260)
    fig.update_xaxes(title={"text": "x", "standoff": 4})
    fig.update_yaxes(title={"text": str(CACHE_Y_TITLES.get(kind, "y")), "standoff": 4})
    return fig


# What each of the cache page's charts plots upwards (the density charts count rows per x, y cell); lazy: str() them.
CACHE_Y_TITLES = {"line": lazy_gettext("y, mean of 50 rows"), "histogram2d": lazy_gettext("y (colour: rows per cell)"),
                  "histogram2dcontour": lazy_gettext("y (colour: rows)")}


def progress_figure(done: int, total: int) -> go.Figure:
    """Seed 001's progress graph: a single bar growing to total."""
    fig = go.Figure(go.Bar(x=[done], y=["job"], orientation="h", marker_color=ACCENT))
    fig.update_xaxes(range=[0, max(total, 1)])
    fig.update_yaxes(showticklabels=False)
    return _style(fig, _("progress %(done)s/%(total)s", done=done, total=total), height=120)
