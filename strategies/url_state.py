"""State in the URL: the record of pages/url_state.py (strategies/__init__.py says what a record is).

Its texts and values are strategies/records/url_state.toml; this module adds only what must be code.
"""

from __future__ import annotations

from urllib.parse import urlencode

import workload
from stores.ids import SEPARATOR
from strategies.datafile import record


def _url_query(payload: dict) -> dict:
    """The url-state page's clientside callback, in Python: the query string its controls make."""
    values = {i["id"].split(SEPARATOR, 1)[-1]: i.get("value") for i in payload.get("inputs") or []}
    query = urlencode({name: values.get(name) for name in ("region", "rows", "fruit")})
    return {"url-state__link": {"children": f"/url-state?{query}"},
            "url-state__link-bytes": {"children": f"The state is {len(query)} bytes of query string"}}


STRATEGY = record(__name__, spec={
    "allowed_rows": workload.ROW_CHOICES,  # the page's own row choices, wherever they are set
    "clientside": {"..url-state__link.children...url-state__link-bytes.children..": _url_query},
}, figures={50: lambda g: {"p50": g.ms("url-state"), "traffic": g.traffic("url-state")}})
SPEC = STRATEGY.spec
