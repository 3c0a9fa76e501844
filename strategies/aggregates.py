"""Aggregates up front: the record of pages/aggregates.py (strategies/__init__.py says what a record is)."""

from __future__ import annotations

from strategies import Guide, Strategy
from strategies.spec import hidden_div_spec

SPEC = hidden_div_spec("aggregates", "The producer ships per-fruit aggregates in the hidden div instead of the frame.")

STRATEGY = Strategy(
    slug="aggregates",
    title="Aggregates up front",
    summary="The same inputs and the same hidden div as the hidden-div page, but the producer computes what the "
    "consumers will show — per-fruit binned means and a summary table — and ships only those. The payload stops "
    "growing with the rows.",
    lives="the browser's DOM (small aggregates)",
    multi_worker_safe=True,
    shared_between_users=False,
    survives_reload=False,
    payload_growth="O(bins × consumers): flat in rows",
    pros=[
        "Kilobytes instead of megabytes, down and up, whatever the row count.",
        "No server-side state: any worker answers any consumer.",
        "Consumers get ready-to-draw data and do almost no work.",
    ],
    cons=[
        "The producer must know every view in advance: a new chart means a new aggregate.",
        "No drill-down into individual rows without another round trip.",
        "Still validated like any data that comes back from the browser.",
    ],
    seeds=["000", "002"],
    group="guides",
    order=40,
    claims_isolation=True,
    spec=SPEC,
    guide=(
        Guide(
            rank=80,
            case="The outputs only need a summary of a large result",
            answer="Ship the aggregates, not the frame.",
            figure=lambda g: f"{g.traffic('aggregates')}, against the hidden div's "
     f"{g.traffic('hidden-div')}.",
            across="browser",
        ),
    ),
)
