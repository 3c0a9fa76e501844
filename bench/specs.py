"""The specs the benchmark drives: every strategy's, read from its record (strategies/), plus the
benchmark's own floor (BASELINE, on /benchmark) and the peer app (PEER).

The spec primitives (Spec, Act, Read, Ctx, the placeholders and the ways to recognise a value) live in
strategies/spec.py, neutral ground the records, the pages and the harness share; they are re-exported
here for the harness's modules. A page without a declared spec is benchmarked with DEFAULT (a region
dropdown) when it has one, else left out and said so.
"""

from __future__ import annotations

from dataclasses import replace

import strategies
from strategies.spec import (  # noqa: F401 - re-exported for the harness
    CLICK,
    NOTHING,
    REGION,
    ROWS,
    ROWS_TEXT,
    TOKEN,
    Act,
    Ctx,
    Read,
    Spec,
    click,
    fruit_counts,
    identify_echo,
    identify_fruit_figure,
    identify_last_history_value,
    identify_rows_only,
    identify_workload,
    signature,
    texts,
)

SPECS: dict[str, Spec] = dict(strategies.specs())


def add(spec: Spec) -> Spec:
    SPECS[spec.slug] = spec
    return spec


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
