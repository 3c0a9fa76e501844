"""Builders shared by the "beyond the guides" pages and the dash-extensions peer app.

Every consumer here returns an output whose size does not grow with the row count
(a fixed grid, fixed bins, one row per fruit), so a strategy's bytes per interaction
measure the strategy, not the chart.
"""

from __future__ import annotations

import functools
import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io.json as plotly_json
from dash import Patch, html
from dash._utils import to_json  # the serializer Dash itself uses for callback responses

import workload
from i18n import _
from reports.fmt import human_bytes  # noqa: F401 - the one byte formatter; pages/serverside.py calls beyond.human_bytes

from . import figures

# A fixed grid over the workload's value ranges: x ~ N(50, 15), y = 1.8 x + N(0, 12).
X_EDGES = np.linspace(0, 100, 31)
Y_EDGES = np.linspace(-40, 240, 29)
BIG_ROWS = 1_000_000
ROW_LABELS = {1_000: "1,000", 10_000: "10,000", 100_000: "100,000", 300_000: "300,000", BIG_ROWS: "1,000,000"}


def row_options(sizes) -> list[dict]:
    return [{"label": ROW_LABELS.get(n, f"{n:,}"), "value": n} for n in sizes]


def density_figure(cleaned: pd.DataFrame, fruit: str) -> go.Figure:
    """Where one fruit's points fall: a 30 x 28 count grid instead of every point."""
    part = cleaned[cleaned["fruit"] == fruit]
    counts, _x_edges, _y_edges = np.histogram2d(part["x"].to_numpy(), part["y"].to_numpy(), bins=[X_EDGES, Y_EDGES])
    x_mid = ((X_EDGES[:-1] + X_EDGES[1:]) / 2).round(2)
    y_mid = ((Y_EDGES[:-1] + Y_EDGES[1:]) / 2).round(2)
    z = counts.T.astype(int)
    fig = go.Figure(
        go.Heatmap(
            x=x_mid, y=y_mid, z=np.where(z > 0, z, None).tolist(), showscale=False, hoverongaps=False,
            colorscale=[[0, "#eef4ff"], [1, figures.COLORS.get(fruit, figures.ACCENT)]],
        )
    )
    fig = figures._style(fig, _("%(fruit)s — where its %(points)s points fall (x, y)", fruit=fruit, points=format(len(part), ",")), height=280)
    fig.update_xaxes(range=[0, 100], title_text="x")
    fig.update_yaxes(range=[-40, 240], title_text="y")
    return fig


def trend_figure(cleaned: pd.DataFrame, fruit: str) -> go.Figure:
    """One fruit's mean y per x-bin (the shared workload's binned view)."""
    fig = figures.fruit_line(workload.binned(cleaned, fruit), fruit)
    fig.update_layout(height=280)
    fig.update_xaxes(range=[0, 100])
    return fig


def summary_table(cleaned: pd.DataFrame) -> html.Table:
    """Per-fruit totals as a plain table (six rows at any size)."""
    table = workload.summary(cleaned)
    head = html.Thead(html.Tr([html.Th(h) for h in (_("fruit"), _("rows"), _("amount"), _("revenue"), _("mean x"))]))
    body = html.Tbody(
        [
            html.Tr(
                [
                    html.Td(row.fruit),
                    html.Td(f"{row.rows:,}"),
                    html.Td(f"{row.amount:,}"),
                    html.Td(f"{row.revenue:,.0f}"),  # whole units, as every other page shows revenue
                    html.Td(f"{row.mean_x:.2f}"),
                ]
            )
            for row in table.itertuples()
        ]
    )
    return html.Table([head, body], className="table table-sm table-hover mb-0 beyond-summary")


def plain(value):
    """A figure or component tree as the plain JSON values Dash would send.

    Serializing a go.Figure costs milliseconds (plotly copies and validates it); its
    plain form costs microseconds, so a view that is kept and sent again is kept plain.
    """
    return json.loads(plotly_json.to_json_plotly(value))


