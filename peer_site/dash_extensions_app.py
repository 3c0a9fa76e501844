"""The peer: dash-extensions' `Serverside` outputs on the shared workload, as its users write it.

A separate, small Dash app (gunicorn target `peer_site.dash_extensions_app:server`) with
the same inputs (rows, region, fruit) and the same consumers (density grid, binned trend,
per-fruit summary) as the serverside page. Its component ids carry the prefix
"peer-dash-extensions__", so telemetry-like tools classify its requests.

dash-extensions as documented: `DashProxy(transforms=[ServersideOutputTransform(...)])`,
the producer returns `Serverside(frame)` — pickled into a FileSystemBackend (or a
RedisBackend when STATELAB_PEER_REDIS_URL is set) under a fresh uuid4 per call — and the
consumers receive the unpickled frame. No memoize, no dedup: that is the library's design.

GET /peer/stats answers how often the expensive step ran (across all workers) and what
the cache holds; POST /peer/reset zeroes the count and clears the cache.
"""

from __future__ import annotations

import os
from pathlib import Path

import dash_bootstrap_components as dbc
import redis
from dash import Input, Output, dcc, html
from dash_extensions.enrich import DashProxy, FileSystemBackend, RedisBackend, Serverside, ServersideOutputTransform
from flask import jsonify

import workload
from bench.peers import COUNTER_FILE, PEER_SLUG, peer_cache_dir, peer_data_dir, peer_redis_url
from components import beyond, figures
from components.ids import Ids
from config import load_settings

settings = load_settings()
ids = Ids(PEER_SLUG)
DATA_DIR = peer_data_dir()
CACHE_DIR = peer_cache_dir(DATA_DIR)
COUNTER = DATA_DIR / COUNTER_FILE
ROWS = (1_000, 10_000, 100_000, beyond.BIG_ROWS)


def _backend():
    url = peer_redis_url()
    if url:
        return RedisBackend(host=redis.Redis.from_url(url), key_prefix=f"{PEER_SLUG}:")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    return FileSystemBackend(cache_dir=str(CACHE_DIR))


backend = _backend()
app = DashProxy(
    __name__,
    transforms=[ServersideOutputTransform(backends=[backend])],
    title="Peer: dash-extensions Serverside",
    assets_folder=str(Path(__file__).parent / "no-assets"),
    update_title=None,
)
server = app.server


@server.after_request
def _worker_pid(response):
    # The harness counts the workers hit from this header, as on the site itself.
    response.headers["X-Worker-PID"] = str(os.getpid())
    return response


def _select(name, options, value):
    return dbc.Select(id=ids(name), options=options, value=value)


app.layout = html.Div(
    [
        html.H3("dash-extensions Serverside (benchmark peer)"),
        _select("rows", beyond.row_options(ROWS), str(workload.DEFAULT_ROWS)),
        _select("region", [{"label": r, "value": r} for r in workload.REGIONS], "north"),
        _select("fruit", [{"label": f, "value": f} for f in workload.FRUITS], "apples"),
        dcc.Store(id=ids("key")),
        dcc.Graph(id=ids("density")),
        dcc.Graph(id=ids("trend")),
        html.Div(id=ids("summary")),
    ]
)


def _count_computation() -> None:
    """One line per run of the expensive step; O_APPEND keeps concurrent workers' lines whole."""
    fd = os.open(COUNTER, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"1\n")
    finally:
        os.close(fd)


def computations() -> int:
    try:
        return COUNTER.stat().st_size // 2
    except FileNotFoundError:
        return 0


@app.callback(Output(ids("key"), "data"), Input(ids("rows"), "value"), Input(ids("region"), "value"))
def produce(rows, region):
    cleaned = workload.expensive_step(workload.check_rows(rows), region, delay=settings.compute_delay)
    _count_computation()
    return Serverside(cleaned)


MISSING = "the cached value is missing (expired or evicted)"


@app.callback(Output(ids("density"), "figure"), Input(ids("key"), "data"), Input(ids("fruit"), "value"))
def density(cleaned, fruit):
    return figures.empty(MISSING, 280) if cleaned is None else beyond.density_figure(cleaned, fruit)


@app.callback(Output(ids("trend"), "figure"), Input(ids("key"), "data"), Input(ids("fruit"), "value"))
def trend(cleaned, fruit):
    return figures.empty(MISSING, 280) if cleaned is None else beyond.trend_figure(cleaned, fruit)


@app.callback(Output(ids("summary"), "children"), Input(ids("key"), "data"))
def summary(cleaned):
    return html.Div(MISSING) if cleaned is None else beyond.summary_table(cleaned)


def _cache_footprint() -> tuple[int, int]:
    if peer_redis_url():
        client = backend._write_client
        keys = list(client.scan_iter(match=f"{PEER_SLUG}:*", count=1000))
        return len(keys), sum(int(client.strlen(k)) for k in keys)
    files = [p for p in CACHE_DIR.iterdir() if p.is_file()] if CACHE_DIR.exists() else []
    return len(files), sum(p.stat().st_size for p in files)


@server.get("/peer/stats")
def stats():
    entries, size = _cache_footprint()
    return jsonify(
        peer=PEER_SLUG,
        computations=computations(),
        cache_entries=entries,
        cache_bytes=size,
        backend="redis" if peer_redis_url() else "filesystem",
        cache_dir=None if peer_redis_url() else str(CACHE_DIR),
        compute_delay=settings.compute_delay,
        pid=os.getpid(),
    )


@server.post("/peer/reset")
def reset():
    COUNTER.unlink(missing_ok=True)
    backend.clear()
    return jsonify(ok=True)
