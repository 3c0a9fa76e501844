"""Faults of the host (finding 9): the data directory removed or its store file damaged while the
site runs, gunicorn's master killed, the port already taken. Real gunicorn (4 workers), real
`python app.py`, real diskcache files on disk."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import time

import psutil
import pytest
import requests

from serve import Site, free_port
from stores import DiskStore, StoreUnavailable, sessions
from stores.singleflight import _Heartbeat
from tests.apprun import AppProcess
from tests.callbacks import CALLBACK, gunicorn_log
from tests.support import lab_stats_body, site_settings, wait_until


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A site of its own, its logs outside the data directory the tests remove."""
    root = tmp_path_factory.mktemp("host-faults")
    started = Site(site_settings(root / "data"), workers=4, celery=False, log_dir=root / "logs").start()
    yield started
    started.stop()


def answers_per_worker(site, want, timeout: float = 90.0) -> dict[int, str]:
    """POST the instruments' store-reading callback until every worker has answered and `want(text)`
    held for each worker's latest answer; never an HTTP 5xx."""
    body, latest = lab_stats_body(site.url), {}
    pids = {p.pid for p in psutil.Process(site.web.pid).children()}

    def all_workers():
        response = requests.post(site.url + CALLBACK, json=body, timeout=30)
        assert response.status_code < 500, f"HTTP {response.status_code}: {response.text[:300]}"
        latest[int(response.headers["X-Worker-PID"])] = response.text
        return set(latest) >= pids and all(want(latest[pid]) for pid in pids)

    wait_until(all_workers, timeout, 0.02, f"every worker of {sorted(pids)} to answer as wanted; last: "
               f"{ {pid: text[-200:] for pid, text in latest.items()} }")
    return latest


def healthy(text: str) -> bool:
    return "Store unavailable" not in text and "lab-metrics" in text


def test_a_removed_data_directory_is_refused_by_every_worker_and_never_recreated(site):
    data_dir = site.settings.data_dir
    answers_per_worker(site, healthy)  # every worker has the store open
    log = gunicorn_log(site)
    shutil.rmtree(data_dir)

    answers_per_worker(site, lambda text: "Store unavailable: the store file" in text and "is gone" in text)
    # A callback that lets the store error through gets HTTP 503 with the reason.
    token = sessions.mint(site.settings.secret.encode())
    start_job = {
        "output": "background__ex1-result.children", "outputs": {"id": "background__ex1-result", "property": "children"},
        "inputs": [{"id": "background__ex1-run", "property": "n_clicks", "value": 1}],
        "changedPropIds": ["background__ex1-run.n_clicks"],
        "state": [{"id": "background__rows", "property": "value", "value": 1000},
                  {"id": "background__steps", "property": "value", "value": 4},
                  {"id": "background__token", "property": "data", "value": token}],
    }
    for _ in range(8):
        response = requests.post(site.url + CALLBACK, json=start_job, timeout=30)
        assert response.status_code == 503, f"HTTP {response.status_code}: {response.text[:300]}"
        assert response.json()["message"].startswith("Store unavailable: "), response.text[:300]
    assert not data_dir.exists(), f"a process recreated {data_dir}: {sorted(os.listdir(data_dir))}"
    assert "Traceback" not in log.since()

    # Put back (here: a new store in the same place): every worker moves to the new file.
    data_dir.mkdir(mode=0o700)
    restored = DiskStore(data_dir / "store")
    restored.set("lab:restored", b"1")
    answers_per_worker(site, healthy)
    restored.close()


def test_a_truncated_store_file_is_store_unavailable_on_every_worker(site):
    store_dir = site.settings.data_dir / "store"
    if not store_dir.exists():  # run alone: the test above did not put a store back
        site.settings.data_dir.mkdir(mode=0o700, exist_ok=True)
        DiskStore(store_dir).set("lab:restored", b"1")
    answers_per_worker(site, healthy)
    log = gunicorn_log(site)
    for name in ("cache.db", "cache.db-wal"):
        with open(store_dir / name, "r+b") as handle:
            handle.truncate(0)
    with open(store_dir / "cache.db-shm", "r+b") as handle:  # what a truncated journal leaves behind
        handle.write(b"\0" * os.path.getsize(store_dir / "cache.db-shm"))

    answers_per_worker(site, lambda text: "Store unavailable: the store file" in text and "damaged or unreadable" in text)
    assert "Traceback" not in log.since()


def test_the_single_flight_heartbeat_survives_a_damaged_store(tmp_path):
    store = DiskStore(tmp_path / "store")
    token = b"holder"
    assert store.add("sf:l:value", token, 0.3)
    beat = _Heartbeat(store, "sf:l:value", token, lease=0.3)
    beat.start()
    try:
        for name in ("cache.db", "cache.db-wal"):
            with open(tmp_path / "store" / name, "r+b") as handle:
                handle.truncate(0)
        with open(tmp_path / "store" / "cache.db-shm", "r+b") as handle:
            handle.write(b"\0" * 32768)
        with pytest.raises(StoreUnavailable, match="damaged or unreadable"):
            store.get("sf:l:value")
        time.sleep(1.5)  # about 15 failed beats
        assert beat.is_alive(), "the heartbeat thread died on a damaged store"
    finally:
        beat.stop()
        beat.join(5)


def _master(app: AppProcess) -> psutil.Process:
    def found():
        return next((p for p in psutil.Process(app.process.pid).children() if "gunicorn" in " ".join(p.cmdline())), None)

    return wait_until(found, 60, 0.1, "gunicorn's master under app.py")


def test_app_py_restarts_a_killed_gunicorn_master_within_5_s(tmp_path):
    port = free_port()
    app = AppProcess("--port", str(port), data_dir=tmp_path / "data")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: app.said("Dash State Lab on") or app.process.poll() is not None, 180, 0.2, "app.py to start")
        assert app.process.poll() is None, app.err
        master = _master(app)
        old_workers = {p.pid for p in master.children()}
        master.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        wait_until(lambda: app.said("restarting"), 10, 0.05, "app.py to notice the dead master")
        noticed = time.monotonic() - killed_at
        assert noticed <= 5, f"app.py noticed after {noticed:.1f} s"

        def serving_again():
            try:
                return requests.get(url + "/_dash-layout", timeout=5).status_code == 200 and app.said("gunicorn restarted")
            except requests.RequestException:
                return False

        wait_until(serving_again, 180, 0.2, "the restarted site to answer")
        assert _master(app).pid != master.pid
        assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
                       for pid in old_workers), "a worker of the killed master is still running"
    finally:
        assert app.stop() == 0, app.err
    assert not any("Traceback" in line for line in app.err), app.err


def test_app_py_on_a_port_in_use_exits_2_without_the_success_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = AppProcess("--port", str(port), data_dir=tmp_path / "data")
        try:
            app.process.wait(120)
        finally:
            app.stop()
        time.sleep(0.2)  # the reader threads take the last lines
    assert app.process.returncode == 2, (app.process.returncode, app.out, app.err)
    assert any(f"port {port} is in use" in line for line in app.err), app.err
    assert not app.said("Dash State Lab on"), app.out
