"""The server-side-state pages in a real browser on a real 4-worker site, embedded and Redis.

cache-signal: a value is computed once, whatever session or worker asks.
session-cache: each page load is its own session with its own data; forged ids are refused.
session-files: one server-named file per session; a typed "file name" is only explained.
"""

from __future__ import annotations

from stores import open_store, telemetry
from tests.support import pick, wait_js, wait_until


def verdict(page, prefix: str, region: str | None = None, before: str | None = None) -> str:
    """Wait for the page's verdict of the last fetch (optionally for region, and other than the
    verdict text `before`: a response arrives a moment before it is rendered); 'yes' when it computed."""
    selector = f"#{prefix}__verdict"
    wait_js(page,
        "([s, r, b]) => { const e = document.querySelector(s);"
        " return e && (!r || e.textContent.startsWith(r + ':')) && (b === null || e.textContent !== b); }",
        arg=[selector, region, before],
    )
    return page.get_attribute(selector, "data-computed")


def test_cache_signal_computes_each_value_once_for_every_session(site, new_page):
    store = open_store(site.settings)
    region = "west"
    per_region = f"cache-signal:computed:{region}"
    before = store.get_int(per_region)

    first, first_problems = new_page()
    first.goto(site.url + "/cache-signal")
    verdict(first, "cache-signal", "north")  # the default region, on load
    pick(first, "cache-signal__region", region)
    first_computed = verdict(first, "cache-signal", region)
    assert store.get_int(per_region) == max(before, 1)
    if before == 0:
        assert first_computed == "yes", "the first selection of a value anywhere must compute it"
    wait_js(first, "document.querySelectorAll('#cache-signal__graph-histogram2dcontour .main-svg').length > 0")
    total = telemetry.counter(store, "compute", "cache-signal")

    # A second browser context is a second session (own cookies, storage, connections).
    second, second_problems = new_page()
    second.goto(site.url + "/cache-signal")
    assert verdict(second, "cache-signal", "north") == "no"
    pick(second, "cache-signal__region", region)
    assert verdict(second, "cache-signal", region) == "no", "another session's selection must be a cache hit"
    assert "from the cache" in second.inner_text("#cache-signal__readout")
    for kind in ("scatter", "line", "histogram2d", "histogram2dcontour"):
        wait_js(second,
            f"(document.querySelector('#cache-signal__graph-{kind} .gtitle') || {{}}).textContent?.includes('rows')"
        )
        # Every chart says what its axes are.
        assert second.text_content(f"#cache-signal__graph-{kind} .xtitle") == "x"
        assert second.text_content(f"#cache-signal__graph-{kind} .ytitle").startswith("y")

    assert store.get_int(per_region) == max(before, 1), "the compute counter must stay at one per value"
    assert telemetry.counter(store, "compute", "cache-signal") == total
    assert telemetry.counter(store, "hit", "cache-signal") > 0 and telemetry.counter(store, "miss", "cache-signal") >= 1
    # The instruments show the same counter to the user.
    wait_until(lambda: "times computed" in second.inner_text(".lab-instruments"), 10, message="the per-region readout")
    assert first_problems == [] and second_problems == []


def click_and_wait(page, button: str, output: str) -> None:
    """Click a button and wait for the callback request that updates `output` to finish."""
    with page.expect_response(lambda r: "_dash-update-component" in r.url and output in (r.request.post_data or "")):
        page.click(button)


def _session_short(page) -> str:
    return page.inner_text(".lab-session-badge code")


