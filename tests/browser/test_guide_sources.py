"""The home page's decision guide, and the source texts every "From the guides" page names and links."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from urllib.parse import urljoin

from markupsafe import escape
from playwright.sync_api import expect

import strategies
from components import sources

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = json.loads((ROOT / "docs" / "bench" / "default" / "report.json").read_text())
SCALE_OUT = json.loads((ROOT / "docs" / "bench" / "scale-out" / "report.json").read_text())


def at_10k(report: dict, slug: str) -> dict:
    return next(r for r in report["results"] if r["strategy"] == slug and r["rows"] == 10_000)


def test_the_decision_guide_answers_the_four_cases_with_measured_figures(embedded_site, new_page):
    page, problems = new_page()
    page.goto(embedded_site.url + "/")
    guide = page.locator("#home-guide")
    expect(guide).to_contain_text("Which one should I use?")
    rows = {
        "500 MB": ("global-variable", "copy"),
        "50 MB of data per user": ("serverside", "redis"),
        "2 minutes": ("background", "redis"),
        "Several web hosts": ("cache-signal", "redis"),
    }
    for case, (slug, across) in rows.items():
        row = guide.locator("tbody tr", has_text=case)
        expect(row).to_have_count(1)
        expect(row).to_have_attribute("data-slug", slug)
        expect(row.locator("[data-across]")).to_have_attribute("data-across", across)
    # The figures are the committed reference runs' own numbers, not text written by hand.
    noop, glob = at_10k(REFERENCE, "baseline-noop"), at_10k(REFERENCE, "global-variable")
    a = guide.locator("tbody tr", has_text="500 MB")
    expect(a).to_contain_text(f"{glob['latency_ms_p50']:,.0f} ms p50, against a {noop['latency_ms_p50']:,.0f} ms no-op")
    expect(a).to_contain_text("each gunicorn worker holds its own copy")
    b = guide.locator("tbody tr", has_text="50 MB of data per user")
    expect(b).to_contain_text(f"Serverside {at_10k(REFERENCE, 'serverside')['latency_ms_p50']:,.0f} ms p50")
    expect(b).to_contain_text("session cache keeps one copy per session")
    files = at_10k(SCALE_OUT, "session-files")
    d = guide.locator("tbody tr", has_text="Several web hosts")
    expect(d).to_contain_text(f"session files {files['stale_reads']} of {files['reads']} reads stale")
    assert files["stale_reads"] > 0, "the scale-out reference run should show session files failing across hosts"
    expect(d).to_contain_text("Set REDIS_URL on every host")
    # Every row has an across-hosts badge, and the page says where the figures come from.
    assert guide.locator("tbody tr").count() == guide.locator("tbody tr [data-across]").count() >= 4
    expect(guide).to_contain_text("docs/bench/scale-out")
    assert "unknown" not in guide.inner_text()
    assert problems == []


def test_each_guide_page_names_its_sources_and_links_them_in_their_language(embedded_site, new_page):
    page, problems = new_page()
    page.goto(embedded_site.url + "/cache-signal")
    card = page.locator("#cache-signal__sources")
    expect(card).to_contain_text("“From the guides” means")
    expect(card).to_contain_text("“Sharing data between callbacks” and “flask-caching + Redis”")
    record = strategies.by_slug("cache-signal")
    for number in ("000", "002", "004"):
        link = card.locator(f"[data-source='{number}'] a[hreflang]")
        source = sources.SOURCES[number]
        passage = sources.passage(number, record.passages[number])
        expect(link).to_have_attribute("lang", source.lang)
        expect(link).to_have_text(source.title)
        # The link names the passage the page demonstrates, on the site's page of the text (components/sources_page.py).
        expect(link).to_have_attribute("href", f"/sources/{number}#{passage.anchor}")
        with urllib.request.urlopen(embedded_site.url + link.get_attribute("href"), timeout=30) as response:
            assert response.status == 200
            assert "text/html" in response.headers["Content-Type"] and "charset=utf-8" in response.headers["Content-Type"].lower()
            assert "Content-Security-Policy" in response.headers
            body = response.read().decode("utf-8")
        assert f'<html lang="{source.lang}">' in body and f'id="{passage.anchor}"' in body
        assert str(escape(passage.text)) in body
    # An English visitor: none of these texts is English, so the first line links the original on dash.plotly.com.
    expect(page.locator("#cache-signal__read-passage a")).to_have_attribute("href", "https://dash.plotly.com/sharing-data-between-callbacks")
    # A Chinese visitor reads the Chinese text's passage, which the page shows highlighted as the URL's target.
    page.goto(embedded_site.url + "/cache-signal?lang=zh")
    read = page.locator("#cache-signal__read-passage a")
    target = sources.passage("000", record.passages["000"]).anchor
    expect(read).to_have_attribute("href", f"/sources/000#{target}")
    page.goto(embedded_site.url + read.get_attribute("href"))
    expect(page.locator("html")).to_have_attribute("lang", "zh")
    expect(page.locator(":target")).to_have_attribute("id", target)
    expect(page.locator("header.chrome")).to_have_attribute("lang", "zh-Hans")
    # The whole text is still served as shipped, as UTF-8.
    whole = page.locator("header.chrome a[type='text/plain']")
    with urllib.request.urlopen(urljoin(page.url, whole.get_attribute("href")), timeout=30) as response:
        assert "charset=utf-8" in response.headers["Content-Type"].lower()
        assert response.read().decode("utf-8") == (ROOT / "assets" / "sources" / sources.SOURCES["000"].file).read_text(encoding="utf-8")
    # The Japanese text's title is its own first heading.
    assert sources.SOURCES["002"].title in (ROOT / "assets" / "sources" / sources.SOURCES["002"].file).read_text()
    # A page beyond the guides has no such card.
    page.goto(embedded_site.url + "/patch")
    page.wait_for_selector("h1.lab-title")
    expect(page.locator(".lab-sources-card")).to_have_count(0)
    # A callback still in flight when the test navigates away is aborted by the browser: not a failure.
    assert [p for p in problems if "net::ERR_ABORTED" not in p] == []
