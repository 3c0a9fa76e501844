"""The benchmark's WebSocket client (bench/wsclient.py) against Chromium: the same visit to /live/progress
— open it, run one pushed job to its result — must put the same bytes on the socket each way, within 5 %.

Chromium's frames are read over the DevTools protocol: the renderer holds its socket in a SharedWorker
(dash-ws-worker.js), which Playwright's page.on("websocket") never sees. So this test starts Chromium with
a debugging port, auto-attaches (flatten, paused on start) to every target, enables Network on the
shared_worker target before it runs, and sums Network.webSocketFrameSent / webSocketFrameReceived payloads;
Playwright drives the page over the same browser (connect_over_cdp)."""

from __future__ import annotations

import itertools
import json
import subprocess
import threading
import urllib.request
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from bench.chromium import ARGS as CHROMIUM_ARGS
from bench.chromium import CHROMIUM
from bench.dashclient import Browser
from bench.wsclient import WsPage
from serve import free_port
from tests.support import need, wait_js, wait_until

PATH = "/live/progress"
TOLERANCE = 0.05


@pytest.fixture(scope="module")
def site(start_site):
    return start_site(workers=2, celery=False, server="asgi", compute_delay=0.3)


class DevToolsFrames:
    """Every WebSocket text frame a Chromium instance sends and receives, from any target (workers too)."""

    def __init__(self, endpoint: str):
        self.ws = connect(endpoint, max_size=None, legacy=True, proxy=None)
        self.ids = itertools.count(1)
        self.lock = threading.Lock()
        self.frames: list[tuple[str, str, str]] = []  # (direction, target type, payload)
        self.targets: dict[str, str] = {}
        threading.Thread(target=self._read, daemon=True).start()
        self.send("Target.setAutoAttach", {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True})

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> None:
        message = {"id": next(self.ids), "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        with self.lock:
            self.ws.send(json.dumps(message))

    def _read(self) -> None:
        try:
            for raw in self.ws:
                self._handle(json.loads(raw))
        except ConnectionClosed:
            pass

    def _handle(self, message: dict) -> None:
        method, params = message.get("method", ""), message.get("params", {})
        if method == "Target.attachedToTarget":
            session, kind = params["sessionId"], params["targetInfo"]["type"]
            self.targets[session] = kind
            if kind == "shared_worker":  # the renderer's socket lives here
                self.send("Network.enable", {}, session)
            self.send("Runtime.runIfWaitingForDebugger", {}, session)
        elif method in ("Network.webSocketFrameSent", "Network.webSocketFrameReceived"):
            response = params.get("response", {})
            if response.get("opcode") == 1:  # text frames: Dash's messages
                direction = "up" if method.endswith("Sent") else "down"
                self.frames.append((direction, self.targets.get(message.get("sessionId"), "?"), response.get("payloadData", "")))

    def total(self, direction: str) -> int:
        return sum(len(payload.encode()) for d, _t, payload in list(self.frames) if d == direction)

    def close(self) -> None:
        self.ws.close()


@pytest.fixture
def chromium(tmp_path):
    need(Path(CHROMIUM).exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    port = free_port()
    process = subprocess.Popen(
        [CHROMIUM, *CHROMIUM_ARGS, "--headless=new", f"--remote-debugging-port={port}", f"--user-data-dir={tmp_path / 'profile'}",
         "--remote-debugging-address=127.0.0.1", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        def endpoint():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/version", timeout=2) as answer:
                    return json.load(answer)["webSocketDebuggerUrl"]
            except OSError:
                return None

        yield port, wait_until(endpoint, 60, 0.1, "Chromium's DevTools endpoint")
    finally:
        process.kill()
        process.wait(10)


def browser_visit(site, port: int, frames: DevToolsFrames, playwright) -> None:
    browser = playwright.chromium.connect_over_cdp(f"http://127.0.0.1:{port}")
    try:
        page = browser.contexts[0].new_page()
        page.set_default_timeout(60_000)
        page.goto(site.url + PATH)
        wait_js(page, "() => window.statelab && window.statelab.liveProgress && window.statelab.liveProgress.history.length > 0",
                timeout=60, message="the socket on the page")
        page.click("#live-progress__push-run")
        wait_until(lambda: "Done" in page.inner_text("#live-progress__push-result"), 90, message="the pushed job's result")
        # The job's answer is the last frame of the visit: wait until DevTools has reported it.
        wait_until(lambda: any('"callback_response"' in p and "live-progress__push-result" in p
                               for d, _t, p in list(frames.frames) if d == "down"), 30, message="the job's answer frame")
    finally:
        browser.close()


def harness_visit(site) -> tuple[int, int]:
    page = WsPage(Browser(site.url), PATH)
    try:
        page.open()
        page.wait_for(lambda: page.get("live-progress__conn", "data"), 60, "the socket's worker pid")
        # The page's first callbacks (its persistent ones among them) are answered before the click, as in Chromium.
        wait_until(lambda: page.socket.in_flight == 0, 30, message="the first callbacks' answers")
        interaction = page.set_props([("live-progress__push-run", "n_clicks", 1)])
        assert not interaction.all_errors, interaction.all_errors
        assert "Done" in str(page.get("live-progress__push-result", "children"))
        return page.socket.stats.bytes("up"), page.socket.stats.bytes("down")
    finally:
        page.close()


def test_harness_frame_bytes_match_chromiums_within_5_percent(site, chromium, playwright):
    port, endpoint = chromium
    frames = DevToolsFrames(endpoint)
    try:
        browser_visit(site, port, frames, playwright)
        chrome_up, chrome_down = frames.total("up"), frames.total("down")
        kinds = {t for _d, t, _p in frames.frames}
    finally:
        frames.close()
    assert kinds == {"shared_worker"}, f"Chromium's socket frames come from its SharedWorker, saw {kinds}"
    assert chrome_up > 0 and chrome_down > 0, "DevTools reported the socket's frames"
    up, down = harness_visit(site)
    print(f"bytes up: Chromium {chrome_up}, harness {up}; down: Chromium {chrome_down}, harness {down}")
    assert abs(up - chrome_up) <= TOLERANCE * chrome_up, f"up: harness {up} B against Chromium's {chrome_up} B"
    assert abs(down - chrome_down) <= TOLERANCE * chrome_down, f"down: harness {down} B against Chromium's {chrome_down} B"
