"""The home catalogue shows what each strategy cost in a real run, and says which run: the committed
reference run, and beside it this server's run when it is comparable (same rows, same delay)."""

from __future__ import annotations

import copy
import re
from types import SimpleNamespace

import pytest

import reports
from components import measured
from runtime import bench_runs
from stores import open_store


@pytest.fixture(scope="module")
def site(start_site):
    """A site of our own: this test writes the 'latest benchmark run' other tests may read."""
    return start_site(workers=2, celery=False)


def shown(page, run: str = "reference") -> dict[str, tuple[int, str]]:
    """slug -> (bytes per interaction, p50 ms as shown in data-ms) for every measured row of a column."""
    cells = page.eval_on_selector_all(
        "tr[data-slug]",
        f"""rows => rows.map(r => [r.dataset.slug,
            r.querySelector('td[data-run="{run}"][data-bytes]')?.dataset.bytes ?? null,
            r.querySelector('td[data-run="{run}"][data-ms]')?.dataset.ms ?? null])""",
    )
    return {slug: (int(b), ms) for slug, b, ms in cells if b is not None}


def expected(report: dict) -> dict[str, tuple[int, str]]:
    chosen = measured.pick(report, "any")
    return {
        slug: (int(r["request_bytes"]) + int(r["response_bytes"]), "" if r["latency_ms_p50"] is None else f"{r['latency_ms_p50']}")
        for slug, r in chosen.by_strategy.items()
        if r.get("request_bytes") is not None
    }


def test_catalogue_shows_the_reference_run_then_the_latest_run_here(site, new_page):
    page, problems = new_page()
    page.goto(site.url + "/")
    caption = page.locator(".lab-measured-caption")
    assert caption.get_attribute("data-source") == "reference", "no run here yet: the committed reference run"
    reference = reports.load(measured.REFERENCE)
    assert int(caption.get_attribute("data-rows")) == 10_000
    on_page = shown(page)
    want = {slug: v for slug, v in expected(reference).items() if slug in on_page}
    assert len(want) >= 8, f"only {sorted(want)} of the reference run appear in the catalogue"
    assert on_page == want
    # The picture agrees with the numbers: the hidden div moves far more than the key-only store.
    assert on_page["hidden-div"][0] > 10 * on_page["serverside"][0]
    assert "in the browser" in page.inner_text('tr[data-slug="clientside"]')
    # The live pages are not in the standard run: their cells come from the push reference run.
    for slug in ("live-shared", "live-progress"):
        cell = page.inner_text(f'tr[data-slug="{slug}"] td[data-run="push"]')
        assert re.search(r"\d+ ms pushed.*polling: \d+ ms", cell, re.S), cell

    assert caption.get_attribute("data-server") == "no" and "No run on this server yet" in caption.inner_text()

    # The site's run on this server (the operator's, as the benchmark page keeps it) appears beside
    # the reference when it is comparable; the reference column stays as it was.
    latest = copy.deepcopy(reference)
    latest["created"] = "2026-01-02T03:04:05"
    row = next(r for r in latest["results"] if r["strategy"] == "hidden-div" and r["rows"] == 10_000)
    row["request_bytes"] += 1234
    store = open_store(site.settings)
    bench_runs.save(SimpleNamespace(store=store), latest)
    page.reload()
    assert caption.get_attribute("data-source") == "reference" and caption.get_attribute("data-server") == "yes"
    assert "2026-01-02 03:04" in caption.inner_text()
    assert shown(page) == want
    assert shown(page, "server")["hidden-div"][0] == want["hidden-div"][0] + 1234

    # Not comparable (another compute delay): not shown beside the reference, and the caption says why.
    latest["config"]["compute_delay"] = 2.0
    bench_runs.save(SimpleNamespace(store=store), latest)
    page.reload()
    assert caption.get_attribute("data-server") == "no" and "not comparable" in caption.inner_text()
    assert shown(page, "server") == {}
    assert problems == [], "\n".join(problems)
