"""What the benchmark does on each strategy's page, declared — not coded — per strategy.

A spec names the page's controls and what to read back:
- `setup`: user actions done once per session after the page loads (not timed), e.g.
  pick the sweep's row count;
- `round`: the actions of one timed interaction, e.g. pick a region, or type a value
  and press Set then Read. Each action is what a user does to one control; the harness
  then sends every callback the renderer would (see dashclient);
- `reads`: outputs whose content tells which value the session got back, and how to
  recognise it (`identify`), so a stale or foreign value is caught.

Values are constants or functions of the run context (ROWS, REGION, TOKEN, CLICK...).
Component names are the page's own (Ids(slug)(name)). A page without a spec here is
benchmarked with DEFAULT (a region dropdown) when it has one, else left out and said so.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from urllib.parse import urlencode

import numpy as np

import workload
from stores.ids import SEPARATOR, cid


@dataclass
class Ctx:
    """What a placeholder can depend on: this session, this round, this step of the sweep."""

    session: int
    round: int
    rows: int
    region: str
    token: str
    page: object = None  # the dashclient.Page


def ROWS(c: Ctx):  # noqa: N802 - reads as a placeholder in the specs
    return c.rows


def ROWS_TEXT(c: Ctx):  # noqa: N802
    return str(c.rows)


def REGION(c: Ctx):  # noqa: N802
    return c.region


def TOKEN(c: Ctx):  # noqa: N802
    return c.token


CLICK = "click"  # one more n_clicks, as a button click sets it
NOTHING = "(nothing)"  # what a worker whose global was never set returns


@dataclass(frozen=True)
class Act:
    """A user sets one control's prop (a click is Act(name, "n_clicks", CLICK))."""

    name: str
    prop: str
    value: object
    changed_only: bool = True  # a browser fires nothing when the value does not change


def click(name: str) -> Act:
    return Act(name, "n_clicks", CLICK, changed_only=False)


@dataclass(frozen=True)
class Read:
    """An output whose content identifies the value the session got back."""

    name: str
    prop: str
    identify: Callable  # (value, Ctx, candidates) -> token or None when unrecognisable


@dataclass(frozen=True)
class Spec:
    slug: str
    round: tuple
    reads: tuple = ()
    setup: tuple = ()
    path: str | None = None
    namespace: str | None = None
    label: str | None = None
    # What a session writes: "workload" -> (region, rows); "unique" -> a session-unique token.
    writes: str = "workload"
    takes_rows: bool = True  # False: the page has its own fixed row count (fixed_rows)
    fixed_rows: int | None = None
    browser_held: tuple | None = None  # ((name, prop), ...); None: dcc.Store data + hidden Div children
    server_prefixes: tuple | None = None  # default (f"{slug}:",)
    flask_cache: bool = False  # also count flask-caching's bytes as this strategy's
    stampede: tuple | None = None  # actions that ask for one cold value (ROWS is then a cold row count)
    clientside: dict = field(default_factory=dict)  # output -> python stand-in for a clientside callback
    expect: Callable | None = None  # (Ctx, Spec) -> the token a correct read shows; default from `writes`
    server_dirs: tuple = ()  # data-directory folders whose files are this strategy's server bytes
    allowed_rows: tuple | None = None  # the row counts the page accepts (others: the step is left out)
    kind: str = "strategy"  # "strategy", "baseline" or "peer"
    note: str = ""

    @property
    def page_path(self) -> str:
        return self.path or f"/{self.slug}"

    @property
    def ns(self) -> str:
        return self.namespace or self.slug

    def cid(self, name: str) -> str:
        return cid(self.ns, name)

    def prefixes(self) -> tuple:
        return self.server_prefixes if self.server_prefixes is not None else (f"{self.slug}:",)

    def effective_rows(self, rows: int) -> int | None:
        """The row count the page really works on (None: the page has no row count)."""
        return rows if self.takes_rows else self.fixed_rows

    def expected(self, ctx: Ctx):
        """What a correct read shows after this session's round."""
        if self.expect is not None:
            return self.expect(ctx, self)
        if self.writes == "unique":
            return ctx.token
        return (ctx.region, self.effective_rows(ctx.rows))


