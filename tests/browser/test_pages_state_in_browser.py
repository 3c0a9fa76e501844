"""The four browser-side strategy pages, driven as a user on the 4-worker gunicorn site.

global-variable: the value flips with the worker and leaks into another tab; the dcc.Store version never does.
hidden-div / aggregates: bytes on the wire, read from the page's own request log (window.statelab.log).
browser-store: what survives a reload and a new tab, and the silent quota failure made visible.
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.support import wait_until

SHOWN_FRUITS = ("apples", "oranges", "figs")
QUOTA_ERROR = "QuotaExceededError"


def open_page(new_page, site, slug: str, context=None):
    page, problems = new_page(context)
    page.inflight = set()  # callback requests under way, so a reload can wait for them
    page.on("request", lambda r: page.inflight.add(r) if "_dash-update-component" in r.url else None)
    page.on("requestfinished", lambda r: page.inflight.discard(r))
    page.on("requestfailed", lambda r: page.inflight.discard(r))
    page.goto(f"{site.url}/{slug}")
    page.locator(".lab-title").wait_for()
    return page, problems


def reload_when_idle(page) -> None:
    """Reload once no callback request is in flight, so the reload aborts none of them."""
    quiet_since = []

    def quiet():
        page.wait_for_timeout(50)  # let Playwright deliver pending request events
        if page.inflight:
            quiet_since.clear()
            return False
        quiet_since.append(1)
        return len(quiet_since) >= 6

    wait_until(quiet, 60, 0, "no callback request in flight")
    page.reload()


def choose(page, radio_id: str, value) -> None:
    """Click the label of one option of a dbc.RadioItems, as a user does."""
    page.locator(f"label[for='_dbcprivate_radioitems_{radio_id}_input_{value}']").click()


def log_entries(page, ns: str) -> list[dict]:
    return page.evaluate(
        "ns => window.statelab.log.filter(e => e.ns === ns)"
        ".map(e => ({output: e.output, up: e.up, down: e.down, ms: e.ms, status: e.status, pid: e.pid}))",
        ns,
    )


def interaction(page, ns: str, producer: str, consumers: list[str], since: int) -> dict:
    """Bytes and ms of the producer request, and of its consumers' requests, logged after index `since`."""

    def complete():
        entries = log_entries(page, ns)[since:]
        made = [e for e in entries if producer in e["output"]]
        if not made:
            return None
        after = entries[entries.index(made[-1]) + 1 :]
        used = [next((e for e in after if c in e["output"]), None) for c in consumers]
        return (made[-1], used) if all(used) else None

    made, used = wait_until(complete, 90, 0.2, f"{ns}: the producer and {len(consumers)} consumer requests")
    return {
        "down": made["down"],
        "producer_ms": round(made["ms"]),
        "up": sum(e["up"] for e in used),
        "consumer_ms": round(max(e["ms"] for e in used)),
        "statuses": {made["status"], *(e["status"] for e in used)},
    }


def pick_rows(page, ns: str, rows: int, consumers: list[str]) -> dict:
    """Choose a row count on a hidden-div page: its producer runs, then every consumer; what they exchanged."""
    since = len(log_entries(page, ns))
    choose(page, f"{ns}__rows", rows)
    return interaction(page, ns, f"{ns}__data.children", consumers, since)


# --- global variable ------------------------------------------------------------------------


class Side:
    """One of the two demos (the broken global, the safe dcc.Store) in one tab."""

    def __init__(self, page, safe: bool = False):
        self.page, self.prefix = page, "global-variable__" + ("safe-" if safe else "")

    def board(self) -> dict:
        score = self.page.locator(f"#{self.prefix}score .gv-score")
        if score.count() == 0:
            return {"clicks": 0, "reads": 0, "wrong": 0, "leaks": 0, "pids": set()}
        read = score.get_attribute
        return {
            "clicks": int(read("data-clicks")),
            "reads": int(read("data-reads")),
            "wrong": int(read("data-wrong")),
            "leaks": int(read("data-leaks")),
            "pids": set(read("data-pids").split()),
        }

    def arrived(self) -> dict:
        """Wait for the read the page makes on arrival (no click) and return its answer."""
        answer = self.page.locator(f"#{self.prefix}result [data-action]")
        expect(answer).to_have_attribute("data-action", "read", timeout=20_000)
        wait_until(lambda: self.board()["clicks"] == 1, 20, 0.05, f"{self.prefix} arrival read")
        return {"pid": answer.get_attribute("data-pid"), "value": answer.get_attribute("data-value")}

    def click(self, button: str) -> dict:
        """Press Set or Read and wait for this click's answer: the worker pid and the value."""
        before = self.board()["clicks"]
        self.page.click(f"#{self.prefix}{button}")
        wait_until(lambda: self.board()["clicks"] == before + 1, 20, 0.05, f"{self.prefix}{button} to answer")
        answer = self.page.locator(f"#{self.prefix}result [data-action]")
        assert answer.get_attribute("data-action") == button
        return {"pid": answer.get_attribute("data-pid"), "value": answer.get_attribute("data-value")}


