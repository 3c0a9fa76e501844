"""A gunicorn worker is killed mid-request: the session's state survives for every strategy
that claims to survive it (all but global-variable), proven in a real browser.

Each test drives one strategy page on a private 4-worker site, embedded and in Redis mode
(compute_delay 1 s, so the expensive step keeps a request in flight): it creates the state, starts a slow interaction,
SIGKILLs every worker while that request is being served, waits for the master to start four
new ones, then reads the state again in the same page and session. The killed request must
fail (it was really in flight); every later answer comes from a new worker; the state read
back is the state written before. global-variable is the control: its value lived only in
the killed workers' memory and is gone, and the page's own diagnosis says so.
"""

from __future__ import annotations

import hashlib
import json
import time

import pytest
from playwright.sync_api import expect

from stores import open_store
from tests.callbacks import CALLBACK, Workers
from tests.support import pick, wait_js, wait_until


@pytest.fixture(scope="module")
def site(backend, start_site):
    """A site of our own: killing its workers must not disturb the shared fixtures' tests.
    In Redis mode it has a Redis database of its own, so no other site's state is read back."""
    return start_site(compute_delay=1.0, **backend.changes(database=5))


@pytest.fixture
def workers(site):
    found = Workers(site)
    wait_until(lambda: len(found.pids()) == site.workers, 60, 0.1, "the site's workers")
    return found


def _output(request) -> str:
    try:
        return json.loads(request.post_data or "{}").get("output", "")
    except ValueError:
        return ""


