"""Telemetry: what every callback request cost, and how often the expensive step ran.

Each /_dash-update-component response carries X-Worker-PID; the request is
recorded after the response is sent, so recording never adds to its latency.

Bounded: the records are a capped log (Store.log_append: a ring of keys on disk, a Redis stream
with MAXLEN), at most settings.telemetry_max_records whatever the request rate (lowered to fit the
telemetry share of STATELAB_MAX_DATA_BYTES, each record at most budget.RECORD_BYTES), read back in one
go — never a scan of the keyspace. Only requests Dash took are recorded: the 4xx answers to
malformed or refused bodies are not (a flood of them writes nothing); its own errors (5xx) are,
including a request whose worker died under it.
"""

from __future__ import annotations

import logging
import os
import re
import time

import pandas as pd
from flask import Flask, g, request
from werkzeug.exceptions import HTTPException

from . import codec
from .base import Store, StoreError
from .budget import RECORD_BYTES
from .ids import SEPARATOR

log = logging.getLogger(__name__)

CALLBACK_PATH = "/_dash-update-component"
RECORD_TTL = 6 * 3600
PID_HEADER = "X-Worker-PID"
LAB = "_lab"  # the site's own instrument callbacks, kept apart from the strategies

_SLUG = re.compile(r"([a-z][a-z0-9-]*)" + re.escape(SEPARATOR))
_DICT_NS = re.compile(r'"ns":"([a-z][a-z0-9-]*)"')
_DICT_TYPE = re.compile(r'"type":"lab-')

COLUMNS = ["time", "strategy", "output", "pid", "server_ms", "request_bytes", "response_bytes", "status", "bench"]
LOG = "tel"
DEFAULT_CAP = 5000
KINDS = ("compute", "hit", "miss", "evict")


def strategy_of(output: str) -> str:
    """The strategy slug an output belongs to, from its id prefix ('' when none)."""
    if _DICT_TYPE.search(output):
        return LAB
    match = _DICT_NS.search(output) or _SLUG.search(output)
    return match.group(1) if match else ""


def strategy_of_body(body) -> str:
    """The strategy of a callback request; pattern-matching outputs name it only in 'outputs'."""
    if not isinstance(body, dict):
        return ""
    outputs = body.get("outputs")
    first = outputs[0] if isinstance(outputs, list) and outputs else outputs
    if isinstance(first, list) and first:  # a wildcard output matching several components
        first = first[0]
    if isinstance(first, dict) and isinstance(first.get("id"), dict):
        concrete = first["id"]
        if str(concrete.get("type", "")).startswith("lab-"):
            return LAB
        if isinstance(concrete.get("ns"), str):
            return strategy_of(f'"ns":"{concrete["ns"]}"')
    output = body.get("output")
    return strategy_of(output) if isinstance(output, str) else ""


_limits = {"cap": DEFAULT_CAP}


def set_cap(cap: int) -> None:
    """This process's log cap (stores.configure sets it from the settings and the data bound)."""
    _limits["cap"] = max(1, int(cap))


def _cap() -> int:
    return _limits["cap"]


def encode(record: dict) -> bytes:
    """The record as stored, never over budget.RECORD_BYTES: the cap times this is the log's bytes."""
    data = codec.dumps(record)
    while len(data) > RECORD_BYTES and record.get("output"):
        record = {**record, "output": record["output"][: len(record["output"]) // 2]}
        data = codec.dumps(record)
    return data


def recorded(status: int) -> bool:
    """Whether a callback answer is worth a record: Dash took the request (not a 4xx refusal)."""
    return status < 400 or status >= 500


def install(server: Flask, store: Store) -> None:
    @server.before_request
    def _start():
        g.statelab_t0 = time.perf_counter()

    @server.after_request
    def _finish(response):
        response.headers[PID_HEADER] = str(os.getpid())
        if request.path.endswith(CALLBACK_PATH):
            g.statelab_recorded = True
            if recorded(response.status_code):
                response.call_on_close(_writer(store, _record(response.status_code, response.calculate_content_length() or 0)))
        return response

    @server.teardown_request
    def _died(exc):
        # A request cut short by something Flask does not turn into a response (the worker being
        # stopped under it) never reaches after_request: count it as the error the visitor saw.
        if exc is not None and request.path.endswith(CALLBACK_PATH) and not g.get("statelab_recorded"):
            _writer(store, _record(500, 0))()


def _record(status: int, response_bytes: int) -> dict:
    try:
        body = request.get_json(silent=True) or {}
    except (HTTPException, RecursionError):  # oversize or absurdly nested: record it without parsing
        body = {}
    output = body.get("output", "") if isinstance(body, dict) else ""
    output = output if isinstance(output, str) else ""
    return {
        "time": time.time(),
        "strategy": strategy_of_body(body),
        "output": output[:200],
        "pid": os.getpid(),
        "server_ms": round((time.perf_counter() - g.get("statelab_t0", time.perf_counter())) * 1000, 3),
        "request_bytes": request.content_length or 0,
        "response_bytes": response_bytes,
        "status": status,
        "bench": bool(g.get("statelab_bench")),  # the benchmark page's own signed requests
    }


def _writer(store: Store, record: dict):
    def write():
        try:
            store.log_append(LOG, encode(record), _cap(), ttl=RECORD_TTL)
        except StoreError as exc:
            log.warning("telemetry not recorded: %s", exc)

    return write


def count(store: Store, kind: str, slug: str, amount: int = 1) -> None:
    """Add to a per-strategy counter (kind: compute, hit, miss, evict ...); never raises."""
    try:
        store.incr(f"tel:n:{kind}:{slug}", amount)
    except StoreError as exc:
        log.warning("counter %s:%s not updated: %s", kind, slug, exc)


def counter(store: Store, kind: str, slug: str) -> int:
    return store.get_int(f"tel:n:{kind}:{slug}")


def counters(store: Store) -> pd.DataFrame:
    """One row per (kind, strategy) with its value."""
    rows = []
    for key in store.scan("tel:n:"):
        _, _, kind, slug = key.split(":", 3)
        rows.append({"kind": kind, "strategy": slug, "value": store.get_int(key)})
    return pd.DataFrame(rows, columns=["kind", "strategy", "value"])


def requests_frame(store: Store, since: float | None = None) -> pd.DataFrame:
    """The recorded callback requests still in the capped log (newest last)."""
    rows = []
    for raw in store.log_read(LOG):
        try:
            record = codec.loads(raw)
        except (ValueError, TypeError, StoreError):
            continue  # one unreadable record must not hide the others
        if isinstance(record, dict) and (since is None or record.get("time", 0) >= since):
            rows.append(record)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values("time", kind="stable").reset_index(drop=True) if rows else frame


def reset(store: Store, slug: str | None = None) -> None:
    """Forget counters (of one strategy, or all) and, for all, the recorded requests. Operator only:
    a visitor's "reset counters" moves that browser's own baseline (components/instruments.py)."""
    if slug is not None:
        for kind in KINDS:
            store.delete(f"tel:n:{kind}:{slug}")
        return
    for key in list(store.scan("tel:n:")):
        store.delete(key)
    store.log_clear(LOG)