# --------------------------------------------------------------------------- recognising a value


def texts(value, limit: int = 2000) -> list[str]:
    """Every short string in a component tree or figure (titles, table cells, labels)."""
    found: list[str] = []
    stack = [value]
    while stack and len(found) < limit:
        item = stack.pop()
        if isinstance(item, str):
            if len(item) <= 400:
                found.append(item)
        elif isinstance(item, dict):
            stack.extend(v for k, v in item.items() if k not in ("x", "y", "z", "customdata", "ids", "bdata"))
        elif isinstance(item, list):
            if item and not isinstance(item[0], (str, dict, list)):
                continue  # an array of numbers: data, not text
            stack.extend(item)
    return found


_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


@lru_cache(maxsize=64)
def signature(rows: int, region: str) -> frozenset:
    """The numbers a view of (rows, region) can show: total rows, and per fruit its rows, amount,
    revenue and mean x, in the formats the pages print them."""
    cleaned = workload.expensive_step(rows, region)
    table = workload.summary(cleaned)
    marks = {f"{len(cleaned):,}", str(len(cleaned))}
    for r in table.itertuples():
        marks |= {f"{r.rows:,}", str(r.rows), f"{r.amount:,}", str(r.amount)}
        marks |= {f"{r.revenue:,.2f}", f"{r.revenue:.2f}", f"{r.revenue:,.0f}", f"{r.mean_x:.2f}", str(r.mean_x)}
    return frozenset(m for m in marks if len(m.replace(",", "")) >= 3)  # one- and two-digit numbers say nothing


# What a consumer shows instead of data when it found none (an error alert, an empty figure).
_EMPTY = re.compile(r"no (file|data|key|session)|missing|expired|evicted|rejected|unavailable|not found|cannot|could not", re.I)


def _nothing_or_none(text: str):
    """A view with no recognisable numbers: NOTHING when it says it found no data, else None."""
    return NOTHING if _EMPTY.search(text) else None


@lru_cache(maxsize=64)
def fruit_counts(rows: int, region: str) -> dict:
    return {r.fruit: int(r.rows) for r in workload.summary(workload.expensive_step(rows, region)).itertuples()}


def identify_fruit_figure(value, ctx: Ctx, candidates):
    """A one-fruit scatter titled '<fruit> — N points': the (region, rows) whose fruit has N rows."""
    layout = value.get("layout") if isinstance(value, dict) else None
    title = ((layout or {}).get("title") or {}).get("text") or ""
    match = re.match(r"(\w+) — ([\d,]+) points", title)
    if not match:
        return _nothing_or_none(" ".join(texts(value)))
    fruit, shown = match.group(1), int(match.group(2).replace(",", ""))
    found = [c for c in candidates if fruit_counts(c[1], c[0]).get(fruit) == shown]
    if len(found) > 1:  # same count in two regions: the points themselves tell them apart
        total = _x_sum(value)
        found = [c for c in found if total is not None and math.isclose(fruit_x_sum(c[1], c[0], fruit), total, rel_tol=1e-9)]
    return found[0] if len(found) == 1 else None


@lru_cache(maxsize=256)
def fruit_x_sum(rows: int, region: str, fruit: str) -> float:
    cleaned = workload.expensive_step(rows, region)
    return float(cleaned.loc[cleaned["fruit"] == fruit, "x"].sum())


def _x_sum(figure) -> float | None:
    """Sum of the first trace's x, whether plotly sent a list or a typed array (dtype + base64 bdata)."""
    try:
        x = figure["data"][0]["x"]
        if isinstance(x, dict) and "bdata" in x:
            return float(np.frombuffer(base64.b64decode(x["bdata"]), dtype=np.dtype(x["dtype"])).sum())
        return float(sum(x))
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def identify_workload(value, ctx: Ctx, candidates) -> tuple | None:
    """Which (region, rows) this output was computed from, judged by the numbers it shows.

    Each candidate scores the count of its signature numbers found in the text (plus one
    when its region is named); the unique best wins. None when nothing matches or two tie.
    """
    text = " ".join(texts(value))
    numbers = set(_NUMBER.findall(text))
    words = set(re.findall(r"[a-z]+", text.lower()))
    scored = []
    for region, rows in candidates:
        score = len(numbers & signature(rows, region)) + (region in words)
        scored.append((score, (region, rows)))
    scored.sort(key=lambda s: s[0], reverse=True)
    if not scored or scored[0][0] == 0:
        return _nothing_or_none(text)
    if len(scored) > 1 and scored[1][0] == scored[0][0]:
        return None
    return scored[0][1]


