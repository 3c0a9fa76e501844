"""/live/shared in headless Chromium, in both modes, on a real ASGI site (gunicorn, 4 uvicorn workers).

Ten separate browser contexts (tabs of one context would share one SharedWorker socket): a change
typed in one appears in the nine others, pushed over sockets held by at least two worker pids, with
the measured delay on the page. In Redis mode the site's own redis-server is restarted mid-session:
every tab says the updates paused, then resumed with the gap counted, and the next change arrives.
"""

from __future__ import annotations

import re

import pytest

from bench.servers import PrivateRedis
from serve import Site
from tests.support import site_settings, wait_js

PATH = "/live/shared"
TABS = 10
MAX_TABS = 24  # opened at most while looking for a second worker pid among the sockets


@pytest.fixture(scope="module")
def live(backend, tmp_path_factory):
    """(site, redis) — a site of this module's own; in Redis mode on a redis-server only this module uses,
    since a test here restarts it."""
    server = None
    changes = {"server": "asgi"}
    if backend.name == "redis":
        server = PrivateRedis(tmp_path_factory.mktemp("live-redis")).start()
        changes["redis_url"] = server.url
    data_dir = tmp_path_factory.mktemp("live-shared")
    site = Site(site_settings(data_dir, **changes), workers=4, celery=False, log_dir=data_dir / "logs").start()
    yield site, server
    site.stop()
    if server is not None:
        server.stop()


def subscribed(page) -> None:
    wait_js(page, "() => window.liveShared && window.liveShared.pid !== null", timeout=180,
            message="the tab's socket subscribed (its worker pid shown)")


def open_tabs(new_page, url: str, n: int, width: int = 1280) -> list:
    """n tabs, each in a context of its own, loading side by side (one at a time takes minutes on a loaded
    2-core machine), then each waited on until its socket has subscribed."""
    tabs = [new_page(viewport={"width": width, "height": 1000}) for _ in range(n)]
    for page, _ in tabs:
        page.goto(url + PATH, wait_until="commit", timeout=120_000)
    for page, _ in tabs:
        subscribed(page)
    return tabs


def open_tab(new_page, url: str, width: int = 1280):
    return open_tabs(new_page, url, 1, width)[0]


def pid_of(page) -> int:
    return page.evaluate("window.liveShared.pid")


def share(page, text: str) -> None:
    page.fill("#live-shared__text", text)
    page.click("#live-shared__share")
    wait_js(page, "() => document.getElementById('live-shared__share-result').innerText.startsWith('Shared')",
            message="the share confirmed")


def test_a_change_in_one_context_appears_in_nine_others_across_workers(live, new_page):
    site, _ = live
    tabs = open_tabs(new_page, site.url, TABS)
    while len({pid_of(p) for p, _ in tabs}) < 2 and len(tabs) < MAX_TABS:
        tabs += open_tabs(new_page, site.url, 2)  # the kernel chose one worker for all so far: more sockets
    pids = {pid_of(p) for p, _ in tabs}
    assert len(pids) >= 2, f"{len(tabs)} sockets all on worker {pids}"
    for page, _ in tabs:  # the page names the worker holding its socket
        assert str(pid_of(page)) in page.inner_text("#live-shared__socket")

    sender, receivers = tabs[0][0], [p for p, _ in tabs[1:]]
    for page in receivers[:4]:  # some tabs push only: the value cannot come from their polls
        page.click("#live-shared__polling")
    polling = receivers[4]
    # The first poll answer is that tab's baseline: on a loaded machine it may come late, so wait for it, or the
    # change would be that baseline and no poll delay would be measured.
    wait_js(polling, "() => window.liveShared.polls > 0", timeout=180, message="the polling tab's first answer")
    text = "threshold 0.42 — set in tab 0"
    share(sender, text)
    for page in receivers:
        wait_js(page, "(t) => window.liveShared.value === t", text, timeout=30, message="the pushed value")
        wait_js(page, "(t) => document.getElementById('live-shared__push-value').innerText === t", text,
                message="the pushed value on screen")
        assert page.evaluate("window.liveShared.push.length") >= 1
    for page in receivers:  # the measured delay is shown (refreshed every 2 s by a clientside timer)
        wait_js(page, "() => /\\d+ ms/.test(document.getElementById('live-shared__push-metrics').innerText)",
                message="the push delay on the page")
    delays = sorted(p.evaluate("window.liveShared.push[window.liveShared.push.length - 1]") for p in receivers)
    print(f"\npush delay over {len(receivers)} tabs on {len(pids)} workers: p50 {delays[len(delays) // 2]:.0f} ms, "
          f"max {delays[-1]:.0f} ms")
    meta = receivers[0].inner_text("#live-shared__push-meta")
    assert re.search(r"by visitor-[0-9a-f]{4} at \d\d:\d\d:\d\d UTC · change #\d+", meta), meta
    assert text in receivers[0].inner_text("#live-shared__history")
    # The polling tabs see it too, a poll later, with their own measured delay.
    wait_js(polling, "(t) => document.getElementById('live-shared__poll-value').innerText === t", text,
            timeout=120, message="the polled value")
    wait_js(polling, "() => window.liveShared.poll.length >= 1", timeout=120, message="a poll delay measured")
    for _, problems in tabs:
        assert not problems, problems


def test_bad_changes_are_refused_with_a_message(live, new_page):
    site, _ = live
    page, problems = open_tab(new_page, site.url)
    page.fill("#live-shared__text", "   ")
    page.click("#live-shared__share")
    wait_js(page, "() => document.getElementById('live-shared__share-result').innerText.includes('empty')",
            message="the empty value refused")
    page.fill("#live-shared__name", "<b>x</b>")
    page.fill("#live-shared__text", "fine")
    page.click("#live-shared__share")
    wait_js(page, "() => document.getElementById('live-shared__share-result').innerText.includes('letters, digits')",
            message="the bad name refused")
    assert not problems, problems


def test_redis_restarted_mid_session_subscribers_come_back_and_say_so(live, backend, new_page):
    if backend.name != "redis":
        pytest.skip("embedded mode has no server to restart")
    site, server = live
    tabs = [page for page, _ in open_tabs(new_page, site.url, 3)]
    share(tabs[0], "before the restart")
    for page in tabs:
        wait_js(page, "() => window.liveShared.value === 'before the restart'", message="the first value")
    server.stop()
    for page in tabs:
        wait_js(page, "() => document.getElementById('live-shared__banner').innerText.includes('paused')",
                timeout=30, message="the page says the updates paused")
    server.process = PrivateRedis(server.directory, port=server.port).start().process
    for page in tabs:
        wait_js(page, "() => /resumed.*may have been missed/.test(document.getElementById('live-shared__banner').innerText)",
                timeout=60, message="the page says the updates resumed and what was missed")
    share(tabs[1], "after the restart")
    for page in tabs:
        wait_js(page, "() => window.liveShared.value === 'after the restart'", timeout=30, message="the next change")
