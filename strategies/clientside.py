"""Clientside callbacks on data loaded once: the record of pages/clientside.py (strategies/__init__.py says what a record is)."""

from __future__ import annotations

from strategies import Guide, Strategy
from strategies.spec import REGION_LIST, ROWS_TEXT, Act, Spec, click


def _request_load(payload: dict) -> dict:
    """The clientside page's requestLoad, in Python: ask the server for the chosen row count."""
    state = {s["id"]: s.get("value") for s in payload.get("state") or []}
    return {"clientside__request": {"data": {"rows": int(state.get("clientside__rows") or 0), "sweep": [], "seq": 1}}}


SPEC = Spec(
    slug="clientside",
    setup=(Act("rows", "value", ROWS_TEXT), click("load")),
    round=(Act("region", "value", REGION_LIST),),
    reads=(),
    allowed_rows=(1_000, 10_000, 100_000, 300_000),
    clientside={"clientside__request.data": _request_load},
    browser_held=(("data", "data"),),
    note="The dataset is loaded into the browser once; each interaction then runs in the browser (no request).",
)

STRATEGY = Strategy(
    slug="clientside",
    title="Clientside callbacks on data loaded once",
    summary="One server callback ships the dataset to the browser; every filter and aggregate after that runs "
    "in JavaScript in the tab — zero server requests per interaction, until the data is too big for the tab.",
    lives="browser memory (dcc.Store) + JavaScript",
    multi_worker_safe=True,
    shared_between_users=False,
    survives_reload=False,
    payload_growth="O(rows) once, then 0 per interaction",
    pros=[
        "No request, no worker, no latency per interaction: the tab answers by itself",
        "The server does one cheap job per page load and nothing after",
        "Scales with the number of users for free: their browsers do the work",
    ],
    cons=[
        "The whole dataset crosses the network and sits in every tab's memory",
        "Logic written twice (Python for the server, JavaScript here) and harder to test",
        "Stops scaling with the data: download, parse and memory grow with rows; phones give up first",
        "Everything in the browser is visible to the user: no secrets, no per-user filtering",
    ],
    group="beyond",
    order=130,
    claims_isolation=True,
    spec=SPEC,
    guide=(
        Guide(
            rank=90,
            case="The browser can do the filtering itself on a modest dataset",
            answer="Load the rows once, filter in JavaScript.",
            figure="No request per interaction.",
            across="browser",
        ),
    ),
)
