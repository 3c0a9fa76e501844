"""/live/progress in Chromium, in both modes, on an ASGI site with 2 workers: progress pushed over the
WebSocket with no HTTP request after the click, the polled twin beside it, and what the page says when the
socket's worker dies mid-job (or the visitor drops the connection) — checked against what happens."""

from __future__ import annotations

import os
import signal

import psutil
import pytest
from playwright.sync_api import expect

from tests.support import wait_js, wait_until

PATH = "/live/progress"
JOB = "window.statelab && window.statelab.liveProgress"


def sel(name: str) -> str:
    return f"#live-progress__{name}"


@pytest.fixture(scope="module")
def site(start_site, backend):
    # Its own site: the live app needs the ASGI server kind; 2 workers so a reconnect may land elsewhere. In Redis
    # mode a database of its own: on the shared sites' database 0, the shared site's Celery worker (its pool busy
    # with earlier tests' long jobs) prefetched this site's polled job, which then waited past the test's deadline.
    return start_site(workers=2, server="asgi", compute_delay=0.5, **backend.changes(database=13))


def open_page(new_page, site, steps: int = 4):
    page, problems = new_page()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(site.url + PATH)
    wait_js(page, f"() => {JOB} && window.statelab.liveProgress.history.length > 0", timeout=60,
            message="the socket's worker pid on the page")
    page.locator(sel("steps")).get_by_label(str(steps), exact=True).check()
    return page, problems, requests


def job(page, kind: str) -> dict:
    return page.evaluate(f"() => window.statelab.liveProgress.{kind}") or {}


def socket_pid(page) -> int:
    return int(page.evaluate("() => window.statelab.liveProgress.history.slice(-1)[0].pid"))


def test_progress_is_pushed_with_no_http_request_after_the_click(site, new_page):
    page, problems, requests = open_page(new_page, site, steps=8)
    pid = socket_pid(page)
    assert pid in {c.pid for c in psutil.Process(site.web.pid).children()}, "the page names one of the site's workers"
    before = len(requests)
    page.click(sel("push-run"))
    expect(page.locator(sel("push-run"))).to_be_disabled()
    steps_seen = set()

    def finished():
        state = job(page, "push").get("state") or {}
        steps_seen.add(state.get("step"))
        # The page writes the result, then its meter notes the time: wait for both.
        return "Done" in page.inner_text(sel("push-result")) and job(page, "push").get("result") is not None

    wait_until(finished, 90, message="the pushed job's result")
    assert requests[before:] == [], f"no HTTP request after the click, saw {requests[before:]}"
    assert len(steps_seen - {None}) >= 3, f"progress arrives step by step, saw steps {sorted(s for s in steps_seen if s is not None)}"
    figures = job(page, "push")
    assert figures["state"]["pid"] == pid, "the job runs in the worker that holds the socket"
    assert figures["first"] is not None and figures["result"] is not None and figures["first"] < figures["result"]
    assert figures["state"]["frames"] >= 8 and figures["state"]["down"] > 0 and figures["state"]["up"] > 0
    assert figures["http"]["all"] == 0
    expect(page.locator(sel("push-meter"))).to_contain_text(str(pid))
    expect(page.locator(sel("push-run"))).to_be_enabled()
    assert problems == [], "\n".join(problems)


def test_polled_twin_makes_a_request_per_interval(site, new_page):
    page, problems, requests = open_page(new_page, site)
    before = len(requests)
    page.click(sel("poll-run"))
    wait_until(lambda: "Done" in page.inner_text(sel("poll-result")), 120, message="the polled job's result")

    def posts():
        return [u for u in requests[before:] if "_dash-update-component" in u]

    # The meter redraws on its own tick: wait until it has counted every request the browser made (the last
    # poll may land in Playwright's list a tick before the meter's), failing if it never does.
    wait_until(lambda: (job(page, "poll").get("http") or {}).get("count") == len(posts()), 30,
               message="the meter to count the requests the browser made")
    figures, sent = job(page, "poll"), posts()
    polls = [u for u in sent if "cacheKey=" in u]
    assert len(polls) >= 2, f"4 steps of 0.5 s polled every 500 ms: several polls, saw {len(polls)}"
    assert figures["http"]["count"] == len(sent), "the meter counts the requests the browser made"
    assert figures["http"]["polls"] == len(polls)
    assert problems == [], "\n".join(problems)


