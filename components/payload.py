"""Shared pieces of the two browser-payload pages (hidden div, aggregates): controls, sizes,
and the parsing every consumer does on data that came back from the browser."""

from __future__ import annotations

import base64
import binascii
import json
import time
import zlib
from collections.abc import Mapping

import dash_bootstrap_components as dbc
import orjson
import pandas as pd
from dash import dcc, html
from dash._utils import to_json as dash_to_json

import stores
import workload
from components import figures
from components.sentence import gap, wrap
from components.serverstate import error_text
from i18n import N_, _, gettext
from reports.fmt import human_bytes as human  # the one byte formatter (components/quota.py imports it from here)
from stores import codec
from stores.codec import BadPayload

# The three fruits the seed's consumers draw (seed 000, example 2: df_1, df_2, df_3).
SHOWN_FRUITS = ("apples", "oranges", "figs")
FRAME_COLUMNS = ("fruit", "x", "y", "amount", "revenue")
# The summary tables' column headers, as a visitor reads them.
HEADERS = {"fruit": N_("fruit"), "rows": N_("rows"), "revenue": N_("revenue"), "mean x": N_("mean x"),
           "amount": N_("amount")}


class Texts(Mapping):
    """A dict of texts marked with N_, each read in the visitor's language when it is looked up."""

    def __init__(self, texts: dict):
        self._texts = texts

    def __getitem__(self, key) -> str:
        return gettext(self._texts[key])

    def __iter__(self):
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)


def json_bytes(text: str) -> int:
    return len(text.encode())


def controls(ids, rows_choices=workload.ROW_CHOICES, rows=workload.DEFAULT_ROWS, extra=None) -> dbc.Row:
    """Region dropdown and row-count radio: the inputs of the shared workload."""
    cols = [
        dbc.Col(
            [
                dbc.Label(_("Region"), html_for=ids("region"), className="small mb-1"),
                dcc.Dropdown(
                    id=ids("region"),
                    options=[{"label": r, "value": r} for r in workload.REGIONS],
                    value=workload.REGIONS[0],
                    clearable=False,
                ),
            ],
            md=3,
        ),
        dbc.Col(
            [
                dbc.Label(_("Rows in the dataset"), className="small mb-1"),
                dbc.RadioItems(
                    id=ids("rows"),
                    options=[{"label": f"{n:,}", "value": n} for n in rows_choices],
                    value=rows,
                    inline=True,
                    className="pl-rows",
                ),
            ],
            md=5,
        ),
    ]
    if extra is not None:
        cols.append(dbc.Col(extra, md=4, className="text-md-end align-self-end"))
    return dbc.Row(cols, className="g-2 mb-2 align-items-end")


FIRST_VIEW_SECONDS = 24 * 3600


def first_view(slug: str, build, rows: int = workload.DEFAULT_ROWS, region: str = workload.REGIONS[0]) -> str | None:
    """What the producer returns for the default inputs, as text, computed once for every worker and visitor.

    The page sends it down with its layout, so its consumers draw a real result on arrival
    instead of waiting for the expensive step; the value is deterministic (the seeded workload),
    so one copy in the shared store is as good as a fresh computation. None when the store
    cannot give it: the page then waits for the first change of an input.
    """
    lab = stores.current()

    def compute() -> bytes:
        cleaned = workload.expensive_step(rows, region, delay=lab.settings.compute_delay)
        lab.count("compute", slug)
        return build(cleaned).encode()

    try:
        value, _fresh = lab.memo(f"{slug}:first-view:{rows}:{region}", compute, ttl=FIRST_VIEW_SECONDS)
    except stores.StoreError:
        return None
    return value.decode()


def first_view_note(rows: int = workload.DEFAULT_ROWS, region: str = workload.REGIONS[0]) -> str:
    return _(
        "First view: %(region)s, %(rows)s rows. The producer's result for these inputs was computed once for every "
        "visitor and came down with the page; the consumers' requests are real. Change an input to run the producer.",
        region=region, rows=format(rows, ","),
    )


def frame(children, required=FRAME_COLUMNS) -> pd.DataFrame:
    """The cleaned frame a hidden div holds; BadPayload when it is missing or malformed."""
    if children in (None, ""):
        raise BadPayload(_("the hidden div is empty: the producer has not answered yet"))
    return numbers(codec.frame_from_json(children, required=required), ("x", "y", "amount", "revenue"))