def test_session_cache_keeps_each_sessions_own_data_and_refuses_forged_ids(site, new_page):
    store = open_store(site.settings)
    computes = lambda: telemetry.counter(store, "compute", "session-cache")  # noqa: E731

    alice, alice_problems = new_page()
    alice.goto(site.url + "/session-cache")
    alice_id = _session_short(alice)
    # On arrival the page already shows a result: the shared first view, nothing kept for this session.
    alice.wait_for_selector("#session-cache__status .lab-first-view")
    alice.wait_for_selector("#session-cache__table table")
    wait_js(alice, "(document.querySelector('#session-cache__graph .gtitle') || {}).textContent?.includes('points')")
    assert "holds nothing on the server yet" in alice.inner_text("#session-cache__status")
    before = computes()
    alice.click("#session-cache__fetch")
    assert verdict(alice, "session-cache") == "yes", "the first fetch runs the expensive step"
    alice.wait_for_selector("#session-cache__table table")
    wait_js(alice, "(document.querySelector('#session-cache__graph .gtitle') || {}).textContent?.includes('points')")
    # Two outputs fired by one click: the per-session lock lets only one of them compute.
    assert computes() == before + 1
    alice_computed_at = alice.get_attribute("#session-cache__about", "data-computed-at")

    first_verdict = alice.inner_text("#session-cache__verdict")
    click_and_wait(alice, "#session-cache__fetch", "session-cache__status")
    assert verdict(alice, "session-cache", before=first_verdict) == "no", "a later fetch reads the session's copy"
    assert alice.get_attribute("#session-cache__about", "data-computed-at") == alice_computed_at
    assert computes() == before + 1

    bob, bob_problems = new_page()
    bob.goto(site.url + "/session-cache")
    bob_id = _session_short(bob)
    assert bob_id != alice_id
    bob.wait_for_selector("#session-cache__status .lab-first-view")
    before = computes() - 1  # bob's first view may have been computed for his (random) region
    bob.click("#session-cache__fetch")
    assert verdict(bob, "session-cache") == "yes", "another session has its own data, computed for it"
    assert bob.get_attribute("#session-cache__about", "data-computed-at") != alice_computed_at
    assert bob_id in bob.inner_text("#session-cache__about") and alice_id not in bob.inner_text("#session-cache__about")
    assert computes() == before + 2
    wait_until(lambda: "sessions held" in bob.inner_text(".lab-instruments"), 10, message="the sessions-held readout")

    # The page's own forge button: a guessed uuid with a copied signature.
    alice.click("#session-cache__forge")
    wait_js(alice, "document.querySelector('#session-cache__held').textContent.includes('forged')")
    click_and_wait(alice, "#session-cache__fetch", "session-cache__status")
    alice.wait_for_selector("#session-cache__status .alert-danger")
    message = alice.inner_text("#session-cache__status")
    assert "Rejected session id" in message and "bad signature" in message
    # Anything else the browser could put there, set straight into the store.
    for forged in ("../../etc/passwd", alice_id, "x" * 5000):
        alice.evaluate("v => window.dash_clientside.set_props('session-cache__session', {data: v})", forged)
        click_and_wait(alice, "#session-cache__fetch", "session-cache__status")
        alice.wait_for_selector("#session-cache__status .alert-danger")
        assert "Rejected session id" in alice.inner_text("#session-cache__status")
    assert computes() == before + 2, "a forged id must never reach the expensive step"
    assert alice_problems == [] and bob_problems == []


def test_session_files_names_the_file_from_the_session_and_only_explains_typed_names(embedded_site, new_page):
    site = embedded_site
    root = site.settings.data_dir / "session-files"
    page, problems = new_page()
    page.goto(site.url + "/session-files")
    page.wait_for_selector("#session-files__seed-problems")
    short = _session_short(page)
    # A first result on arrival, before this session has a file.
    wait_js(page, "(document.querySelector('#session-files__graph .gtitle') || {}).textContent?.includes('points')")
    # The table has a callback of its own, which may answer after the graph's: wait for its answer, not its placeholder.
    wait_js(page, "document.querySelector('#session-files__table').textContent.includes('No file has been written')")
    assert "No file has been written for this session yet" in page.inner_text("#session-files__table")

    page.fill("#session-files__seed-name", "../../../../tmp/statelab-seed-escape.txt")
    # The default name escapes the folder too: wait for this name's answer, not the verdict's words.
    wait_js(page, "document.querySelector('#session-files__seed-joined').textContent.includes('statelab-seed-escape')")
    assert "escapes the folder" in page.inner_text("#session-files__seed-problems")
    # Paths are shown relative to the data directory; the server's own location is never shown.
    assert page.inner_text("#session-files__seed-joined") == "<data dir>/session-files/../../../../tmp/statelab-seed-escape.txt"
    assert str(site.settings.data_dir) not in page.content()
    page.fill("#session-files__seed-name", "/etc/passwd")
    wait_js(page, "document.querySelector('#session-files__seed-joined').textContent === '/etc/passwd'")
    assert "absolute" in page.inner_text("#session-files__seed-problems")
    assert page.inner_text("#session-files__seed-joined") == "/etc/passwd"

    page.click("#session-files__save")
    page.wait_for_selector("#session-files__written")
    page.wait_for_selector("#session-files__file-info")
    wait_js(page, "(document.querySelector('#session-files__graph .gtitle') || {}).textContent?.includes('points')")
    written = page.inner_text("#session-files__written")
    mine = [p for p in root.iterdir() if p.name.startswith(short)]
    assert len(mine) == 1 and mine[0].name in written and mine[0].suffix == ".arrow"
    assert all(p.name.endswith(".arrow") for p in root.iterdir()), "only server-named files in the folder"
    assert not (site.settings.data_dir.parent / "statelab-seed-escape.txt").exists()
    assert problems == []