def test_killing_the_sockets_worker_mid_job_loses_the_job_and_the_page_says_where_it_reconnected(site, new_page):
    page, problems, _requests = open_page(new_page, site, steps=12)
    pid = socket_pid(page)
    workers = {c.pid for c in psutil.Process(site.web.pid).children()}
    assert pid in workers
    page.click(sel("push-run"))
    wait_until(lambda: ((job(page, "push").get("state") or {}).get("step") or 0) >= 1, 60, message="the job's first step")
    os.kill(pid, signal.SIGKILL)  # a worker of the site this module started
    # What the page says happens: the renderer reconnects (to a live worker), the job is marked lost, its
    # result never arrives and Run is enabled again.
    wait_js(page, "() => window.statelab.liveProgress.history.length >= 2", timeout=90, message="the reconnection")
    now = socket_pid(page)
    assert now != pid and psutil.pid_exists(now), "the socket now lives in another, running worker"
    lost = job(page, "push").get("lost")
    assert lost and lost["pid"] == pid and lost["to"] == now, f"the job is marked lost with its worker: {lost}"
    expect(page.locator(sel("conn-log"))).to_contain_text(f"reconnected to worker pid {now}")
    expect(page.locator(sel("conn-log"))).to_contain_text("was lost with the old connection")
    expect(page.locator(sel("push-meter"))).to_contain_text("lost with connection")
    expect(page.locator(sel("push-run"))).to_be_enabled()
    expect(page.locator(sel("push-result"))).to_contain_text("Lost: run 1 stopped at step")
    assert "Done" not in page.inner_text(sel("push-result")), "no result arrives for a lost job"
    # Run again: it works on the new connection.
    page.click(sel("push-run"))
    wait_until(lambda: "Done" in page.inner_text(sel("push-result")), 120, message="a new job after the reconnect")
    assert job(page, "push")["state"]["pid"] == now
    del problems[:]  # the killed worker's socket closing is logged by the renderer, by design


def test_drop_this_connection_closes_the_socket_and_the_page_shows_the_reconnect(site, new_page):
    page, problems, requests = open_page(new_page, site, steps=12)
    first = page.evaluate("() => window.statelab.liveProgress.history.slice(-1)[0]")
    page.click(sel("push-run"))
    wait_until(lambda: ((job(page, "push").get("state") or {}).get("step") or 0) >= 1, 60, message="the job's first step")
    page.click(sel("drop"))
    wait_js(page, "() => window.statelab.liveProgress.history.length >= 2", timeout=60, message="the reconnection")
    again = page.evaluate("() => window.statelab.liveProgress.history.slice(-1)[0]")
    assert again["again"] and (again["pid"], again["conn"]) != (first["pid"], first["conn"]), "a new connection"
    assert job(page, "push")["lost"]["conn"] == first["conn"]
    expect(page.locator(sel("push-run"))).to_be_enabled()
    assert "Done" not in page.inner_text(sel("push-result"))
    assert problems == [], "\n".join(problems)


def test_cancel_travels_on_the_socket_and_stops_the_job(site, new_page):
    page, problems, _requests = open_page(new_page, site, steps=12)
    page.click(sel("push-run"))
    wait_until(lambda: ((job(page, "push").get("state") or {}).get("step") or 0) >= 1, 60, message="the job's first step")
    page.click(sel("push-cancel"))
    expect(page.locator(sel("push-note"))).to_contain_text("Cancel sent on the socket")
    expect(page.locator(sel("push-result"))).to_contain_text("Cancelled", timeout=60_000)
    assert (job(page, "push")["state"] or {}).get("state") == "cancelled"
    assert (job(page, "push")["state"] or {}).get("step", 0) < 12
    expect(page.locator(sel("push-run"))).to_be_enabled()
    assert problems == [], "\n".join(problems)
