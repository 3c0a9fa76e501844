"""Hidden div: the record of pages/hidden_div.py (strategies/__init__.py says what a record is)."""

from __future__ import annotations

from strategies import Strategy
from strategies.spec import hidden_div_spec

SPEC = hidden_div_spec("hidden-div", "The cleaned frame as JSON in a hidden div: down once, up once per consumer.")

STRATEGY = Strategy(
    slug="hidden-div",
    title="Hidden div",
    summary="One callback runs the expensive step and writes the cleaned frame as JSON into a hidden html.Div; "
    "every other callback takes that div's children as Input. Safe on any number of workers — at the price of "
    "shipping the whole frame down once and up once per consumer.",
    lives="the browser's DOM (sent down and back up)",
    multi_worker_safe=True,
    shared_between_users=False,
    survives_reload=False,
    payload_growth="O(rows): down once, up per consumer",
    pros=[
        "Nothing on the server: any worker can answer any consumer.",
        "Each session has its own copy; nothing to clean up.",
        "The expensive step runs once per input change, not once per consumer.",
    ],
    cons=[
        "The frame crosses the network 1 + N times per interaction (N consumers) and grows with the rows.",
        "JSON encoding and parsing on every request; the browser keeps the whole frame in the DOM.",
        "The data comes back from the browser: it must be validated like any user input.",
    ],
    seeds=["000", "002", "003"],
    group="guides",
    order=20,
    claims_isolation=True,
    spec=SPEC,
)