def numbers(df: pd.DataFrame, columns) -> pd.DataFrame:
    """df with `columns` checked to hold numbers only (browser data may hold anything)."""
    for column in columns:
        if column in df:
            try:
                df[column] = pd.to_numeric(df[column], errors="raise")
            except (ValueError, TypeError):
                raise BadPayload(_("column %(column)s must hold numbers only", column=repr(column))) from None
    return df


def aggregates(cleaned: pd.DataFrame) -> dict:
    """Seed 000 example 2: what the consumers need, computed once by the producer."""
    return {
        "summary": codec.frame_to_json(workload.summary(cleaned)),
        "binned": {fruit: codec.frame_to_json(workload.binned(cleaned, fruit)) for fruit in SHOWN_FRUITS},
    }


def aggregate_part(children, part: str, fruit: str | None = None) -> pd.DataFrame:
    """One aggregate out of the shipped payload; BadPayload says what is wrong with it."""
    if children in (None, ""):
        raise BadPayload(_("the hidden div is empty: the producer has not answered yet"))
    try:
        datasets = json.loads(children) if isinstance(children, str) else children
    except json.JSONDecodeError as exc:
        raise BadPayload(_("data is not valid JSON (%(reason)s at character %(position)s)", reason=exc.msg,
                           position=exc.pos)) from None
    except RecursionError:
        raise BadPayload(_("data is nested too deeply")) from None
    if not isinstance(datasets, dict) or part not in datasets:
        raise BadPayload(_("data must be an object with a %(part)s entry", part=repr(part)))
    value = datasets[part]
    if fruit is not None:
        if not isinstance(value, dict) or fruit not in value:
            raise BadPayload(_("data[%(part)s] lacks the fruit %(fruit)s", part=repr(part), fruit=repr(fruit)))
        value = value[fruit]
    required = ("x", "y", "n") if part == "binned" else ("fruit", "rows", "revenue")
    return numbers(codec.frame_from_json(value, required=required), [c for c in required if c != "fruit"])


def summary_table(table: pd.DataFrame) -> dbc.Table:
    shown = table.rename(columns={"mean_x": "mean x"})
    for column in ("amount", "rows"):
        if column in shown:
            shown[column] = shown[column].map(lambda v: f"{int(v):,}")
    if "revenue" in shown:
        shown["revenue"] = shown["revenue"].map(lambda v: f"{v:,.0f}")
    shown = shown.rename(columns={c: gettext(HEADERS[c]) for c in shown.columns if c in HEADERS})
    return dbc.Table.from_dataframe(shown, size="sm", striped=True, className="mb-0 pl-summary")


def rejected(exc: BadPayload, where: str) -> dbc.Alert:
    return dbc.Alert(
        [html.B(_("Rejected data from the browser.") + gap()),
         _("%(where)s: %(reason)s. The server did not use it; change an input to recompute.", where=where,
           reason=error_text(exc))],
        color="danger",
        className="small mb-0 pl-rejected",
    )


def rejected_figure(exc: BadPayload):
    # Short lines in a smaller font: the message must fit a half-width chart on a phone (~340 px),
    # and a long reason is cut to what fits; the table beside the charts shows it whole.
    reason = error_text(exc)
    if len(reason) > 150:
        reason = reason[:149] + "…"
    lines = wrap(_("Rejected data from the browser: %(reason)s", reason=reason), 34)
    return figures.empty("<br>".join(lines), font_size=12)


def comparison(shipped: int, full: int, rows: int, kept: int) -> html.Div:
    """Aggregates page: the bytes shipped next to the bytes the full frame would have been."""
    share = shipped / full if full else 0.0
    return html.Div(
        [
            html.Div(
                [
                    html.Div(human(shipped), className="lab-metric-value good"),
                    html.Div(_("aggregates shipped to the browser"), className="lab-metric-label"),
                ],
                className="lab-metric",
            ),
            html.Div(
                [
                    html.Div(human(full), className="lab-metric-value bad"),
                    html.Div(_("the full cleaned frame (%(rows)s rows) would be", rows=format(kept, ",")), className="lab-metric-label"),
                ],
                className="lab-metric",
            ),
            html.Div(
                [
                    html.Div(f"{share:.2%}", className="lab-metric-value"),
                    html.Div(_("of the full frame, at %(rows)s rows", rows=format(rows, ",")), className="lab-metric-label"),
                ],
                className="lab-metric",
            ),
        ],
        className="lab-metrics pl-compare",
        **{"data-shipped": str(shipped), "data-full": str(full), "data-rows": str(rows)},
    )


