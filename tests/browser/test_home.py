"""The home catalogue shows what each strategy cost in a real run, and says which run."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest

from bench import report as reports
from components import bench_job, measured
from tests.callbacks import open_store


@pytest.fixture(scope="module")
def site(start_site):
    """A site of our own: this test writes the 'latest benchmark run' other tests may read."""
    return start_site(workers=2, celery=False)


def shown(page) -> dict[str, tuple[int, str]]:
    """slug -> (bytes per interaction, p50 ms as shown in data-ms) for every measured row."""
    cells = page.eval_on_selector_all(
        "tr[data-slug]",
        """rows => rows.map(r => [r.dataset.slug,
            r.querySelector('td[data-bytes]')?.dataset.bytes ?? null,
            r.querySelector('td[data-ms]')?.dataset.ms ?? null])""",
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

    # A run on this server (what the benchmark page keeps) takes over, and the caption says so.
    latest = copy.deepcopy(reference)
    latest["created"] = "2026-01-02T03:04:05"
    row = next(r for r in latest["results"] if r["strategy"] == "hidden-div" and r["rows"] == 10_000)
    row["request_bytes"] += 1234
    bench_job.save(SimpleNamespace(store=open_store(site)), latest)
    page.reload()
    assert caption.get_attribute("data-source") == "latest"
    assert "2026-01-02 03:04" in caption.inner_text()
    assert shown(page)["hidden-div"][0] == want["hidden-div"][0] + 1234
    assert problems == [], "\n".join(problems)
