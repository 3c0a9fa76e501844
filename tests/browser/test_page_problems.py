"""The browser tests' own judge (tests/conftest.py new_page, tests/support.py watch_problems), tested
in Chromium on a tiny local server: a request Chromium aborts because the test itself navigated away
is no failure of the site, while an aborted request without a navigation, and a refused connection,
still are."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from serve import free_port
from tests.support import wait_until

PAGE = b"<!doctype html><title>probe</title><h1>probe</h1>"


class Held:
    """A server whose /held/* requests stay open until released, so the browser has them in flight."""

    def __init__(self):
        self.arrived: list[str] = []
        self.release = threading.Event()
        held = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path.startswith("/held/"):
                    held.arrived.append(self.path)
                    held.release.wait(60)
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(PAGE)))
                    self.end_headers()
                    self.wfile.write(PAGE)
                except OSError:  # the browser gave up on it: that is the point of these tests
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def in_flight(self, path: str) -> None:
        wait_until(lambda: path in self.arrived, 30, message=f"the browser's request for {path}")

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def held():
    server = Held()
    yield server
    server.close()


def test_a_request_aborted_by_the_tests_own_navigation_is_no_problem(held, new_page):
    page, problems = new_page()
    page.goto(held.url + "/a")
    page.evaluate("() => { fetch('/held/1').catch(() => {}); }")
    held.in_flight("/held/1")
    with page.expect_event("requestfailed", lambda r: r.url.endswith("/held/1")) as aborted:
        page.goto(held.url + "/b")
    assert aborted.value.failure == "net::ERR_ABORTED", "the navigation must really have aborted the request"
    page.wait_for_selector("h1")
    assert problems == []


def test_an_abort_without_a_navigation_and_a_refused_connection_are_problems(held, new_page):
    page, problems = new_page()
    page.goto(held.url + "/a")
    page.evaluate("() => { window.stop_it = new AbortController();"
                  " fetch('/held/2', {signal: window.stop_it.signal}).catch(() => {}); }")
    held.in_flight("/held/2")
    with page.expect_event("requestfailed", lambda r: r.url.endswith("/held/2")):
        page.evaluate("() => window.stop_it.abort()")
    assert f"request failed: {held.url}/held/2 net::ERR_ABORTED" in problems, problems

    nobody = f"http://127.0.0.1:{free_port()}/x"
    with page.expect_event("requestfailed", lambda r: r.url == nobody):
        page.evaluate("(u) => { fetch(u, {mode: 'no-cors'}).catch(() => {}); }", nobody)
    assert f"request failed: {nobody} net::ERR_CONNECTION_REFUSED" in problems, problems
