"""Fixtures that start real processes: redis-server, gunicorn (4 workers), Celery, Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config import Settings, load_settings  # noqa: E402
from serve import Site, free_port, stop  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
IN_CI = os.environ.get("CI") == "true"


def need(condition: bool, why: str) -> None:
    """Skip on a developer's machine, fail in CI: CI must run every test."""
    if not condition:
        if IN_CI:
            pytest.fail(why)
        pytest.skip(why)


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05, message: str = "condition"):
    """Poll predicate until it returns a truthy value; fail with message at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {message}")
        time.sleep(interval)


def wait_js(page, expression: str, arg=None, timeout: float = 30.0) -> None:
    """Poll a JavaScript expression until truthy. Not page.wait_for_function: that evaluates a string,
    which the site's Content-Security-Policy (no 'unsafe-eval') refuses; page.evaluate is not affected."""
    wait_until(lambda: page.evaluate(expression, arg), timeout, 0.05, expression[:100])


def pick(page, dropdown_id: str, value: str) -> None:
    """Choose `value` in the dcc.Dropdown with id `dropdown_id`, as a user does: open it, click the option."""
    page.click(f"#{dropdown_id}")
    page.get_by_role("option", name=value, exact=True).click()


class RedisServer:
    """A private redis-server on a free port, never the machine's own 6379."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.directory = directory
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        wait_until(lambda: self._pings(client), 10, message=f"redis-server on port {self.port}")
        return self

    @staticmethod
    def _pings(client) -> bool:
        try:
            return client.ping()
        except Exception:
            return False

    def stop(self) -> None:
        stop(self.process, 5)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    need(shutil.which("redis-server") is not None, "redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server) -> str:
    return redis_server.url


def site_settings(data_dir: Path, **changes) -> Settings:
    base = load_settings(env={}, data_dir=data_dir)
    # Rate limits off by default: every test client is one loopback address (load tests run 50
    # sessions from it); the rate-limit tests start their own site with them on.
    defaults = {"compute_delay": 0.5, "secret": "test-secret-" + data_dir.name, "rate_limits": "off"}
    defaults.update(changes)
    return base.replace(**defaults)


@pytest.fixture(scope="session")
def start_site(tmp_path_factory):
    """start_site(**settings) -> a started Site on a free port, stopped at the end of the session."""
    started = []

    def start(workers: int = 4, celery: bool = True, **changes) -> Site:
        data_dir = tmp_path_factory.mktemp("site-data")
        site = Site(site_settings(data_dir, **changes), workers=workers, celery=celery, log_dir=data_dir / "logs")
        started.append(site)
        return site.start()

    yield start
    for site in started:
        site.stop()


@pytest.fixture(scope="session")
def embedded_site(start_site) -> Site:
    """The demo server in embedded mode: gunicorn, 4 workers, diskcache stores."""
    return start_site()


@pytest.fixture(scope="session")
def redis_site(start_site, redis_url) -> Site:
    """The demo server in Redis mode: gunicorn, 4 workers, Redis stores, a Celery worker."""
    return start_site(redis_url=redis_url)


@pytest.fixture(scope="session")
def browser():
    need(Path(CHROMIUM).exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    # Playwright's expect waits 5 s by default: a page's first answer on a loaded 2-core machine can take
    # longer. Conditions are still waited on, just with the deadline the other waits here use.
    expect.set_options(timeout=30_000)

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


class PageProblems(list):
    """Console errors and failed requests seen by a page."""


@pytest.fixture
def new_page(browser):
    """new_page() -> (page, problems); every page gets a fresh context unless one is given."""
    contexts = []

    def make(context=None, viewport=None):
        if context is None:
            context = browser.new_context(viewport=viewport or {"width": 1400, "height": 1000})
            contexts.append(context)
        page = context.new_page()
        problems = PageProblems()
        page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        # A request the browser cancels because the test itself navigated away is no failure of the
        # site (net::ERR_ABORTED after a newer main-frame navigation began); every other failure is.
        navigations, began = [0], {}

        def sent(req):
            if req.is_navigation_request() and req.frame == page.main_frame:
                navigations[0] += 1
            began[req] = navigations[0]

        def failed(req):
            if req.failure == "net::ERR_ABORTED" and began.pop(req, navigations[0]) != navigations[0]:
                return
            problems.append(f"request failed: {req.url} {req.failure}")

        page.on("request", sent)
        page.on("requestfinished", lambda req: began.pop(req, None))
        page.on("requestfailed", failed)
        page.on("response", lambda resp: problems.append(f"HTTP {resp.status}: {resp.url}") if resp.status >= 400 else None)
        page.set_default_timeout(30_000)
        return page, problems

    yield make
    for context in contexts:
        context.close()


def lab_stats_body(url: str, ns: str = "home") -> dict:
    """The request the instruments panel sends for its server counters (it reads the store)."""
    import requests

    deps = requests.get(url + "/_dash-dependencies", timeout=10).json()
    output = next(d["output"] for d in deps if '"type":"lab-stats"' in d["output"])
    concrete = {"ns": ns, "type": "lab-stats"}
    return {
        "output": output,
        "outputs": [{"id": concrete, "property": "children"}, {"id": {"ns": ns, "type": "lab-baseline"}, "property": "data"}],
        "inputs": [{"id": {"ns": ns, "type": "lab-version"}, "property": "data", "value": 1},
                   {"id": {"ns": ns, "type": "lab-reset"}, "property": "n_clicks", "value": None}],
        "changedPropIds": [],
        "state": [{"id": concrete, "property": "id", "value": concrete},
                  {"id": {"ns": ns, "type": "lab-baseline"}, "property": "data", "value": None}],
    }
