"""What the tests share besides fixtures: waiting on conditions, driving a page, the backends.

tests/conftest.py holds the fixtures; everything a test module imports by name lives here.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from config import PROJECT_DIR, Settings, load_settings

ROOT = PROJECT_DIR
IN_CI = os.environ.get("CI") == "true"
# The two ways a site keeps its state; every test that runs "in both modes" runs once per name.
BACKENDS = ("embedded", "redis")


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


def wait_js(page, expression: str, arg=None, timeout: float = 30.0, message: str | None = None) -> None:
    """Poll a JavaScript expression until truthy. Not page.wait_for_function: that evaluates a string,
    which the site's Content-Security-Policy (no 'unsafe-eval') refuses; page.evaluate is not affected."""
    wait_until(lambda: page.evaluate(expression, arg), timeout, 0.05, message or expression[:100])


def pick(page, dropdown_id: str, value: str) -> None:
    """Choose `value` in the dcc.Dropdown with id `dropdown_id`, as a user does: open it, click the option."""
    page.click(f"#{dropdown_id}")
    page.get_by_role("option", name=value, exact=True).click()


@dataclass(frozen=True)
class Backend:
    """Where a site or a store keeps its state: `embedded` (diskcache in its data directory) or
    `redis` (the session's private redis-server). The one switch every two-mode test uses."""

    name: str
    redis_url: str | None = None

    def __str__(self) -> str:
        return self.name

    def changes(self, database: int | None = None) -> dict:
        """Settings changes that put a site or a store on this backend; `database` gives Redis mode a
        database of its own (a site whose state must not mix with the shared sites' database 0)."""
        if self.redis_url is None:
            return {}
        if database is None:
            return {"redis_url": self.redis_url}
        return {"redis_url": self.redis_url.rsplit("/", 1)[0] + f"/{database}"}

    def settings(self, data_dir: Path, **changes) -> Settings:
        """Settings of a process on this backend, its files (if any) under data_dir."""
        return load_settings(env={}, data_dir=data_dir, **self.changes(), **changes)


def site_settings(data_dir: Path, **changes) -> Settings:
    base = load_settings(env={}, data_dir=data_dir)
    # Rate limits off by default: every test client is one loopback address (load tests run 50
    # sessions from it); the rate-limit tests start their own site with them on.
    defaults = {"compute_delay": 0.5, "secret": "test-secret-" + data_dir.name, "rate_limits": "off"}
    defaults.update(changes)
    return base.replace(**defaults)


class PageProblems(list):
    """Console errors and failed requests seen by a page."""


def watch_problems(page) -> PageProblems:
    """Collect what a visitor would call a broken page: console errors, page errors, HTTP errors and
    failed requests. A request the browser cancels because the test itself navigated away is no
    failure of the site (net::ERR_ABORTED after a newer main-frame navigation began); every other is."""
    problems = PageProblems()
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
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
    return problems


def lab_stats_body(url: str, ns: str = "home") -> dict:
    """The request the instruments panel sends for its server counters (it reads the store)."""
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
