"""State in the URL: the record of pages/url_state.py (strategies/__init__.py says what a record is)."""

from __future__ import annotations

from urllib.parse import urlencode

import workload
from stores.ids import SEPARATOR
from strategies import Guide, Strategy
from strategies.spec import REGION, ROWS, Act, Read, Spec, identify_workload


def _url_query(payload: dict) -> dict:
    """The url-state page's clientside callback, in Python: the query string its controls make."""
    values = {i["id"].split(SEPARATOR, 1)[-1]: i.get("value") for i in payload.get("inputs") or []}
    query = urlencode({name: values.get(name) for name in ("region", "rows", "fruit")})
    return {"url-state__link": {"children": f"/url-state?{query}"},
            "url-state__link-bytes": {"children": f"The state is {len(query)} bytes of query string"}}


SPEC = Spec(
    slug="url-state",
    setup=(Act("rows", "value", ROWS),),
    round=(Act("region", "value", REGION),),
    reads=(Read("table", "children", identify_workload),),
    allowed_rows=workload.ROW_CHOICES,
    clientside={"..url-state__link.children...url-state__link-bytes.children..": _url_query},
    browser_held=(("link", "children"),),
    note="The choices live in the query string (written by a clientside callback); the data in a shared cache.",
)

STRATEGY = Strategy(
    slug="url-state",
    title="State in the URL",
    summary="The user's choices live in the page's address: ?region=…&rows=…&fruit=…. A reload, a bookmark or a "
    "link sent to a colleague opens the same view, and Back steps to the previous one. The data those choices "
    "select is computed once on the server and shared, like cache-signal.",
    lives="the address bar (the choices) + a shared server cache (the data)",
    multi_worker_safe=True,
    shared_between_users="by link",
    survives_reload=True,
    payload_growth="O(1): the choices, a few dozen bytes",
    pros=[
        "Survives reload, new tabs and restarts; bookmarkable; shareable by sending the link",
        "Back and Forward step through earlier states for free",
        "Nothing per session on the server: any worker, any host can answer",
    ],
    cons=[
        "Holds choices, not data: a few hundred bytes at most (links get cut, logged and indexed)",
        "Anyone can edit it: every value is untrusted input and must be validated on load",
        "Visible to everyone the link reaches: never put secrets or personal data in it",
    ],
    group="beyond",
    order=140,
    claims_isolation=True,
    spec=SPEC,
    guide=(
        Guide(
            rank=50,
            case="The state is a few choices a user should be able to reload, bookmark, share or undo with Back",
            answer="Put them in the query string.",
            figure=lambda g: f"{g.ms('url-state')} p50, {g.traffic('url-state')}.",
            across="browser",
        ),
    ),
)