def identify_last_history_value(value, ctx: Ctx, candidates):
    """The global-variable page keeps each tab's clicks in a store; the newest entry is the read."""
    if not value or not isinstance(value[-1], dict) or value[-1].get("action") != "read":
        return None
    got = value[-1].get("value")
    return NOTHING if got in (None, "") else got  # an empty copy is a wrong read too (stale, not a leak)


def identify_echo(value, ctx: Ctx, candidates):
    """The no-op's answer: 'pong <n>' echoes the click number it was sent."""
    match = re.search(r"pong (\S+)", " ".join(texts(value)))
    return match.group(1) if match else None


def identify_rows_only(value, ctx: Ctx, candidates):
    """Background jobs report 'over N rows each': the only input a session writes there."""
    match = re.search(r"over ([\d,]+) rows", " ".join(texts(value)))
    return (None, int(match.group(1).replace(",", ""))) if match else None


# --------------------------------------------------------------------------- the strategies

SPECS: dict[str, Spec] = {}


def add(spec: Spec) -> Spec:
    SPECS[spec.slug] = spec
    return spec


add(Spec(
    slug="global-variable",
    writes="unique",
    takes_rows=False,
    round=(Act("value", "value", TOKEN, changed_only=False), click("set"), click("read")),
    reads=(Read("history", "data", identify_last_history_value),),
    browser_held=(("history", "data"),),
    note="Set writes a module global in whichever worker answers; Read returns that worker's copy.",
))

def _hidden_div(slug: str, note: str) -> Spec:
    """A page whose producer fills a hidden div: rows chosen once at set-up, a region per round, its table read."""
    return Spec(
        slug=slug,
        setup=(Act("rows", "value", ROWS),),
        round=(Act("region", "value", REGION),),
        reads=(Read("table", "children", identify_workload),),
        note=note,
    )


add(_hidden_div("hidden-div", "The cleaned frame as JSON in a hidden div: down once, up once per consumer."))

add(Spec(
    slug="browser-store",
    round=(Act("region", "value", REGION), Act("rows", "value", ROWS), click("write")),
    reads=(Read("session-view", "children", identify_workload),),
    browser_held=(("memory", "data"), ("session", "data"), ("local", "data")),
    note="Writes to the page's default store (storage_type='session'); its consumer reads it as Input.",
))

add(_hidden_div("aggregates", "The producer ships per-fruit aggregates in the hidden div instead of the frame."))

add(Spec(
    slug="cache-signal",
    takes_rows=False,
    fixed_rows=workload.DEFAULT_ROWS,
    round=(Act("region", "value", REGION),),
    reads=tuple(Read(f"graph-{kind}", "figure", identify_workload) for kind in ("scatter", "line", "histogram2d", "histogram2dcontour")),
    flask_cache=True,
    stampede=(Act("region", "value", REGION),),
    note="flask-caching memoize on the shared backend, at the page's fixed 10,000 rows.",
))

def _per_session(slug: str, button: str, note: str, **where) -> Spec:
    """A page that keeps a frame per session on the server: region and rows, then `button`; table and chart read."""
    return Spec(
        slug=slug,
        setup=(Act("rows", "value", ROWS),),
        round=(Act("region", "value", REGION), Act("rows", "value", ROWS), click(button)),
        reads=(Read("table", "children", identify_workload), Read("graph", "figure", identify_fruit_figure)),
        note=note,
        **where,
    )


add(_per_session("session-cache", "fetch", "Per-session Arrow frame in the store under the signed session id."))

add(_per_session(
    "session-files",
    "save",
    "One Arrow file per session; server bytes are those files.",
    server_prefixes=(),
    server_dirs=("session-files",),
))