def test_global_variable_flips_between_workers_and_leaks_into_another_tab(embedded_site, new_page):
    tab_a, problems_a = open_page(new_page, embedded_site, "global-variable")
    tab_b, problems_b = open_page(new_page, embedded_site, "global-variable")  # its own browser context
    a, b = Side(tab_a), Side(tab_b)
    # Both demos show a first result on arrival, without a click; a tab that never wrote is told so,
    # not that its reads "returned what you last wrote".
    for side in (a, b, Side(tab_a, safe=True), Side(tab_b, safe=True)):
        first = side.arrived()
        verdict = side.page.locator(f"#{side.prefix}diagnosis")
        if first["value"] == "None":  # an empty copy (another test may have left a value in the worker: a leak)
            expect(verdict).to_contain_text("This tab has not written anything yet: 1 read answered by 1 worker")
            expect(verdict).not_to_contain_text("returned what you last wrote")
        else:
            expect(verdict).to_contain_text("never wrote")
    expect(tab_a.locator("#global-variable__result")).to_contain_text("read on arrival")
    # No expensive step and no cache here: the instruments show no counters stuck at 0.
    expect(tab_a.locator(".lab-instruments .lab-stats")).not_to_contain_text("cache hits")

    written = [a.click("set")["value"] for _ in range(6)]
    assert len(set(written)) == 6, f"each Set should write a new value, got {written}"

    # Reading back in the same tab: answered by several workers, some of which hold another value.
    for _ in range(40):
        a.click("read")
        facts = a.board()
        if facts["wrong"] >= 1 and len(facts["pids"]) >= 2:
            break
    assert len(facts["pids"]) >= 2, f"only worker(s) {facts['pids']} answered {facts['reads']} reads"
    assert facts["wrong"] >= 1, "every read matched the last write: the global never flipped"
    expect(tab_a.locator("#global-variable__diagnosis .gv-findings")).to_contain_text("answered the read")

    # Another tab, which never wrote anything, reads what tab A wrote.
    seen = []
    for _ in range(40):
        seen.append(b.click("read")["value"])
        if set(seen) & set(written):
            break
    assert set(seen) & set(written), f"tab B never saw tab A's values {written}; it saw {seen}"
    assert b.board()["leaks"] >= 1
    expect(tab_b.locator("#global-variable__diagnosis")).to_contain_text("never wrote")

    # The dcc.Store version: tab A's value never reaches tab B, whichever worker answers.
    safe_a, safe_b = Side(tab_a, safe=True), Side(tab_b, safe=True)
    mine_a = safe_a.click("set")["value"]
    assert safe_a.click("read")["value"] == mine_a
    for _ in range(4):
        assert safe_b.click("read")["value"] != mine_a
    mine_b = safe_b.click("set")["value"]
    for _ in range(30):
        assert safe_b.click("read")["value"] == mine_b
        if len(safe_b.board()["pids"]) >= 2:
            break
    facts = safe_b.board()
    assert len(facts["pids"]) >= 2, "the safe reads were all answered by one worker"
    assert facts["wrong"] == 0 and facts["leaks"] == 0, facts
    expect(tab_b.locator("#global-variable__safe-diagnosis")).to_contain_text("returned what you last wrote")
    assert problems_a == [] and problems_b == []


# --- hidden div and aggregates -----------------------------------------------------------------