# ---- clientside page: the raw dataset in a compact columnar JSON --------------------


def columnar(rows: int) -> dict:
    """The raw dataset for the browser: categories as codes, numbers as arrays."""
    df = workload.dataset(workload.check_rows(rows))
    fruit = pd.Categorical(df["fruit"], categories=workload.FRUITS)
    region = pd.Categorical(df["region"], categories=workload.REGIONS)
    return {
        "rows": int(len(df)),
        "fruits": list(workload.FRUITS),
        "regions": list(workload.REGIONS),
        "fruit": fruit.codes.tolist(),
        "region": region.codes.tolist(),
        "x": df["x"].tolist(),
        "y": df["y"].tolist(),
        "amount": df["amount"].tolist(),
        "price": df["price"].tolist(),
        "colors": dict(figures.COLORS),
    }


# ---- patch page: the rows appended so far ------------------------------------------

PATCH_SOURCE_ROWS = 50_000
PATCH_COLUMNS = ("fruit", "region", "x", "y", "amount", "price")


def appended(start: int, stop: int) -> pd.DataFrame:
    """Rows [start, stop) of the stream the patch page appends from."""
    source = workload.dataset(PATCH_SOURCE_ROWS)
    return source.iloc[max(0, start):min(stop, PATCH_SOURCE_ROWS)][list(PATCH_COLUMNS)]


def stream_figure(rows: pd.DataFrame, translated: bool = True) -> go.Figure:
    fig = go.Figure(
        go.Scatter(x=rows["x"].tolist(), y=rows["y"].tolist(), mode="markers",
                     marker={"size": 4, "color": figures.ACCENT, "opacity": 0.55})
    )
    fig = figures._style(fig, stream_title(len(rows), translated), height=300)
    fig.update_xaxes(range=[0, 100], title_text="x")
    fig.update_yaxes(range=[-40, 240], title_text="y")
    return fig


def stream_title(count: int, translated: bool = True) -> str:
    """The stream chart's title, in the visitor's language (translated=False: in English, for reference_sizes)."""
    if translated:
        return _("%(count)s rows appended so far", count=format(count, ","))
    return f"{count:,} rows appended so far"


def _response_bytes(outputs: dict) -> int:
    """Bytes of a callback response body as Dash writes it ({"multi": true, "response": ...})."""
    return len(to_json({"multi": True, "response": outputs}).encode())


@functools.cache
def reference_sizes(prefix: str, batch: int = 1_000, upto: int = 10_000) -> dict:
    """What one "Append rows" response weighs in each mode, for a click that brings the rows on
    screen to 1,000, 2,000 … upto — computed by the server with Dash's own serializer, so the page
    can show the comparison before any click. Deterministic (a fixed stream, English titles whoever asks first):
    computed once."""
    sizes: dict = {"rows": [], "patch": [], "full": [], "batch": batch}
    for total in range(batch, upto + 1, batch):
        new = appended(total - batch, total)
        figure = Patch()
        figure["data"][0]["x"].extend(new["x"].tolist())
        figure["data"][0]["y"].extend(new["y"].tolist())
        figure["layout"]["title"]["text"] = stream_title(total, translated=False)
        table = Patch()
        table.extend(new.to_dict("records"))
        last = {"mode": "patch", "rows": total, "added": batch}
        common = {f"{prefix}count": {"data": total}, f"{prefix}alert": {"children": None}}
        patched = {f"{prefix}graph": {"figure": figure.to_plotly_json()}, f"{prefix}table": {"data": table.to_plotly_json()},
                   f"{prefix}last": {"data": last}, **common}
        everything = appended(0, total)
        full = {f"{prefix}graph": {"figure": stream_figure(everything, translated=False)}, f"{prefix}table": {"data": everything.to_dict("records")},
                f"{prefix}last": {"data": {**last, "mode": "full"}}, **common}
        sizes["rows"].append(total)
        sizes["patch"].append(_response_bytes(patched))
        sizes["full"].append(_response_bytes(full))
    return sizes