class Tab:
    """One strategy page in its own browser context, with every callback request it makes on record."""

    def __init__(self, new_page, site, slug: str):
        self.new_page, self.url = new_page, f"{site.url}/{slug}"
        self.page, self.problems = new_page()
        self.inflight: set = set()
        self.failed: list[str] = []
        self.answers: list[tuple[str, int, int]] = []  # (output, worker pid, status)
        page = self.page
        page.on("request", lambda r: self.inflight.add(r) if CALLBACK in r.url else None)
        page.on("requestfinished", lambda r: self.inflight.discard(r))
        page.on("requestfailed", self._failed)
        page.on("response", self._answered)
        page.goto(f"{site.url}/{slug}")
        page.locator(".lab-title").wait_for()

    def _failed(self, request) -> None:
        self.inflight.discard(request)
        if CALLBACK in request.url:
            self.failed.append(_output(request))

    def _answered(self, response) -> None:
        if CALLBACK in response.url:
            pid = int(response.headers.get("x-worker-pid", "0"))
            self.answers.append((_output(response.request), pid, response.status))

    def quiet(self, seconds: float = 1.3) -> None:
        """Wait until no callback request has been in flight for `seconds` (longer than the
        instruments' 1 s tick, which sends a stats request after each demo request)."""
        since = [time.monotonic()]

        def idle():
            self.page.wait_for_timeout(50)  # lets Playwright deliver pending request events
            if self.inflight:
                since[0] = time.monotonic()
                return False
            return time.monotonic() - since[0] >= seconds

        wait_until(idle, 60, 0, "no callback request in flight")

    def kill_during(self, workers: Workers, action, *outputs: str) -> set[int]:
        """Run action; once every request it sends for `outputs` is being served, SIGKILL every
        worker. Returns the killed pids after the master has started new workers.

        An action that fires several callbacks (one click, two outputs) must have all of them
        in workers before the kill: a request still in the listen backlog would be served by a
        new worker and change the state the test then reads back."""
        self.quiet()
        since = len(self.failed)
        with self.page.expect_request(lambda r: CALLBACK in r.url and outputs[0] in (r.post_data or "")):
            action()

        def all_sent():
            self.page.wait_for_timeout(20)  # lets Playwright deliver pending request events
            sent = [r.post_data or "" for r in list(self.inflight)]
            return all(any(o in body for body in sent) for o in outputs)

        wait_until(all_sent, 10, 0, f"the requests for {outputs}")
        # Nothing else is in flight (quiet above), so workers holding connections are serving these.
        def serving():
            held = workers.connections()
            return set(held) if sum(held.values()) >= len(outputs) else None

        busy = wait_until(serving, 20, 0.01, f"workers to take the requests for {outputs}")
        killed = workers.kill_all()
        assert busy <= killed

        def all_failed():
            self.page.wait_for_timeout(50)
            return all(any(o in f for f in self.failed[since:]) for o in outputs)

        wait_until(all_failed, 30, 0, f"the killed requests for {outputs} to fail in the browser")
        # The page says so, and undoes the request's `running=` changes (a disabled control) as for an HTTP error.
        expect(self.page.locator(".lab-toast").last).to_contain_text("did not answer")
        return killed

    def answered(self, outputs: list[str], since: int, timeout: float = 60) -> list[tuple[str, int, int]]:
        """Wait until every output in `outputs` has an answer recorded after index `since`."""

        def done():
            self.page.wait_for_timeout(50)
            got = self.answers[since:]
            return got if all(any(o in a[0] for a in got) for o in outputs) else None

        return wait_until(done, timeout, 0, f"answers for {outputs}")

    def assert_served_by_new_workers(self, since: int, killed: set[int]) -> None:
        after = self.answers[since:]
        assert after, "no callback was answered after the kill"
        assert all(pid not in killed for _, pid, _ in after), f"a killed worker answered: {after}"
        assert all(status == 200 for _, _, status in after), after

    def assert_no_server_errors(self) -> None:
        """The killed request failed in the browser; nothing was answered with an HTTP error."""
        assert [p for p in self.problems if p.startswith("HTTP ")] == [], self.problems

    def text(self, selector: str) -> str:
        return self.page.inner_text(selector)

    def rendered(self, selector: str, before: str, timeout: float = 30) -> str:
        """Wait until `selector` shows a text other than `before` (and not '', a loading state):
        the answer has been rendered, not just received. Returns the new text."""
        def new_text():
            located = self.page.locator(selector)
            text = self.text(selector) if located.count() else ""
            return text if text and text != before else None

        return wait_until(new_text, timeout, 0.05, f"{selector} to show the new answer")

    def shows(self, selector: str, text: str, timeout: float = 30) -> None:
        """Wait until `selector` shows exactly `text`: an answer is rendered a moment after it
        arrives, and a dcc.Loading hides its content (inner text '') while a request is out."""
        last = [None]

        def same():
            last[0] = self.text(selector)
            return last[0] == text

        try:
            wait_until(same, timeout, 0.05, f"{selector} to show the text it showed before")
        except AssertionError:
            raise AssertionError(f"{selector} shows {last[0]!r}, not {text!r}") from None

    def set_props(self, component: str, props: dict) -> None:
        """What a Dash callback would do: give a component new props, firing the callbacks that use them."""
        self.page.evaluate("([id, props]) => window.dash_clientside.set_props(id, props)", [component, props])


# --- the control: state in worker memory -------------------------------------------------------------


def gv_click(tab: Tab, button: str) -> dict:
    """Press Set or Read on one side of the global-variable page; the answer's worker pid and value."""
    prefix = button.rsplit("__", 1)[0] + "__" + ("safe-" if "safe-" in button else "")
    score = tab.page.locator(f"#{prefix}score .gv-score")
    # The page reads once on arrival: count from that answer, or it would pass for this click's.
    wait_until(lambda: score.count(), 30, 0.05, f"{prefix} to show its read on arrival")
    before = int(score.get_attribute("data-clicks"))
    tab.page.click(f"#{button}")
    wait_until(lambda: score.count() and int(score.get_attribute("data-clicks")) == before + 1, 60, 0.05, f"{button} to answer")
    answer = tab.page.locator(f"#{prefix}result [data-action]")
    return {"pid": int(answer.get_attribute("data-pid")), "value": answer.get_attribute("data-value")}


