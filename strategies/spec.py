"""What the benchmark does on a strategy's page, declared — not coded: the primitives of a Spec.

A spec names the page's controls and what to read back:
- `setup`: user actions done once per session after the page loads (not timed), e.g.
  pick the sweep's row count;
- `round`: the actions of one timed interaction, e.g. pick a region, or type a value
  and press Set then Read. Each action is what a user does to one control; the harness
  then sends every callback the renderer would (bench/dashclient.py);
- `reads`: outputs whose content tells which value the session got back, and how to
  recognise it (`identify`), so a stale or foreign value is caught.

Values are constants or functions of the run context (ROWS, REGION, TOKEN, CLICK...).
Component names are the page's own (Ids(slug)(name)). Each strategy's spec sits in its record, declared
in strategies/records/<module>.toml with the names PLACEHOLDERS and IDENTIFY give (spec_from_data); this
module is neutral ground that the records, the pages and the benchmark all import, so none of them
imports another's layer.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

import workload
from stores.ids import cid


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


def REGION_LIST(c: Ctx):  # noqa: N802 - a multi-choice control (a checklist) holds a list
    return [c.region]


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
    stampede_by_default: bool = False  # the stampede scenario runs it when no strategies are named
    clientside: dict = field(default_factory=dict)  # output -> python stand-in for a clientside callback
    expect: Callable | None = None  # (Ctx, Spec) -> the token a correct read shows; default from `writes`
    server_dirs: tuple = ()  # data-directory folders whose files are this strategy's server bytes
    allowed_rows: tuple | None = None  # the row counts the page accepts (others: the step is left out)
    # (every n rounds, Act): a page whose state only grows is reset (untimed) so a long load stays in its limits.
    reset: tuple | None = None
    # The read shows the same value every round (a background job reports the session's row count): a read
    # then counts as the session's own only when this round's answer replaced the output.
    fresh_reads: bool = False
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


# --------------------------------------------------------------------------- a spec declared in a data file

# The names a record's data file (strategies/records/<module>.toml) may use for code: a value that depends
# on the run (`to = "ROWS"`) and how a read is recognised (`identify = "identify_workload"`).
PLACEHOLDERS = {f.__name__: f for f in (ROWS, ROWS_TEXT, REGION, REGION_LIST, TOKEN)}
IDENTIFY = {f.__name__: f for f in (identify_workload, identify_fruit_figure, identify_last_history_value,
                                    identify_echo, identify_rows_only)}
_ACTIONS = ("setup", "round", "stampede")
_TUPLES = ("server_prefixes", "server_dirs", "allowed_rows")


def _named(table: dict, name: str, what: str):
    if name not in table:
        raise ValueError(f"unknown {what} {name!r}: one of {sorted(table)}")
    return table[name]


def act_from_data(data: dict) -> Act:
    """{ click = "set" }, { set = "rows", prop = "value", to = "ROWS" } (a placeholder) or ..., value = 4 }."""
    if "click" in data:
        return click(data["click"])
    value = _named(PLACEHOLDERS, data["to"], "placeholder") if "to" in data else data["value"]
    return Act(data["set"], data["prop"], value, changed_only=data.get("changed_only", True))


def read_from_data(data: dict) -> Read:
    """{ read = "table", prop = "children", identify = "identify_workload" }."""
    return Read(data["read"], data["prop"], _named(IDENTIFY, data["identify"], "identify"))


def spec_from_data(slug: str, data: dict, code: dict) -> Spec:
    """A Spec from a data file's [spec] table, plus `code`: the fields only Python can say (expect, clientside,
    a custom read, a constant of workload). A field is said in one place or the other, never both."""
    both = sorted(set(data) & set(code))
    if both:
        raise ValueError(f"spec {slug!r}: {both} given in the data file and in code")
    fields = dict(data)
    for name in _ACTIONS:
        if name in fields:
            fields[name] = tuple(act_from_data(a) for a in fields[name])
    if "reads" in fields:
        fields["reads"] = tuple(read_from_data(r) for r in fields["reads"])
    if "reset" in fields:
        fields["reset"] = (fields["reset"]["every"], act_from_data(fields["reset"]["act"]))
    if "browser_held" in fields:
        fields["browser_held"] = tuple(tuple(pair) for pair in fields["browser_held"])
    for name in _TUPLES:
        if name in fields:
            fields[name] = tuple(fields[name])
    return Spec(**{"slug": slug, **fields, **code})