add(Spec(
    slug="background",
    setup=(Act("rows", "value", ROWS), Act("steps", "value", 4)),
    round=(click("ex1-run"),),
    reads=(Read("ex1-result", "children", identify_rows_only),),
    expect=lambda c, s: (None, c.rows),
    server_prefixes=("background:",),
    note="Example 1 (background=True, 4 steps): one POST, then a poll every interval until the result.",
))

add(Spec(
    slug="serverside",
    setup=(Act("rows", "value", ROWS_TEXT),),
    round=(Act("region", "value", REGION),),
    reads=(Read("summary", "children", identify_workload),),
    stampede=(Act("rows", "value", ROWS_TEXT),),
    note="The browser holds a key; the frame is Arrow in the store, computed once (single-flight).",
))


def _patch_count(value, ctx, candidates):
    return len(value) if isinstance(value, list) else None


add(Spec(
    slug="patch",
    writes="count",
    takes_rows=False,
    round=(click("append"),),
    reads=(Read("table", "data", _patch_count),),
    expect=lambda c, s: (c.round + 1) * 1000,
    browser_held=(("table", "data"), ("graph", "figure")),
    note="Appends 1,000 rows per click with dash.Patch: only the new rows travel down.",
))


def _request_load(payload: dict) -> dict:
    """The clientside page's requestLoad, in Python: ask the server for the chosen row count."""
    state = {s["id"]: s.get("value") for s in payload.get("state") or []}
    return {"clientside__request": {"data": {"rows": int(state.get("clientside__rows") or 0), "sweep": [], "seq": 1}}}


add(Spec(
    slug="clientside",
    setup=(Act("rows", "value", ROWS_TEXT), click("load")),
    round=(Act("region", "value", REGION),),
    reads=(),
    allowed_rows=(1_000, 10_000, 100_000, 300_000),
    clientside={"clientside__request.data": _request_load},
    browser_held=(("data", "data"),),
    note="The dataset is loaded into the browser once; each interaction then runs in the browser (no request).",
))

def _url_query(payload: dict) -> dict:
    """The url-state page's clientside callback, in Python: the query string its controls make."""
    values = {i["id"].split(SEPARATOR, 1)[-1]: i.get("value") for i in payload.get("inputs") or []}
    query = urlencode({name: values.get(name) for name in ("region", "rows", "fruit")})
    return {"url-state__link": {"children": f"/url-state?{query}"},
            "url-state__link-bytes": {"children": f"The state is {len(query)} bytes of query string"}}


add(Spec(
    slug="url-state",
    setup=(Act("rows", "value", ROWS),),
    round=(Act("region", "value", REGION),),
    reads=(Read("table", "children", identify_workload),),
    allowed_rows=workload.ROW_CHOICES,
    clientside={"..url-state__link.children...url-state__link-bytes.children..": _url_query},
    browser_held=(("link", "children"),),
    note="The choices live in the query string (written by a clientside callback); the data in a shared cache.",
))

BASELINE = add(Spec(
    slug="baseline-noop",
    path="/benchmark",
    kind="baseline",
    writes="unique",
    takes_rows=False,
    round=(click("ping"),),
    reads=(Read("pong", "children", identify_echo),),
    expect=lambda c, s: str(c.page.get(s.cid("ping"), "n_clicks")),
    server_prefixes=(),
    browser_held=(),
    note="A callback that returns its input: the framework's own round trip, the floor.",
))

PEER = Spec(
    slug="peer-dash-extensions",
    label="dash-extensions Serverside (peer)",
    path="/",
    kind="peer",
    setup=(Act("rows", "value", ROWS_TEXT),),
    round=(Act("region", "value", REGION),),
    reads=(Read("summary", "children", identify_workload),),
    stampede=(Act("rows", "value", ROWS_TEXT),),
    server_prefixes=(),
    note="dash-extensions 2.0.6 ServersideOutputTransform in its own app: pickles per call, no memoize.",
)

DEFAULT = Spec(slug="", round=(Act("region", "value", REGION),), reads=())


def spec_for(slug: str) -> Spec:
    """The declared spec of a strategy, or the default one (a region dropdown) for a new page."""
    if slug in SPECS:
        return SPECS[slug]
    return replace(DEFAULT, slug=slug, note="no declared spec: default interaction (region dropdown)")