# --------------------------------------------------------------------------- the JSON path (pages/encodings.py)

# How a frame can travel as a callback's value. "records" is what most apps return (df.to_dict("records"),
# serialised by Dash's own to_json: plotly's encoder); "columns" is one list per column (split/columnar);
# "gzip-b64" is that columnar JSON gzipped and base64-encoded into one string, which the browser decodes in a
# clientside callback with DecompressionStream and the server with zlib.
ENCODINGS = ("records", "columns", "gzip-b64")
ENCODING_LABELS = Texts({"records": N_("records (Dash's serializer)"), "columns": N_("columnar JSON"),
                         "gzip-b64": N_("gzip + base64 of columnar JSON")})
# Requests that carry the payload back up per interaction: the hidden div's four consumers, the store's one
# consumer; Patch and clientside keep it in the browser.
SENDS_UP = {"hidden-div": 4, "browser-store": 1, "patch": 0, "clientside": 0}
# Decoded columnar JSON one compressed payload may inflate to (a gzip bomb stops here): 100,000 rows are ~6 MB.
MAX_INFLATED = 64 * 2**20


def encode(df: pd.DataFrame, encoding: str):
    """The callback value carrying `df` in `encoding` (a list, a dict or a string)."""
    if encoding == "records":
        return df.to_dict("records")
    columns = {"columns": list(df.columns), "data": {c: df[c].tolist() for c in df.columns}}
    if encoding == "columns":
        return columns
    if encoding == "gzip-b64":
        return base64.b64encode(zlib.compress(orjson.dumps(columns), 6, wbits=31)).decode("ascii")
    raise BadPayload(_("unknown encoding %(name)s", name=repr(str(encoding)[:40])))


def timed_encode(df: pd.DataFrame, encoding: str) -> tuple[object, float, int]:
    """(value, ms from frame to the bytes Dash sends, those bytes decoded): the server's serialisation cost."""
    started = time.perf_counter()
    value = encode(df, encoding)
    body = dash_to_json(value)  # what Dash does to the value on the way out
    return value, (time.perf_counter() - started) * 1000, len(body.encode() if isinstance(body, str) else body)


def decode(value, encoding: str, required=("fruit", "x", "y")) -> pd.DataFrame:
    """The frame back from a browser-held value; BadPayload says what is wrong with it."""
    if encoding == "records":
        if not isinstance(value, list) or not all(isinstance(r, dict) for r in value[:1000]):
            raise BadPayload(_("records must be a list of objects"))
        df = pd.DataFrame.from_records(value)
    elif encoding in ("columns", "gzip-b64"):
        if encoding == "gzip-b64":
            value = _inflate(value)
        if not isinstance(value, dict) or not isinstance(value.get("data"), dict):
            raise BadPayload(_("columnar data must be an object with a 'data' object of columns"))
        data = value["data"]
        if not all(isinstance(v, list) for v in data.values()) or len({len(v) for v in data.values()}) > 1:
            raise BadPayload(_("every column must be a list, all of one length"))
        df = pd.DataFrame(data)
    else:
        raise BadPayload(_("unknown encoding %(name)s", name=repr(str(encoding)[:40])))
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise BadPayload(_("the data lacks the column(s) %(columns)s", columns=", ".join(missing)))
    return numbers(df, ("x", "y"))


def _inflate(value) -> dict:
    if not isinstance(value, str):
        raise BadPayload(_("a compressed payload must be a base64 string"))
    try:
        packed = base64.b64decode(value, validate=True)
        inflater = zlib.decompressobj(wbits=31)
        text = inflater.decompress(packed, MAX_INFLATED)
    except (binascii.Error, ValueError, zlib.error) as exc:
        raise BadPayload(_("not gzip in base64 (%(error)s)", error=type(exc).__name__)) from None
    if inflater.unconsumed_tail or not inflater.eof:
        raise BadPayload(_("the compressed payload inflates past %(mb)s MB, or is cut short", mb=MAX_INFLATED // 2**20))
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise BadPayload(_("the inflated payload is not JSON (%(reason)s)", reason=str(exc)[:80])) from None
