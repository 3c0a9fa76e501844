"""Fixtures that start real processes: redis-server, gunicorn (4 workers), Celery, Chromium.

Fixtures only; the helpers tests import by name are in tests/support.py.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from bench.chromium import ARGS as CHROMIUM_ARGS
from bench.chromium import CHROMIUM
from bench.servers import PrivateRedis as RedisServer  # the harness's own launcher: one copy
from serve import Site
from tests.support import BACKENDS, Backend, need, site_settings, watch_problems


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    need(shutil.which("redis-server") is not None, "redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server) -> str:
    return redis_server.url


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of the test's own, which it may stop, pause (SIGSTOP) or restart."""
    need(shutil.which("redis-server") is not None, "redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path).start()
    yield server
    if server.process.poll() is None:
        os.kill(server.process.pid, signal.SIGCONT)
    server.stop()


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request) -> Backend:
    """Each test that asks for it runs once per backend, ids [embedded] and [redis] (Dash's own tests
    do the same with one `manager` fixture). Module-scoped, so a module's own site per backend
    (built from backend.changes()) starts once; Redis mode starts the private redis-server only
    when a test needs it."""
    if request.param == "redis":
        return Backend("redis", request.getfixturevalue("redis_url"))
    return Backend("embedded")


class _Sites:
    """start_site(**settings) -> a started Site on a free port.

    A site lives until the end of the module that started it (each is several gunicorn workers and maybe
    a Celery worker: kept to the session's end, forty of them starved the suite's last modules of CPU and
    memory); the two shared sites, started with keep=True, live until the end of the session."""

    def __init__(self, tmp_path_factory):
        self.tmp_path_factory = tmp_path_factory
        self.kept: list[Site] = []
        self.module: list[Site] = []

    def __call__(self, workers: int = 4, celery: bool = True, keep: bool = False, **changes) -> Site:
        # STATELAB_SERVER in pytest's environment picks the server kind of every site a test does not
        # choose itself (run a module under another kind without editing it).
        if os.environ.get("STATELAB_SERVER"):
            changes.setdefault("server", os.environ["STATELAB_SERVER"])
        data_dir = self.tmp_path_factory.mktemp("site-data")
        site = Site(site_settings(data_dir, **changes), workers=workers, celery=celery, log_dir=data_dir / "logs")
        (self.kept if keep else self.module).append(site)
        return site.start()

    def stop_module_sites(self) -> None:
        while self.module:
            self.module.pop().stop()


@pytest.fixture(scope="session")
def start_site(tmp_path_factory):
    sites = _Sites(tmp_path_factory)
    yield sites
    sites.stop_module_sites()
    for site in sites.kept:
        site.stop()


@pytest.fixture(scope="module", autouse=True)
def _stop_module_sites(start_site):
    # Autouse and module-scoped: set up before, so torn down after, every module fixture that uses a site.
    yield
    start_site.stop_module_sites()


@pytest.fixture(scope="session")
def embedded_site(start_site) -> Site:
    """The demo server in embedded mode: gunicorn, 4 workers, diskcache stores."""
    return start_site(keep=True)


@pytest.fixture(scope="session")
def redis_site(start_site, redis_url) -> Site:
    """The demo server in Redis mode: gunicorn, 4 workers, Redis stores, a Celery worker."""
    return start_site(redis_url=redis_url, keep=True)


@pytest.fixture(scope="module")
def site(request, backend) -> Site:
    """The shared demo server of `backend` (embedded_site or redis_site). A module that needs a site
    of its own settings defines its own `site` fixture, which takes precedence."""
    return request.getfixturevalue(f"{backend.name}_site")


@pytest.fixture(scope="session")
def playwright():
    # One Playwright per test process: a second sync_playwright() while one is open refuses to start
    # ("using Playwright Sync API inside the asyncio loop"), so every test that needs one takes this.
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def browser(playwright):
    need(Path(CHROMIUM).exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    # Playwright's expect waits 5 s by default: a page's first answer on a loaded 2-core machine can take
    # longer. Conditions are still waited on, just with the deadline the other waits here use.
    expect.set_options(timeout=30_000)
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield chromium
    chromium.close()


@pytest.fixture
def new_page(browser):
    """new_page() -> (page, problems); every page gets a fresh context unless one is given.
    `problems` collects console errors and failed requests (tests/support.py watch_problems)."""
    contexts = []

    def make(context=None, viewport=None):
        if context is None:
            context = browser.new_context(viewport=viewport or {"width": 1400, "height": 1000})
            contexts.append(context)
        page = context.new_page()
        problems = watch_problems(page)
        page.set_default_timeout(30_000)
        return page, problems

    yield make
    for context in contexts:
        context.close()