def test_hidden_div_ships_the_frame_and_bytes_grow_with_rows(embedded_site, new_page):
    page, problems = open_page(new_page, embedded_site, "hidden-div")
    for fruit in SHOWN_FRUITS:
        expect(page.locator(f"#hidden-div__scatter-{fruit} .gtitle")).to_contain_text("points", timeout=30_000)
    expect(page.locator("#hidden-div__table table")).to_contain_text("apples")
    # A first result on arrival: the producer's frame came with the page, the consumers' requests are real.
    expect(page.locator("#hidden-div__status")).to_contain_text("First view: north, 10,000 rows", timeout=30_000)
    expect(page.locator("#hidden-div__size")).to_contain_text("10,000 rows →", timeout=30_000)
    arrival = log_entries(page, "hidden-div")
    assert not any("hidden-div__data.children" in e["output"] for e in arrival), "the producer ran on arrival"
    assert sum(e["up"] > 50_000 for e in arrival) >= 4, f"each consumer sends the frame up: {arrival}"

    consumers = [f"hidden-div__scatter-{fruit}.figure" for fruit in SHOWN_FRUITS] + ["hidden-div__table.children"]
    measured = {}
    for rows in (1_000, 100_000):
        measured[rows] = pick_rows(page, "hidden-div", rows, consumers)
        expect(page.locator("#hidden-div__size")).to_contain_text(f"{rows:,} rows →")
        print(f"hidden-div {rows:>7,} rows: {measured[rows]}")
    small, big = measured[1_000], measured[100_000]
    assert small["statuses"] == big["statuses"] == {200}
    assert big["down"] > 50 * small["down"], measured
    assert big["up"] > 50 * small["up"], measured
    # Every consumer carried the whole frame back up.
    assert big["up"] > 3 * big["down"], measured
    expect(page.locator("#hidden-div__scatter-apples .gtitle")).to_contain_text("points")

    # A client that sends malformed data gets a clear message, not a 500.
    page.click("#hidden-div__tamper")
    expect(page.locator("#hidden-div__table .pl-rejected")).to_contain_text("row 0 must be a list of 3 values")
    expect(page.locator("#hidden-div__size")).to_contain_text("not a frame")
    # The charts say it too, and the whole message fits inside each chart (it was cut off at "must be a lis…").
    for fruit in SHOWN_FRUITS:
        chart = f"#hidden-div__scatter-{fruit}"
        expect(page.locator(f"{chart} .annotation-text")).to_contain_text("must be a list of 3 values", timeout=30_000)
        fits = page.evaluate(
            """sel => { const g = document.querySelector(sel + ' .main-svg').getBoundingClientRect();
                        const t = document.querySelector(sel + ' .annotation-text').getBoundingClientRect();
                        return t.left >= g.left && t.right <= g.right && t.top >= g.top && t.bottom <= g.bottom; }""",
            chart,
        )
        assert fits, f"the rejection message overflows {chart}"
    assert problems == []


def test_aggregates_ship_a_small_fraction_of_the_frame(embedded_site, new_page):
    page, problems = open_page(new_page, embedded_site, "aggregates")
    # A first result on arrival, without running the producer.
    page.locator("#aggregates__compare .pl-compare[data-rows='10000']").wait_for()
    expect(page.locator("#aggregates__status")).to_contain_text("First view")
    expect(page.locator("#aggregates__table table")).to_contain_text("oranges")
    consumers = [f"aggregates__line-{fruit}.figure" for fruit in SHOWN_FRUITS] + ["aggregates__bars.figure"]
    measured = {}
    for rows in (1_000, 100_000):
        measured[rows] = pick_rows(page, "aggregates", rows, consumers)
        compare = page.locator(f"#aggregates__compare .pl-compare[data-rows='{rows}']")
        compare.wait_for()
        measured[rows]["shipped"] = int(compare.get_attribute("data-shipped"))
        measured[rows]["full"] = int(compare.get_attribute("data-full"))
        print(f"aggregates {rows:>7,} rows: {measured[rows]}")
    big = measured[100_000]
    assert big["shipped"] < 0.01 * big["full"], big
    assert big["full"] > 500_000, "the full cleaned frame at 100,000 rows is about 1 MB of JSON"
    # What the browser really exchanged stays small and flat in the rows.
    assert big["down"] < 0.05 * big["full"] and big["up"] < 0.05 * big["full"], big
    assert big["up"] < 3 * measured[1_000]["up"], measured
    for fruit in SHOWN_FRUITS:
        expect(page.locator(f"#aggregates__line-{fruit} .gtitle")).to_contain_text("mean y by x")
    expect(page.locator("#aggregates__table table")).to_contain_text("oranges")
    assert problems == []


# --- browser store ------------------------------------------------------------------------------


