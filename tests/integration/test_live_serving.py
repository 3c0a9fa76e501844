"""The live app (WebSocket callbacks, Dash's FastAPI backend) served beside the Flask site on one port.

Real processes: gunicorn with uvicorn workers (serve.gunicorn_command, kind asgi) running
asgi:application, in both modes; the `websockets` package as the client speaking to the socket.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time

import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.support import wait_until

DEADLINE = 3.0  # a short header deadline for this module's site: the idle test waits for it


@pytest.fixture(scope="module")
def site(start_site, backend):
    return start_site(workers=2, server="asgi", header_deadline=DEADLINE, **backend.changes())


def _ws_url(site) -> str:
    return f"ws://{site.host}:{site.port}/live/_dash-ws-callback"


def test_the_live_app_answers_on_the_sites_port_with_its_headers(site):
    for path in ("/live/", "/live/progress", "/live/_dash-layout"):
        response = requests.get(site.url + path, timeout=30)
        assert response.status_code == 200, f"{path}: HTTP {response.status_code}"
        csp = response.headers.get("content-security-policy", "")
        assert "default-src 'self'" in csp and "worker-src 'self'" in csp and "connect-src 'self'" in csp, csp
        assert "'unsafe-eval'" not in csp and "script-src 'self' 'sha256-" in csp, csp
        assert response.headers.get("x-content-type-options") == "nosniff"
    # The Flask site still answers every other path on the same port.
    home = requests.get(site.url + "/", timeout=30)
    assert home.status_code == 200 and "dash_renderer" in home.text
    deps = requests.get(site.url + "/_dash-dependencies", timeout=30).json()
    assert any(d["output"].startswith("..aggregates__") for d in deps), "the Flask site lost its callbacks"
    live_deps = requests.get(site.url + "/live/_dash-dependencies", timeout=30).json()
    assert not any("aggregates__" in d["output"] for d in live_deps), "a Flask callback went to the live app"


def test_a_malformed_live_callback_request_is_a_400_with_a_reason(site):
    response = requests.post(site.url + "/live/_dash-update-component", data=b"{not json", timeout=30,
                             headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text[:300]
    assert response.json()["message"].startswith("Malformed callback request")


def test_a_handshake_from_a_foreign_origin_is_refused(site):
    with pytest.raises(InvalidStatus) as refused, connect(_ws_url(site), origin="http://attacker.example", open_timeout=30):
        pass
    assert refused.value.response.status_code == 403


def test_a_same_origin_handshake_is_accepted_and_answers_a_heartbeat(site):
    origin = f"http://{site.host}:{site.port}"
    with connect(_ws_url(site), origin=origin, open_timeout=30) as ws:
        ws.send(json.dumps({"type": "heartbeat"}))
        answer = json.loads(ws.recv(timeout=30))
        answers = answer if isinstance(answer, list) else [answer]
        assert {"type": "heartbeat_ack"} in answers, answer


@pytest.mark.parametrize("message, code", [
    ("{not json", 1008),
    ('{"type": "callback_request", "payload": {"output": "nothing.children"}}', 1008),
])
def test_a_malformed_socket_message_closes_the_socket_with_a_reason(site, message, code):
    origin = f"http://{site.host}:{site.port}"
    with connect(_ws_url(site), origin=origin, open_timeout=30) as ws:
        ws.send(message)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == code, closed.value
    assert closed.value.rcvd.reason, "closed without saying why"


def test_an_http_callback_over_the_socket_is_refused(site):
    """The live app's router is an HTTP callback: asking for it over the socket is refused, not run."""
    origin = f"http://{site.host}:{site.port}"
    payload = {"output": "live-content.children", "outputs": {"id": "live-content", "property": "children"},
               "inputs": [{"id": "live-location", "property": "pathname", "value": "/live/"}], "changedPropIds": []}
    with connect(_ws_url(site), origin=origin, open_timeout=30) as ws:
        ws.send(json.dumps({"type": "callback_request", "requestId": "1", "rendererId": "r", "payload": payload}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=30)
    assert closed.value.rcvd.code == 1008 and "WebSocket" in closed.value.rcvd.reason, closed.value


def test_an_idle_connection_is_closed_at_the_header_deadline(site):
    sock = socket.create_connection((site.host, site.port), timeout=5)
    started = time.monotonic()
    sock.settimeout(DEADLINE * 10)
    with contextlib.suppress(ConnectionResetError):
        assert sock.recv(1024) == b"", "the server sent something to a connection that asked nothing"
    closed_after = time.monotonic() - started
    sock.close()
    assert DEADLINE - 1 <= closed_after <= DEADLINE + 10, f"closed after {closed_after:.1f} s"
    # And a visitor is still served.
    wait_until(lambda: requests.get(site.url + "/live/", timeout=30).status_code == 200, 30, 0.5, "the live app")


@pytest.fixture(scope="module")
def small_site(start_site):
    """One worker, two sockets at most, a socket silent for 10 s closed: the bounds, quickly."""
    return start_site(workers=1, celery=False, server="asgi", ws_max_sockets=2, ws_idle_timeout=10.0)


def test_sockets_are_bounded_per_worker_and_a_silent_one_is_closed(small_site):
    origin = f"http://{small_site.host}:{small_site.port}"
    with connect(_ws_url(small_site), origin=origin, open_timeout=30) as first, \
            connect(_ws_url(small_site), origin=origin, open_timeout=30):
        with pytest.raises(InvalidStatus) as refused, connect(_ws_url(small_site), origin=origin, open_timeout=30):
            pass
        assert refused.value.response.status_code == 403
        # The silent sockets are closed by the server (1001), which frees the worker's places.
        with pytest.raises(ConnectionClosed) as closed:
            first.recv(timeout=90)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001, closed.value
        assert "idle" in closed.value.rcvd.reason
    with connect(_ws_url(small_site), origin=origin, open_timeout=30) as again:
        again.send(json.dumps({"type": "heartbeat"}))
        assert "heartbeat_ack" in again.recv(timeout=30)


def _console_until(page, logs: list, text: str, timeout: float = 60.0) -> bool:
    # Playwright delivers console events only while it runs: wait in the page, not in time.sleep.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(text in line for line in logs):
            return True
        page.wait_for_timeout(200)
    return False


def test_a_live_page_opens_its_socket_under_the_csp_in_chromium(site, new_page):
    """The renderer's SharedWorker (dash-ws-worker.js) and its same-origin socket are allowed by the
    live app's CSP; the site's navigation works there (menu toggle at 390 px; links load Flask pages)."""
    page, problems = new_page(viewport={"width": 390, "height": 900})
    logs: list[str] = []
    page.on("console", lambda message: logs.append(message.text))
    page.goto(site.url + "/live/progress")
    assert _console_until(page, logs, "WebSocket connected"), f"no socket opened: {logs[-10:]}"
    toggle = page.locator("#lab-nav-toggle")
    toggle.click()
    wait_until(lambda: toggle.get_attribute("aria-expanded") == "true", 30, 0.1, "the menu to open")
    page.get_by_role("link", name="Hidden div").click()
    page.wait_for_url(site.url + "/hidden-div")
    page.locator(".lab-title").first.wait_for()
    assert not [p for p in problems if "securitypolicy" in str(p).lower() or "Content Security" in str(p)], problems
    assert not problems, problems
