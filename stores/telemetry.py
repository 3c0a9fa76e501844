"""Telemetry: what every callback request cost, and how often the expensive step ran.

Each /_dash-update-component response carries X-Worker-PID; the request is
recorded after the response is sent, so recording never adds to its latency.
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

log = logging.getLogger(__name__)

CALLBACK_PATH = "/_dash-update-component"
RECORD_TTL = 6 * 3600
PID_HEADER = "X-Worker-PID"
LAB = "_lab"  # the site's own instrument callbacks, kept apart from the strategies

_SLUG = re.compile(r"([a-z][a-z0-9-]*)__")
_DICT_NS = re.compile(r'"ns":"([a-z][a-z0-9-]*)"')
_DICT_TYPE = re.compile(r'"type":"lab-')

COLUMNS = ["time", "strategy", "output", "pid", "server_ms", "request_bytes", "response_bytes", "status"]


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


def install(server: Flask, store: Store) -> None:
    @server.before_request
    def _start():
        g.statelab_t0 = time.perf_counter()

    @server.after_request
    def _finish(response):
        response.headers[PID_HEADER] = str(os.getpid())
        if request.path.endswith(CALLBACK_PATH):
            response.call_on_close(_recorder(store, response))
        return response


def _recorder(store: Store, response):
    try:
        body = request.get_json(silent=True) or {}
    except (HTTPException, RecursionError):  # oversize or absurdly nested: record it without parsing
        body = {}
    output = body.get("output", "") if isinstance(body, dict) else ""
    output = output if isinstance(output, str) else ""
    record = {
        "time": time.time(),
        "strategy": strategy_of_body(body),
        "output": output[:200],
        "pid": os.getpid(),
        "server_ms": round((time.perf_counter() - g.get("statelab_t0", time.perf_counter())) * 1000, 3),
        "request_bytes": request.content_length or 0,
        "response_bytes": response.calculate_content_length() or 0,
        "status": response.status_code,
    }

    def write():
        key = f"tel:req:{time.time_ns()}-{os.getpid()}"
        try:
            store.set(key, codec.dumps(record), ttl=RECORD_TTL)
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
    """Every recorded callback request (newest records last)."""
    rows = []
    for key in sorted(store.scan("tel:req:")):
        raw = store.get(key)
        if raw is None:
            continue
        record = codec.loads(raw)
        if since is None or record["time"] >= since:
            rows.append(record)
    return pd.DataFrame(rows, columns=COLUMNS)


def reset(store: Store, slug: str | None = None) -> None:
    """Forget counters (of one strategy, or all) and recorded requests."""
    for key in list(store.scan("tel:n:")):
        if slug is None or key.endswith(f":{slug}"):
            store.delete(key)
    if slug is None:
        for key in list(store.scan("tel:req:")):
            store.delete(key)
