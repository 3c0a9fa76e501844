"""Visitor and operator, on a real gunicorn site: the benchmark job trusts nothing the browser sends,
opens no connection anywhere but the site itself, and a visitor can neither publish nor erase."""

from __future__ import annotations

import re
import socket
import threading
import time

import pytest
import requests

from bench.dashclient import Browser, Page
from components import operator
from runtime import bench_job, bench_pass, bench_runs
from stores import Lab, open_store, telemetry
from tests.support import lab_stats_body

TOKEN = "operator-token-for-tests"


@pytest.fixture(scope="module")
def site(start_site):
    return start_site(workers=2, celery=False, compute_delay=0.2, operator_token=TOKEN)


class Listener:
    """A TCP listener on a free port that counts every connection made to it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()


def benchmark_page(site) -> tuple[Browser, Page]:
    browser = Browser(site.url, timeout=120)
    page = Page(browser, "/benchmark", scope=lambda cb: "benchmark__" in cb.output)
    page.open()
    return browser, page


def start_run(page: Page, wanted) -> str:
    """Set the run request as the page's store would hold it (any value at all), wait for the job's status."""
    page.set_props([("benchmark__request", "data", wanted)])
    return str(page.get("benchmark__status", "children"))


def test_a_forged_run_is_refused_inside_the_job_and_no_other_server_is_contacted(site):
    listener = Listener()
    browser, page = benchmark_page(site)
    try:
        foreign = f"http://127.0.0.1:{listener.port}"
        # Past the visitor's limits: the page's first check never saw it, the job refuses it.
        status = start_run(page, {"rows": [1000], "sessions": 48, "rounds": 1, "strategies": ["baseline-noop"], "url": foreign})
        assert "The benchmark did not run" in status and "sessions must be between 1 and 4" in status, status
        status = start_run(page, {"rows": [100_000], "sessions": 1, "rounds": 1, "strategies": ["baseline-noop"]})
        assert "1,000, 10,000" in status and "did not run" in status, status
        status = start_run(page, {"rows": "1000" * 10_000, "sessions": 1, "rounds": 1, "strategies": ["baseline-noop"]})
        assert "rows must be a list" in status and len(status) < 400, status[:500]
        # Within the limits but naming another server: the job runs against the site itself only.
        status = start_run(page, {"rows": [1000], "sessions": 1, "rounds": 1, "strategies": ["baseline-noop"],
                                  "url": foreign, "host_url": foreign})
        assert "Done in" in status and "shown to you only" in status, status
        assert listener.connections == 0, f"the server connected {listener.connections} time(s) to {foreign}"
        # A visitor's run is theirs: the site's run (what everyone else sees) is untouched.
        assert bench_runs.latest(Lab(site.settings)) is None
    finally:
        browser.close()
        listener.close()


def test_the_operator_link_sets_an_httponly_strict_cookie_that_is_not_the_token(site):
    wrong = requests.get(site.url + "/benchmark?operator=guess&x=1", allow_redirects=False, timeout=10)
    assert wrong.status_code == 303 and wrong.headers["Location"].endswith("/benchmark?x=1")
    assert operator.OPERATOR_COOKIE not in wrong.cookies
    right = requests.get(site.url + "/benchmark?operator=" + TOKEN, allow_redirects=False, timeout=10)
    assert right.status_code == 303 and "operator=" not in right.headers["Location"]
    header = right.headers["Set-Cookie"]
    assert f"{operator.OPERATOR_COOKIE}=" in header and "HttpOnly" in header and "SameSite=Strict" in header
    value = right.cookies[operator.OPERATOR_COOKIE]
    assert TOKEN not in value and value == operator.cookie_value(TOKEN)


def _shown(response: requests.Response) -> list[int]:
    """The counter values the instruments panel shows, in order (compute, hits, misses)."""
    return [int(v) for v in re.findall(r'"children":"(\d+)","className":"lab-metric-value', response.text)][:3]


def _reset_body(url: str, ns, baseline=None) -> dict:
    body = lab_stats_body(url, "session-cache")
    for item in body["inputs"] + body["state"]:
        if isinstance(item["id"], dict):
            item["id"] = {**item["id"], "ns": ns}
        if item["id"].get("type") == "lab-stats" and item["property"] == "id":
            item["value"] = item["id"]
        if item["id"].get("type") == "lab-reset":
            item["value"] = 1
        if item["id"].get("type") == "lab-baseline":
            item["value"] = baseline
    body["outputs"] = [{"id": {"ns": ns, "type": "lab-stats"}, "property": "children"},
                       {"id": {"ns": ns, "type": "lab-baseline"}, "property": "data"}]
    body["changedPropIds"] = [f'{{"ns":{"null" if ns is None else chr(34) + ns + chr(34)},"type":"lab-reset"}}.n_clicks']
    return body


def test_a_visitors_reset_resets_their_view_only_and_a_forged_ns_erases_nothing(site):
    store = open_store(site.settings)
    telemetry.reset(store, "session-cache")
    for kind, n in (("compute", 7), ("hit", 5), ("miss", 2)):
        store.incr(f"tel:n:{kind}:session-cache", n)
    url = site.url + "/_dash-update-component"
    before = {k: telemetry.counter(store, k, "session-cache") for k in ("compute", "hit", "miss")}
    assert before == {"compute": 7, "hit": 5, "miss": 2}

    visitor = requests.post(url, json=_reset_body(site.url, "session-cache"), timeout=30)
    assert visitor.status_code == 200, visitor.text[:300]
    assert _shown(visitor) == [0, 0, 0], "the visitor's own view starts again from zero"
    baseline = visitor.json()["response"]['{"ns":"session-cache","type":"lab-baseline"}']["data"]
    assert baseline == before
    assert {k: telemetry.counter(store, k, "session-cache") for k in before} == before, "nothing erased site-wide"
    other = requests.post(url, json=lab_stats_body(site.url, "session-cache"), timeout=30)  # another browser
    assert _shown(other) == [7, 5, 2]

    for forged in (None, "*", "session-cache:*"):
        response = requests.post(url, json=_reset_body(site.url, forged), timeout=30)
        assert response.status_code in (200, 400), response.text[:300]
        assert {k: telemetry.counter(store, k, "session-cache") for k in before} == before, f"ns={forged!r} erased counters"

    # The operator's reset is site-wide.
    cookies = {operator.OPERATOR_COOKIE: operator.cookie_value(TOKEN)}
    response = requests.post(url, json=_reset_body(site.url, "session-cache"), cookies=cookies, timeout=30)
    assert response.status_code == 200 and _shown(response) == [0, 0, 0]
    assert {k: telemetry.counter(store, k, "session-cache") for k in before} == {"compute": 0, "hit": 0, "miss": 0}


def test_only_a_signed_unexpired_pass_caps_the_compute_delay(site):
    lab = Lab(site.settings)
    good = bench_pass.make_pass(lab, bench_pass.page_delay(lab))
    assert bench_pass.pass_delay(good, lab) == pytest.approx(0.2)
    expires, delay, sig = good.split(".", 1)[0], "0.2", good.rsplit(".", 1)[1]
    assert bench_pass.pass_delay(f"{expires}.0.{sig}", lab) is None  # another delay: the signature no longer holds
    assert bench_pass.pass_delay(f"{int(time.time()) + 99}.{delay}.{sig}", lab) is None
    assert bench_pass.pass_delay(bench_pass.make_pass(lab, 0.2, ttl=-5), lab) is None  # expired
    assert bench_pass.pass_delay("x" * 10_000, lab) is None
    assert bench_pass.pass_delay(None, lab) is None


def test_one_run_at_a_time_the_others_wait_their_turn_in_order(site):
    lab = Lab(site.settings)
    lab.store.delete(bench_job.QUEUE)
    assert bench_job.join(lab, "run-a", "visitor-a") == 0
    assert bench_job.join(lab, "run-b", "visitor-b") == 1
    with pytest.raises(bench_job.JobRefused, match="already has a run queued"):
        bench_job.join(lab, "run-c", "visitor-b")  # one queued or running run per browser
    assert bench_job.place(lab, "run-b", "visitor-b") == 1
    bench_job.leave(lab, "run-a")
    assert bench_job.place(lab, "run-b", "visitor-b") == 0  # its turn now
    bench_job.leave(lab, "run-b")
    assert bench_job.queue_length(lab) == 0