def worker_copy(tab: Tab, pid: int, clicks: int = 8, tabs: int = 60) -> dict:
    """A read answered by worker `pid`: Read clicks in this tab first, then fresh tabs' reads on arrival.

    A tab's requests keep to its few keep-alive connections, so its reads can miss a worker of
    four for a long time (seen: one read in 30 from the writer); a fresh context opens new
    connections, which the workers' accepts share out anew."""
    for _ in range(clicks):
        read = gv_click(tab, "global-variable__read")
        if read["pid"] == pid:
            return read
    for _ in range(tabs):
        page, _problems = tab.new_page()
        page.goto(tab.url)
        answer = page.locator("#global-variable__result [data-action='read']")
        answer.wait_for()
        read = {"pid": int(answer.get_attribute("data-pid")), "value": answer.get_attribute("data-value")}
        page.context.close()
        if read["pid"] == pid:
            return read
    raise AssertionError(f"worker {pid} answered none of {clicks} reads and {tabs} fresh tabs")


def global_variable(tab: Tab, workers: Workers, site) -> None:
    wrote = gv_click(tab, "global-variable__set")
    # The value really is in the writing worker's memory: read until that worker answers.
    read = worker_copy(tab, wrote["pid"])
    assert read["value"] == wrote["value"]
    safe = gv_click(tab, "global-variable__safe-set")

    # Every callback of this page is instant: there is no slow request to catch, so kill them idle.
    tab.quiet()
    killed = workers.kill_all()
    since = len(tab.answers)
    reads = [gv_click(tab, "global-variable__read") for _ in range(8)]
    tab.assert_served_by_new_workers(since, killed)
    assert all(r["value"] == "None" for r in reads), f"a new worker still had a value: {reads}"
    # The page's own diagnosis names the lost value and the new, empty copies.
    diagnosis = tab.page.locator("#global-variable__diagnosis .gv-findings")
    expect(diagnosis).to_contain_text(f"You wrote '{wrote['value']}' on worker {wrote['pid']}")
    expect(diagnosis).to_contain_text("had (nothing)")
    score = tab.page.locator("#global-variable__score .gv-score")
    assert int(score.get_attribute("data-wrong")) >= len(reads)

    # The same page's dcc.Store version kept its value: it lives in the tab.
    assert gv_click(tab, "global-variable__safe-read")["value"] == safe["value"]
    expect(tab.page.locator("#global-variable__safe-diagnosis")).to_contain_text("returned what you last wrote")


# --- state in the browser ----------------------------------------------------------------------------


def _payload_page(slug: str, consumers: list[str], table: str):
    def run(tab: Tab, workers: Workers, site) -> None:
        page = tab.page
        expect(page.locator(f"#{table} table")).to_contain_text("apples", timeout=30_000)
        data = f"document.getElementById('{slug}__data').textContent"
        held, shown = page.evaluate(data), tab.text(f"#{table}")

        killed = tab.kill_during(workers, lambda: pick(page, f"{slug}__region", "south"), f"{slug}__data.children")

        assert page.evaluate(data) == held, "the hidden div changed although its producer was killed"
        since = len(tab.answers)
        tab.set_props(f"{slug}__data", {"children": held})  # the consumers read the div again
        tab.answered(consumers, since)
        tab.assert_served_by_new_workers(since, killed)
        tab.shows(f"#{table}", shown)
        assert page.locator(".pl-rejected").count() == 0

    return run


hidden_div = _payload_page(
    "hidden-div", [f"hidden-div__scatter-{f}.figure" for f in ("apples", "oranges", "figs")], "hidden-div__table"
)
aggregates = _payload_page(
    "aggregates",
    [f"aggregates__line-{f}.figure" for f in ("apples", "oranges", "figs")] + ["aggregates__bars"],
    "aggregates__table",
)


