"""How the site is served: slow and idle clients, security headers, private files, `python app.py`.

Real processes throughout: gunicorn with 4 workers of each protecting kind (serve.gunicorn_command:
asgi = uvicorn workers, gthread = webworker.BoundedThreadWorker; `sync` has no protection and is not
tested here), headless Chromium, and `python app.py` itself as a visitor's operator starts it.
"""

from __future__ import annotations

import os
import socket
import stat
import time

import pytest
import requests

from config import Settings
from scripts.attacks import SlowClients, measure_noop, percentile
from serve import free_port, wait_http
from stores import DiskStore
from tests.apprun import AppProcess
from tests.callbacks import gunicorn_log
from tests.support import lab_stats_body, wait_until
from webworker import HEADER_DEADLINE

# --- slow and idle connections (finding 3) -------------------------------------------------------

PROTECTED_KINDS = ("asgi", "gthread")


@pytest.fixture(scope="module", params=PROTECTED_KINDS)
def served(request, start_site):
    """An embedded-mode site of each protecting server kind: the shared one for the default kind."""
    if request.param == Settings().server:
        return request.getfixturevalue("embedded_site")
    return start_site(server=request.param)


def test_idle_and_dribbling_connections_leave_the_noop_fast(served):
    """64 idle + 16 header-dribbling connections (each reopened when dropped) held past the header
    deadline (33 s): the no-op callback's p95 stays under 500 ms, and the server drops every slow
    connection at the deadline instead of keeping a thread on it."""
    held = HEADER_DEADLINE + 3
    with SlowClients(served.host, served.port, idle=64, dribbling=16) as clients:
        time.sleep(1.0)  # every slow connection is open before the visitor arrives
        noop = measure_noop(served.url, held - 1, timeout=30)
    latencies = noop["latencies_ms"]
    assert not noop["failures"], noop["failures"][:5]
    assert len(latencies) >= 20, f"only {len(latencies)} no-op requests in {held:g} s: the site was starved"
    p95 = percentile(latencies, 95)
    assert p95 < 500, f"no-op p95 {p95:.0f} ms under 64 idle + 16 dribbling connections (p50 {percentile(latencies, 50):.0f} ms)"
    # Each of the 80 was open longer than the deadline, so the server must have closed each one at least once.
    assert clients.dropped >= 80, f"the server dropped only {clients.dropped} of 80 slow connections in {held:g} s"


def test_a_header_dribbler_is_closed_at_the_deadline(served):
    sock = socket.create_connection((served.host, served.port), timeout=5)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: slow\r\n")
    started = time.monotonic()
    sock.settimeout(1.0)
    closed_after = None
    for line in range(int(HEADER_DEADLINE * 4)):
        try:
            sock.sendall(f"X-Slow-{line}: x\r\n".encode())
            if sock.recv(1024) == b"":
                closed_after = time.monotonic() - started
                break
        except TimeoutError:
            continue
        except OSError:
            closed_after = time.monotonic() - started
            break
    sock.close()
    assert closed_after is not None, f"a dribbling connection was still open after {HEADER_DEADLINE * 4:g} s"
    assert HEADER_DEADLINE - 1 <= closed_after <= HEADER_DEADLINE + 5, f"closed after {closed_after:.1f} s"


# --- security headers (finding 10) and unknown static paths (finding 6) --------------------------

HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "SAMEORIGIN",
    "referrer-policy": "same-origin",
}


def test_every_response_carries_the_security_headers(served):
    url = served.url
    for response in (
        requests.get(url + "/", timeout=30),
        requests.get(url + "/_dash-layout", timeout=30),
        requests.get(url + "/assets/lab.css", timeout=30),
        requests.post(url + "/_dash-update-component", json={"output": "nothing.children"}, timeout=30),
    ):
        for name, value in HEADERS.items():
            assert response.headers.get(name) == value, f"{response.url}: {name} is {response.headers.get(name)!r}"
        csp = response.headers.get("content-security-policy", "")
        assert "frame-ancestors 'self'" in csp and "default-src 'self'" in csp, f"{response.url}: CSP {csp!r}"
        assert "'unsafe-eval'" not in csp and "script-src 'self' 'sha256-" in csp, csp


