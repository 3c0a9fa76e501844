"""The demo server as a whole: real gunicorn with 4 workers, in both modes."""

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from config import PROJECT_DIR
from serve import free_port
from stores import DiskStore, telemetry
from tests.support import wait_until


def page_paths(site) -> list[str]:
    """Every page the sidebar links to, read from the served layout."""
    layout = requests.get(site.url + "/_dash-layout", timeout=10).json()
    found = []

    def walk(node):
        if isinstance(node, dict):
            href = node.get("props", {}).get("href") if "props" in node else None
            if isinstance(href, str) and href.startswith("/") and href not in found:
                found.append(href)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(layout)
    return found


def test_every_page_is_served_and_requests_spread_over_workers(site):
    paths = page_paths(site)
    assert "/" in paths and len(paths) >= 2

    def get(path):
        response = requests.get(site.url + path, timeout=30)  # a connection of its own each
        assert response.status_code == 200, path
        return response.headers["X-Worker-PID"]

    pids = {get(path) for path in paths}
    # One request at a time may all land on one worker (whichever wins the accept race while idle, and
    # an idle worker keeps winning): several at once keep the first busy, so another must take some.
    with ThreadPoolExecutor(8) as pool:
        for _round in range(10):
            if len(pids) >= 2:
                break
            pids.update(pool.map(get, paths * 2))
    assert len(pids) >= 2, f"{len(paths) * 21} requests, up to 8 at once, all answered by {pids}"


def test_callback_requests_are_recorded_with_worker_and_bytes(embedded_site):
    deps = requests.get(embedded_site.url + "/_dash-dependencies", timeout=10).json()
    output = next(d["output"] for d in deps if '"type":"lab-stats"' in d["output"])
    concrete = {"ns": "home", "type": "lab-stats"}
    body = {
        "output": output,
        "outputs": [{"id": concrete, "property": "children"}, {"id": {"ns": "home", "type": "lab-baseline"}, "property": "data"}],
        "inputs": [{"id": {"ns": "home", "type": "lab-version"}, "property": "data", "value": 1},
                   {"id": {"ns": "home", "type": "lab-reset"}, "property": "n_clicks", "value": None}],
        "changedPropIds": [],
        "state": [{"id": concrete, "property": "id", "value": concrete},
                  {"id": {"ns": "home", "type": "lab-baseline"}, "property": "data", "value": None}],
    }
    started = time.time()
    response = requests.post(embedded_site.url + "/_dash-update-component", json=body, timeout=10)
    assert response.status_code == 200, response.text[:300]
    pid = int(response.headers["X-Worker-PID"])
    store = DiskStore(embedded_site.settings.data_dir / "store")

    def recorded():
        frame = telemetry.requests_frame(store, since=started)
        return frame[frame["pid"] == pid]

    wait_until(lambda: len(recorded()) > 0, 10, message="the request to be recorded")
    row = recorded().iloc[-1]
    assert row["strategy"] == telemetry.LAB
    assert row["request_bytes"] == len(json.dumps(body).encode())
    assert row["response_bytes"] == len(response.content)
    assert row["server_ms"] > 0


def test_oversize_callback_request_gets_413_with_a_message(embedded_site):
    limit = embedded_site.settings.max_request_bytes
    response = requests.post(
        embedded_site.url + "/_dash-update-component", data=b"x" * (limit + 1),
        headers={"Content-Type": "application/json"}, timeout=30,
    )
    assert response.status_code == 413
    assert "larger than the server accepts" in response.json()["message"]


def test_start_up_with_an_unreachable_redis_says_what_to_do(tmp_path):
    port = free_port()
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "app.py", "--port", str(free_port()), "--data-dir", str(tmp_path)],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "REDIS_URL": f"redis://127.0.0.1:{port}/0", "STATELAB_REDIS_TIMEOUT": "0.5"},
    )
    assert result.returncode == 2
    assert f"REDIS_URL=redis://127.0.0.1:{port}/0 is not reachable" in result.stderr
    assert "unset REDIS_URL to use the embedded store" in result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 30


def test_a_bad_setting_is_refused_at_start_up(tmp_path):
    result = subprocess.run(
        [sys.executable, "app.py", "--data-dir", str(tmp_path)], cwd=PROJECT_DIR, capture_output=True, text=True,
        timeout=60, env={"PATH": "/usr/bin:/bin", "STATELAB_COMPUTE_DELAY": "slow"},
    )
    assert result.returncode != 0
    assert "STATELAB_COMPUTE_DELAY='slow' is not a valid float" in result.stderr


def test_a_corrupted_telemetry_record_is_skipped_not_a_traceback(tmp_path):
    store = DiskStore(tmp_path / "store")
    store.log_append(telemetry.LOG, b"\x00\x01 not json", cap=10)
    store.log_append(telemetry.LOG, b'{"time": 1.0, "strategy": "patch", "status": 200}', cap=10)
    frame = telemetry.requests_frame(store)
    assert list(frame["strategy"]) == ["patch"]  # the unreadable record hides nothing else