def browser_store(tab: Tab, workers: Workers, site) -> None:
    page = tab.page
    view = "#browser-store__session-view .bs-facts"
    page.click("#browser-store__write")  # session storage, 1,000 rows, north: the page's defaults
    expect(page.locator(view)).to_contain_text("north", timeout=30_000)
    stored = page.evaluate("sessionStorage.getItem('browser-store__session')")
    assert stored and json.loads(stored)["region"] == "north"
    shown = tab.text("#browser-store__session-view")

    pick(page, "browser-store__region", "south")
    killed = tab.kill_during(workers, lambda: page.click("#browser-store__write"), "browser-store__memory.data")

    # The same tab reloaded: sessionStorage is this tab's, and its consumer reads it on load.
    since = len(tab.answers)
    page.reload()
    tab.answered(["browser-store__session-view.children"], since)
    expect(page.locator(view)).to_contain_text("north")
    assert page.evaluate("sessionStorage.getItem('browser-store__session')") == stored
    tab.shows("#browser-store__session-view", shown)
    tab.assert_served_by_new_workers(since, killed)


# --- state on the server -----------------------------------------------------------------------------


def _verdict(page, prefix: str, region: str, before: str = "") -> tuple[str, str]:
    """The verdict's data-computed and text, once it names `region` and differs from `before`."""
    selector = f"#{prefix}__verdict"
    wait_js(page,
        "([s, r, b]) => { const e = document.querySelector(s); return e && e.textContent.startsWith(r + ':') && e.textContent !== b; }",
        arg=[selector, region, before],
    )
    return page.get_attribute(selector, "data-computed"), page.inner_text(selector)


def cache_signal(tab: Tab, workers: Workers, site) -> None:
    page = tab.page
    store = open_store(site.settings)
    computed, shown = _verdict(page, "cache-signal", "north")
    assert computed == "yes"  # the default region, computed on load
    computed_by = wait_until(lambda: store.get_int("cache-signal:computed:north"), 10, message="the compute counter")

    killed = tab.kill_during(workers, lambda: pick(page, "cache-signal__region", "south"), "cache-signal__signal.data")

    expect(page.locator("#cache-signal__region")).to_be_enabled()  # `running=` disabled it for the killed request
    since = len(tab.answers)
    pick(page, "cache-signal__region", "north")
    tab.answered(["cache-signal__signal.data"], since)  # the readout still shows the answer from before the kill
    computed, _ = _verdict(page, "cache-signal", "north", before=shown)
    assert computed == "no", "the cached value was lost with the workers"
    readout = tab.text("#cache-signal__readout")
    assert "from the cache" in readout
    # Computed before the kill, by a worker that no longer exists.
    assert any(f"by worker {pid}" in readout for pid in killed), readout
    tab.answered([f"cache-signal__graph-{k}.figure" for k in ("scatter", "histogram2dcontour")], since)
    tab.assert_served_by_new_workers(since, killed)
    assert store.get_int("cache-signal:computed:north") == computed_by


def session_cache(tab: Tab, workers: Workers, site) -> None:
    page = tab.page
    verdict = "#session-cache__verdict"
    badge = tab.text(".lab-session-badge code")
    pick(page, "session-cache__region", "north")
    since = len(tab.answers)
    page.click("#session-cache__fetch")
    tab.answered(["session-cache__table.children", "session-cache__graph.figure"], since)
    shown = tab.rendered(verdict, "")
    assert page.get_attribute("#session-cache__verdict", "data-computed") == "yes"
    expect(page.locator("#session-cache__table table")).to_contain_text("apples")
    computed_at = page.get_attribute("#session-cache__about", "data-computed-at")
    table = tab.text("#session-cache__table")

    pick(page, "session-cache__region", "east")
    killed = tab.kill_during(
        workers, lambda: page.click("#session-cache__fetch"), "session-cache__table.children", "session-cache__graph.figure"
    )

    since = len(tab.answers)
    pick(page, "session-cache__region", "north")
    page.click("#session-cache__fetch")
    tab.answered(["session-cache__table.children", "session-cache__graph.figure"], since)
    shown = tab.rendered(verdict, shown)  # the killed fetch rendered nothing: this is the one before it
    assert page.get_attribute("#session-cache__verdict", "data-computed") == "no", tab.text("#session-cache__status")
    assert page.get_attribute("#session-cache__about", "data-computed-at") == computed_at
    tab.shows(".lab-session-badge code", badge)
    assert badge in tab.text("#session-cache__about")
    tab.shows("#session-cache__table", table)
    tab.assert_served_by_new_workers(since, killed)

    # The killed request held this session's compute lock: the session must not be wedged by it.
    since = len(tab.answers)
    pick(page, "session-cache__region", "east")
    started = time.monotonic()
    page.click("#session-cache__fetch")
    tab.answered(["session-cache__table.children"], since)
    tab.rendered(verdict, shown)
    assert page.get_attribute("#session-cache__verdict", "data-computed") == "yes", tab.text("#session-cache__status")
    assert "east" in tab.text("#session-cache__about")
    took = time.monotonic() - started
    assert took < site.settings.worker_timeout / 2, f"the fetch after the kill took {took:.1f} s"
    tab.assert_served_by_new_workers(since, killed)