def test_pages_run_under_the_csp_in_chromium_and_it_is_enforced(embedded_site, new_page):
    """Home, the clientside page (inline and asset clientside callbacks, Plotly), /background and
    /url-state render and work with no CSP violation; an injected inline script is refused."""
    url = embedded_site.url
    for path in ("/", "/background", "/url-state"):
        page, problems = new_page()
        page.goto(url + path)
        page.locator(".lab-title").first.wait_for()
        page.wait_for_timeout(1500)  # the instruments' first ticks and any lazily loaded chunk
        assert not problems, f"{path}: {problems}"
    page, problems = new_page()
    page.goto(url + "/clientside")
    page.click("#clientside__load")
    page.locator("#clientside__loaded").get_by_text("Sent").wait_for()
    page.locator("#clientside__bars .main-svg").first.wait_for()  # drawn by a clientside callback, by Plotly
    assert not problems, f"/clientside: {problems}"
    violation = page.evaluate("""() => new Promise(resolve => {
        document.addEventListener('securitypolicyviolation', e => resolve(e.violatedDirective), {once: true});
        const script = document.createElement('script');
        script.textContent = 'window.__injected = true';
        document.head.appendChild(script);
        setTimeout(() => resolve(window.__injected ? 'ran' : 'no event'), 3000);
    })""")
    assert violation.startswith("script-src"), f"an injected inline script was not refused: {violation}"


def test_unknown_asset_and_component_suite_paths_are_404(embedded_site):
    log = gunicorn_log(embedded_site)
    for path in ("/assets/nope.css", "/assets/nope/deeper.js", "/_dash-component-suites/dash/nope.js",
                 "/_dash-component-suites/nope/x.js", "/_dash-component-suites/dash/dcc/nope.v1_0_0m1.js",
                 "/_dash-component-suites/dash/deps/nope.min.js"):
        response = requests.get(embedded_site.url + path, timeout=30)
        assert response.status_code == 404, f"{path}: HTTP {response.status_code}"
    assert "Traceback" not in log.since()


# --- python app.py: private files (finding 5) ----------------------------------------------------


def test_python_app_py_keeps_the_data_directory_private(tmp_path):
    data_dir = tmp_path / "data"
    (data_dir / "old").mkdir(parents=True)
    data_dir.chmod(0o755)
    (data_dir / "old").chmod(0o755)
    (data_dir / "old" / "left-over.txt").write_text("from an earlier run")
    (data_dir / "old" / "left-over.txt").chmod(0o644)
    port = free_port()
    app = AppProcess("--port", str(port), data_dir=data_dir)
    try:
        wait_until(lambda: app.said("Dash State Lab on") or app.process.poll() is not None, 120, 0.2, "app.py to start")
        assert app.process.poll() is None, f"app.py exited: {app.err}"
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/_dash-layout", 60)
        requests.get(url + "/", timeout=30)
        requests.post(url + "/_dash-update-component", json=lab_stats_body(url), timeout=30)  # the workers write
        found = []
        for root, dirs, files in os.walk(data_dir):
            for name, want in [(root, 0o700)] + [(os.path.join(root, d), 0o700) for d in dirs] + \
                    [(os.path.join(root, f), 0o600) for f in files]:
                mode = stat.S_IMODE(os.lstat(name).st_mode)
                found.append(name)
                assert mode == want, f"{name} is {mode:o}, not {want:o}"
        assert str(data_dir / "store" / "cache.db") in found
        assert any(name.endswith("left-over.txt") for name in found)
        store = DiskStore(data_dir / "store")  # after the walk: opening it may create SQLite's side files
        assert store.get("lab:secret"), "the minted session-signing secret is not in the store"
        store.close()
    finally:
        assert app.stop() == 0, app.err
