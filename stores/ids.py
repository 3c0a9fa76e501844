"""The component-id format every layer shares: a namespace (a page's slug), the separator, a name.

The pages make ids in it (components/ids.py), telemetry reads a request's strategy from its prefix
(stores/telemetry.py) and the harness builds the ids it sends (bench/specs.py, bench/probe.py):
each takes the format from here, so it is typed once."""

from __future__ import annotations

SEPARATOR = "__"


def cid(namespace: str, name: str) -> str:
    """cid("hidden-div", "graph") -> "hidden-div__graph"."""
    return f"{namespace}{SEPARATOR}{name}"


# The /benchmark page's read-only probe callback (pages/benchmark.py), which the harness calls (bench/probe.py).
PROBE_ID = cid("benchmark", "probe")
PROBE_ASK_ID = cid("benchmark", "probe-ask")
