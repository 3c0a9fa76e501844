"""Telemetry is a capped log: a flood of callback requests leaves at most the cap, in both modes,
and the 400s of malformed requests write nothing at all."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from stores import open_store, telemetry
from tests.callbacks import Callbacks
from tests.support import wait_until

CAP = 40


@pytest.fixture(scope="module")
def site(backend, start_site):
    return start_site(workers=2, celery=False, telemetry_max_records=CAP, **backend.changes())


def held_entries(site, store) -> int:
    """Entries the store itself holds for the log (not what the reader makes of them)."""
    if site.settings.redis_url:
        return int(store.client.xlen(store._k(f"log:{telemetry.LOG}")))
    return len(list(store.scan(f"log:{telemetry.LOG}:")))


def malformed(site) -> requests.Response:
    return requests.post(site.url + "/_dash-update-component", json={"output": "nobody__x.children", "outputs": {},
                                                                      "inputs": []}, timeout=30)


def test_malformed_requests_are_not_recorded_and_a_flood_stays_under_the_cap(site):
    store = open_store(site.settings)
    telemetry.reset(store)
    callbacks = Callbacks(site)
    ping = "baseline-noop__pong.children"

    for _ in range(60):
        assert malformed(site).status_code == 400
    first = callbacks.call(ping, {"baseline-noop__ping.n_clicks": 1})
    assert first.status_code == 200
    wait_until(lambda: len(telemetry.requests_frame(store)) >= 1, 30, message="the accepted request's record")
    frame = telemetry.requests_frame(store)
    assert len(frame) == 1 and list(frame["status"]) == [200], "only the request Dash took is recorded"

    errors = []

    def flood(worker: int):
        session = requests.Session()
        for i in range(40):
            body = callbacks.body(ping, {"baseline-noop__ping.n_clicks": worker * 1000 + i})
            response = session.post(site.url + "/_dash-update-component", json=body, timeout=60)
            if response.status_code != 200:
                errors.append(f"{response.status_code} {response.text[:300]}")
            if i % 4 == 0:
                malformed(site)

    flood_started = time.time()
    threads = [threading.Thread(target=flood, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not errors, errors[:10]
    # 321 accepted requests went in; the log keeps the newest CAP of them and never more.
    wait_until(lambda: len(telemetry.requests_frame(store)) >= CAP, 30, message="the log to fill up to its cap")
    frame = telemetry.requests_frame(store)
    assert len(frame) == CAP, len(frame)
    assert held_entries(site, store) <= CAP
    assert set(frame["status"]) == {200}
    # The oldest entries were dropped first: the request sent before the flood is gone.
    assert frame["time"].min() >= flood_started