def survival_table(page) -> dict[str, list[str]]:
    page.locator("#browser-store__table tbody tr").nth(2).wait_for()
    rows = page.evaluate(
        "() => [...document.querySelectorAll('#browser-store__table tbody tr')].map(tr => [...tr.cells].map(td => td.innerText))"
    )
    return {row[0]: row for row in rows}


def found_on_load(page) -> dict[str, str]:
    return {kind: row[3] for kind, row in survival_table(page).items()}


def write_store(page, kind: str, rows: int, expected: str, timeout: float = 30_000) -> None:
    choose(page, "browser-store__target", kind)
    choose(page, "browser-store__rows", rows)
    page.click("#browser-store__write")
    verdict = page.locator("#browser-store__verdict-box")
    expect(verdict).to_contain_text(expected, timeout=timeout)
    if kind != "memory":
        expect(verdict).to_contain_text(f"browser-store__{kind}")


def held(page, kind: str) -> str:
    return page.locator(f"#browser-store__{kind}-view .bs-facts").get_attribute("data-rows")


def test_browser_store_survives_as_claimed_and_reports_the_quota(embedded_site, new_page, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page, problems = open_page(new_page, embedded_site, "browser-store", context)
        write_store(page, "session", 1_000, "Persisted.")
        write_store(page, "local", 1_000, "Persisted.")
        write_store(page, "memory", 1_000, "Written to page memory")
        wait_until(lambda: held(page, "memory") == "1000", 20, message="the memory store's consumer")

        reload_when_idle(page)
        found = found_on_load(page)
        assert "1,000 rows" in found["session"] and "1,000 rows" in found["local"], found
        assert found["memory"] == "empty", found
        for kind, rows in (("session", "1000"), ("local", "1000"), ("memory", "0")):
            wait_until(
                lambda kind=kind, rows=rows: held(page, kind) == rows, 20, message=f"{kind} to hold {rows} rows after reload"
            )

        other, other_problems = open_page(new_page, embedded_site, "browser-store", context)  # a new tab, same browser
        found = found_on_load(other)
        assert found["session"] == "empty" and "1,000 rows" in found["local"], found
        other.close()

        # Past the quota: dcc.Store's setItem throws, nothing is saved, and the page says so.
        write_store(page, "local", 600_000, "Quota exceeded", timeout=120_000)
        verdict = page.locator("#browser-store__verdict-box")
        expect(verdict).to_have_class("bs-verdict alert alert-danger")
        expect(verdict).to_contain_text("NOT persisted")
        expect(verdict).to_contain_text("the previous value (1,000 rows")
        wait_until(lambda: held(page, "local") == "600000", 60, message="the in-memory copy of the 600,000-row write")
        # The card of that store says its rows are only in page memory, not in localStorage.
        expect(page.locator("#browser-store__local-note .bs-not-persisted")).to_contain_text(
            "Only in this page's memory: localStorage refused these 600,000 rows"
        )
        expect(page.locator("#browser-store__session-note")).to_be_empty()
        reload_when_idle(page)
        assert "1,000 rows" in found_on_load(page)["local"], "localStorage should still hold the previous, small value"

        # Data edited in the browser is validated by the consumer: a clear alert, no 500.
        page.evaluate(
            "() => localStorage.setItem('browser-store__local',"
            " JSON.stringify({rows: 5, kept: 1, region: 'north', frame: {columns: 'oops', data: []}}))"
        )
        reload_when_idle(page)
        expect(page.locator("#browser-store__local-view .bs-rejected")).to_contain_text("columns")

        # "Clear all three" leaves no stale verdict behind.
        write_store(page, "session", 1_000, "Persisted.")
        page.click("#browser-store__clear")
        verdict = page.locator("#browser-store__verdict-box")
        expect(verdict).to_contain_text("Cleared.")
        expect(verdict).not_to_contain_text("Persisted")
        expect(verdict).to_have_class("bs-verdict alert alert-secondary")
        for kind in ("memory", "session", "local"):
            wait_until(lambda kind=kind: held(page, kind) == "0", 20, message=f"{kind} to be empty after Clear")
        assert page.evaluate("() => [sessionStorage.getItem('browser-store__session'), localStorage.getItem('browser-store__local')]") == [None, None]

        deliberate = [p for p in problems if QUOTA_ERROR in p]
        assert deliberate, "the quota write should have thrown in the browser"
        # A callback still in flight when the test reloads is aborted by the browser: not a failure.
        assert [p for p in problems if QUOTA_ERROR not in p and "net::ERR_ABORTED" not in p] == []
        assert other_problems == []
    finally:
        context.close()