def _digest(path) -> tuple[int, str]:
    return path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest()


def session_files(tab: Tab, workers: Workers, site) -> None:
    page = tab.page
    page.click("#session-files__save")
    page.wait_for_selector("#session-files__file-info")
    expect(page.locator("#session-files__table table")).to_contain_text("apples")
    badge = tab.text(".lab-session-badge code")
    files = [p for p in (site.settings.data_dir / "session-files").iterdir() if p.name.startswith(badge)]
    assert len(files) == 1
    mine, before = files[0], _digest(files[0])
    table = tab.text("#session-files__table table")

    pick(page, "session-files__region", "west")
    killed = tab.kill_during(workers, lambda: page.click("#session-files__save"), "session-files__signal.data")

    assert _digest(mine) == before, "the session's file changed although the save was killed"
    assert not [p for p in mine.parent.iterdir() if p.name.startswith(".tmp-")], "a half-written temp file was left"
    since = len(tab.answers)
    tab.set_props("session-files__signal", {"data": {"written": 0, "region": "read again"}})
    tab.answered(["session-files__table.children", "session-files__graph.figure"], since)
    expect(page.locator("#session-files__file-info")).to_contain_text(mine.name[:8])
    tab.shows("#session-files__table table", table)
    tab.shows(".lab-session-badge code", badge)
    tab.assert_served_by_new_workers(since, killed)


def serverside(tab: Tab, workers: Workers, site) -> None:
    page = tab.page
    expect(page.locator("#serverside__summary table")).to_contain_text("apples", timeout=30_000)
    key = tab.text("#serverside__held-key")
    assert "@" in key
    summary = tab.text("#serverside__summary")

    killed = tab.kill_during(workers, lambda: page.select_option("#serverside__region", "south"), "serverside__key.data")

    tab.shows("#serverside__held-key", key)
    since = len(tab.answers)
    tab.set_props("serverside__key", {"data": key})  # the consumers open the key again
    tab.answered(["serverside__density.figure", "serverside__trend.figure", "serverside__summary.children"], since)
    expect(page.locator("#serverside__summary table")).to_contain_text("apples")
    tab.shows("#serverside__summary", summary)
    expect(page.locator("#serverside__density .gtitle")).to_contain_text("points fall")
    expect(page.locator("#serverside__trend .gtitle")).to_contain_text("mean y by x")
    tab.assert_served_by_new_workers(since, killed)

    # The killed request was computing south under single-flight: asking again waits out its lease, then computes.
    since = len(tab.answers)
    page.select_option("#serverside__region", "north")
    page.select_option("#serverside__region", "south")
    expect(page.locator("#serverside__held-key")).to_contain_text(".south@", timeout=30_000)
    expect(page.locator("#serverside__summary table")).to_contain_text("apples")
    tab.assert_served_by_new_workers(since, killed)


STRATEGIES = {
    "global-variable": global_variable,
    "hidden-div": hidden_div,
    "browser-store": browser_store,
    "aggregates": aggregates,
    "cache-signal": cache_signal,
    "session-cache": session_cache,
    "session-files": session_files,
    "serverside": serverside,
}


@pytest.mark.parametrize("slug", list(STRATEGIES))
def test_state_after_every_worker_is_killed_mid_request(slug, site, workers, new_page):
    tab = Tab(new_page, site, slug)
    STRATEGIES[slug](tab, workers, site)
    tab.assert_no_server_errors()
