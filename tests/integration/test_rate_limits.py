"""Per-client rate limits on expensive callbacks, counted on the site's own backend by all workers.

A client floods the hidden-div producer (each request would run the expensive step): past the
bound it gets HTTP 429 with a JSON message naming the bound, while another address is still
served. The count is shared: the requests that got through were answered by several workers and
add up to the bound exactly. Embedded (diskcache) and Redis mode.
"""

from __future__ import annotations

import os
import signal

import requests
from requests.adapters import HTTPAdapter

from components import ratelimit
from tests.callbacks import Callbacks, Workers

FLOOD = 45


class FromAddress(HTTPAdapter):
    """Connect from another loopback address: another client, as far as the server can tell."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def test_a_flood_of_computations_from_one_client_gets_429_and_others_are_served(backend, start_site):
    site = start_site(rate_limits="on", **backend.changes(database=5))
    callbacks = Callbacks(site)
    body = callbacks.body("..hidden-div__data.children...hidden-div__error.children..",
                          {"hidden-div__region.value": "north", "hidden-div__rows.value": 7})  # refused rows: cheap
    http = requests.Session()

    def post():
        return http.post(site.url + "/_dash-update-component", json=body, timeout=30)

    # A gthread worker may accept every connection of a quick sequence, so the flood is made to cross
    # workers: after the first third, the workers that answered are paused (SIGSTOP) and the rest of
    # the flood can only be taken by the others. Nothing is in flight at the pause: requests go one by one.
    answers = [post() for _ in range(FLOOD // 3)]
    paused = {int(a.headers["X-Worker-PID"]) for a in answers} & Workers(site).pids()
    if len(paused) == site.workers:
        paused = set()  # every worker has answered already
    for pid in paused:
        os.kill(pid, signal.SIGSTOP)
    try:
        answers += [post() for _ in range(FLOOD - len(answers))]
    finally:
        for pid in paused:
            os.kill(pid, signal.SIGCONT)
    allowed = int(ratelimit.COMPUTE.limit.split()[0])
    served = [a for a in answers if a.status_code == 200]
    limited = [a for a in answers if a.status_code == 429]
    assert len(served) == allowed and len(limited) == FLOOD - allowed, [a.status_code for a in answers]
    message = limited[0].json()["message"]
    assert "Too many computations" in message and ratelimit.COMPUTE.limit in message and "Try again in" in message
    # Exactly `allowed` got through although several workers answered: they share one count.
    assert len({a.headers.get("X-Worker-PID") for a in served}) > 1, "the flood must be served by several workers"

    other = requests.Session()
    other.mount("http://", FromAddress("127.0.0.2"))
    assert other.post(site.url + "/_dash-update-component", json=body, timeout=30).status_code == 200
    # Cheap callbacks of the flooded client are not limited by the computations' bound.
    noop = callbacks.body("baseline-noop__pong.children", {"baseline-noop__ping.n_clicks": 1})
    assert http.post(site.url + "/_dash-update-component", json=noop, timeout=30).status_code == 200
