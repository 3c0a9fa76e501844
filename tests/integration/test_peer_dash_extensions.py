"""The dash-extensions peer: start_peer starts it under gunicorn and it runs the workload."""

from __future__ import annotations

import json
import urllib.request

import pytest

import workload
from bench.peers import PEER_SLUG, peer_cache_dir, start_peer, stop_peer
from serve import free_port


def _post(url: str, body: dict):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read()


def _get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _call(base: str, output: str, inputs: list[tuple[str, str, object]]):
    body = {
        "output": output,
        "outputs": dict(zip(("id", "property"), output.rsplit(".", 1), strict=True)),
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "changedPropIds": [f"{inputs[0][0]}.{inputs[0][1]}"],
        "state": [],
    }
    return _post(base + "/_dash-update-component", body)


@pytest.fixture(scope="module")
def peer(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("peer")
    port = free_port()
    process = start_peer(port, data_dir, workers=2, compute_delay=0.2, log=data_dir / "peer.log")
    yield f"http://127.0.0.1:{port}", data_dir, process
    stop_peer(process)
    assert process.poll() is not None


def test_peer_starts_answers_and_counts_its_computations(peer):
    base, data_dir, _process = peer
    stats = _get_json(base + "/peer/stats")
    assert stats["peer"] == PEER_SLUG and stats["computations"] == 0
    assert stats["cache_dir"] == str(peer_cache_dir(data_dir.resolve()))

    key_id = f"{PEER_SLUG}__key"
    raw = _call(base, f"{key_id}.data", [(f"{PEER_SLUG}__rows", "value", "20000"), (f"{PEER_SLUG}__region", "value", "east")])
    key = json.loads(raw)["response"][key_id]["data"]
    assert key.startswith("SERVERSIDE_") and len(key) < 300, "the browser holds only dash-extensions' reference"

    raw = _call(base, f"{PEER_SLUG}__summary.children", [(key_id, "data", key)])
    shown = raw.decode()
    table = workload.summary(workload.expensive_step(20_000, "east"))
    assert all(f"{r.revenue:,.0f}" in shown for r in table.itertuples()), "the consumer read the frame back"

    # dash-extensions does not deduplicate: a second session asking the same value computes again.
    _call(base, f"{key_id}.data", [(f"{PEER_SLUG}__rows", "value", "20000"), (f"{PEER_SLUG}__region", "value", "east")])
    stats = _get_json(base + "/peer/stats")
    assert stats["computations"] == 2
    assert stats["cache_entries"] >= 2 and stats["cache_bytes"] > 10_000
    cache = peer_cache_dir(data_dir.resolve())
    assert any(cache.iterdir()), "its FileSystemBackend writes under the data directory it was given"

    _post(base + "/peer/reset", {})
    assert _get_json(base + "/peer/stats")["computations"] == 0
