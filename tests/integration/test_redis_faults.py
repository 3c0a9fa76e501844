"""Redis stops, or hangs, under a live 4-worker site: bounded, explained, self-healing."""

import os
import signal
import subprocess
import time

import psutil
import pytest
import requests

from tests.callbacks import Callbacks
from tests.support import lab_stats_body, wait_until

CALLBACK = "/_dash-update-component"


@pytest.fixture
def faulty_site(start_site, private_redis):
    return start_site(redis_url=private_redis.url, celery=False, redis_timeout=0.5), private_redis


def ask(site, body):
    started = time.monotonic()
    response = requests.post(site.url + CALLBACK, json=body, timeout=10)
    return response, time.monotonic() - started


def restart_on_same_port(server) -> None:
    server.process.wait(10)
    server.process = None
    server.start()


def test_redis_down_gives_a_clear_message_fast_and_recovers(faulty_site):
    site, redis = faulty_site
    body = lab_stats_body(site.url)
    response, _ = ask(site, body)
    assert response.status_code == 200 and "Store unavailable" not in response.text

    # hidden-div keeps its data in the browser: it must not notice the outage.
    browser_held = Callbacks(site).body(
        "hidden-div__data.children", {"hidden-div__region.value": "north", "hidden-div__rows.value": 1000}
    )
    redis.process.terminate()
    redis.process.wait(10)
    for _ in range(8):  # reach every worker, each with its own connection pool
        response, took = ask(site, body)
        assert response.status_code == 200, response.text[:200]
        assert "Store unavailable" in response.text
        assert took < 2.0, f"took {took:.2f} s"
        assert requests.get(site.url + "/", timeout=5).status_code == 200
    for _ in range(4):
        response, _ = ask(site, browser_held)
        assert response.status_code == 200, response.text[:200]
        frame = response.json()["response"]["hidden-div__data"]["children"]
        assert '"columns"' in frame and "Store unavailable" not in response.text

    redis.process = None
    redis.start()
    wait_until(lambda: "Store unavailable" not in ask(site, body)[0].text, 10, message="the site to recover")
    for _ in range(8):
        response, _ = ask(site, body)
        assert response.status_code == 200 and "Store unavailable" not in response.text


def _worker_pids(site) -> set[int]:
    """The gunicorn master's worker processes, as the operating system sees them."""
    return {child.pid for child in psutil.Process(site.web.pid).children()}


def test_a_hung_redis_is_bounded_by_timeouts_and_no_worker_is_killed(faulty_site):
    site, redis = faulty_site
    body = lab_stats_body(site.url)
    before = _worker_pids(site)
    assert len(before) == 4
    os.kill(redis.process.pid, signal.SIGSTOP)
    try:
        for _ in range(6):
            response, took = ask(site, body)
            assert response.status_code == 200
            assert "Store unavailable" in response.text
            assert took < 2.0, f"took {took:.2f} s"
    finally:
        os.kill(redis.process.pid, signal.SIGCONT)
    wait_until(lambda: "Store unavailable" not in ask(site, body)[0].text, 10, message="the site to recover")
    after = _worker_pids(site)
    assert after == before, f"workers were replaced: before {before}, after {after}"
    log = site.log_dir / f"gunicorn-{site.port}.log"
    assert "WORKER TIMEOUT" not in log.read_text()


def test_the_redis_fixture_is_never_the_machines_own(private_redis):
    assert private_redis.port != 6379
    out = subprocess.run(["redis-cli", "-p", str(private_redis.port), "ping"], capture_output=True, text=True, timeout=5)
    assert out.stdout.strip() == "PONG"


def test_starting_a_background_job_while_redis_is_down_is_a_clear_503(faulty_site):
    site, redis = faulty_site
    callbacks = Callbacks(site)
    dep = callbacks.dependency("background__ex1-result.children")
    values = {f"{s['id']}.{s['property']}": None for s in dep["state"]}
    values["background__ex1-run.n_clicks"] = 1
    body = callbacks.body("background__ex1-result.children", values)
    redis.process.terminate()
    redis.process.wait(10)
    response, took = ask(site, body)
    assert response.status_code == 503, response.text[:300]
    # Job admission asks the store before the task queue, so either may be the one that says it.
    message = response.json()["message"]
    assert message.startswith("Store unavailable: ") and "did not answer" in message, message
    assert took < 5.0, f"took {took:.2f} s"
