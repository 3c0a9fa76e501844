"""The session driver: what one benchmark session does with a strategy's page, as a browser's user would.

Open the page (and run the spec's set-up), act (one declared Act: a click, a choice), merge the
requests of several acts into one interaction, check what the page reads back, and measure what
the tab holds. The standard run, the stampede and the load scenario all drive pages through these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import workload
from stores.ids import SEPARATOR

from .dashclient import Browser, Graph, Interaction, Page, dumps
from .plan import in_namespace
from .specs import CLICK, Ctx, Spec


@dataclass
class RoundRecord:
    session: int
    round: int
    interaction: Interaction | None  # None: the round changed nothing, so nothing was sent
    checks: list[tuple]  # (expected, got) per read


@dataclass
class StepData:
    """Everything measured for one strategy at one row count."""

    spec: Spec
    rows: int
    records: list[RoundRecord] = field(default_factory=list)
    loads: list[Interaction] = field(default_factory=list)
    written: dict[int, set] = field(default_factory=dict)  # session -> tokens it wrote
    browser_bytes: list[int] = field(default_factory=list)
    before: dict | None = None
    after: dict | None = None
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    scenario: str = "standard"
    repetition: int | None = None
    candidates: list = field(default_factory=list)
    cold_value: dict | None = None


def region(rank: int, round_: int) -> str:
    """Session k asks for region k+r+1 in round r: no two of (up to) as many sessions as regions ask for the same
    value in the same round, and each round asks for a value the session does not already show (except, in
    round 0, the one session whose pick is the page's default: it sends nothing)."""
    return workload.REGIONS[(rank + round_ + 1) % len(workload.REGIONS)]


def candidates(spec: Spec, rows: list[int]) -> list[tuple]:
    """The values a read is recognised among: every region at every row count the page can have shown."""
    seen = sorted(({spec.effective_rows(r) for r in rows} - {None}) | {workload.DEFAULT_ROWS})
    return [(name, r) for r in seen for name in workload.REGIONS]


def act(page: Page, spec: Spec, action, ctx: Ctx) -> Interaction | None:
    """One declared Act on the page; None when it would not change the prop (a browser sends nothing then)."""
    ident = spec.cid(action.name)
    value = action.value(ctx) if callable(action.value) else action.value
    if action.value == CLICK:
        value = (page.get(ident, action.prop) or 0) + 1
    if action.changed_only and page.get(ident, action.prop) == value:
        return None
    return page.set_props([(ident, action.prop, value)])


def merge(parts: list[Interaction]) -> Interaction:
    """Several acts' requests as one interaction (one user action: its calls, time and errors together)."""
    merged = Interaction()
    for part in parts:
        merged.calls.extend(part.calls)
        merged.ms += part.ms
        merged.skipped_clientside += part.skipped_clientside
        merged.errors.extend(part.errors)
    return merged


def act_all(page: Page, spec: Spec, actions, ctx: Ctx) -> Interaction | None:
    """Every act of a round as one interaction; None when none of them sent anything."""
    parts = [part for a in actions if (part := act(page, spec, a, ctx)) is not None]
    return merge(parts) if parts else None


def open_page(browser: Browser, spec: Spec, graph: Graph, ctx: Ctx) -> tuple[Page, Interaction]:
    """Load the strategy's page and run its set-up acts; the load's requests include the set-up's.
    `ctx.page` is filled in with the page opened."""
    page = Page(browser, spec.page_path, scope=in_namespace(spec), clientside=spec.clientside, graph=graph)
    load = page.open()
    ctx.page = page
    for action in spec.setup:
        part = act(page, spec, action, ctx)
        if part is not None:
            load.calls.extend(part.calls)
            load.errors.extend(part.errors)
    return page, load


def reads(page: Page, spec: Spec, ctx: Ctx, known: list) -> list[tuple]:
    """Per declared read: (the value shown, what it is recognised as among `known`, or None)."""
    out = []
    for read in spec.reads:
        value = page.get(spec.cid(read.name), read.prop)
        out.append((value, read.identify(value, ctx, known)))
    return out


def browser_held_bytes(page: Page, spec: Spec) -> int:
    """Bytes of the data this tab holds for the strategy: its stores and hidden divs (as JSON)."""
    total = 0
    if spec.browser_held is not None:
        for name, prop in spec.browser_held:
            value = page.get(spec.cid(name), prop)
            total += len(dumps(value)) if value is not None else 0
        return total
    scope_prefix = spec.ns + SEPARATOR
    for comp in page.components():
        ident = comp["props"].get("id")
        mine = (isinstance(ident, str) and ident.startswith(scope_prefix)) or (isinstance(ident, dict) and ident.get("ns") == spec.ns)
        if not mine:
            continue
        props = comp["props"]
        if comp["type"] == "Store" and props.get("data") is not None:
            total += len(dumps(props["data"]))
        elif (comp["type"] == "Div" and props.get("children") is not None
              and (props.get("hidden") or (props.get("style") or {}).get("display") == "none")):
            total += len(dumps(props["children"]))
    return total
