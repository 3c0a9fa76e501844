"""The url-state page: the link is the whole state — reload, Back, another user, a bad link."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

from tests.support import pick, wait_until

NS = "url-state__"


def query(page) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def shows(page, region: str, rows: str) -> str:
    """Wait for the consumers to show (region, rows); the summary table's text."""
    expect(page.locator(f"#{NS}verdict")).to_contain_text(f"{region}, {rows} rows")
    expect(page.locator(f"#{NS}table table")).to_contain_text("pears")
    return page.inner_text(f"#{NS}table")


def test_the_link_carries_the_state_through_reload_back_and_to_another_user(site, new_page):
    page, problems = new_page()
    router_calls = []
    page.on("request", lambda r: router_calls.append(r) if "_pages_content" in (r.post_data or "") else None)
    page.goto(f"{site.url}/{NS[:-2]}?region=east&rows=1000&fruit=pears")
    east = shows(page, "east", "1,000")
    expect(page.locator(f"#{NS}fruit input[value='pears']")).to_be_checked()
    assert page.locator(f"#{NS}link-problems").count() == 0
    expect(page.locator(f"#{NS}link")).to_have_text(page.url)

    # A choice rewrites the address in place: no reload, no second run of the page router.
    page.evaluate("window.__same_document = true")
    loads = len(router_calls)
    pick(page, f"{NS}region", "west")
    wait_until(lambda: query(page) == {"region": "west", "rows": "1000", "fruit": "pears"}, 10, 0.05, "the address to follow")
    west = shows(page, "west", "1,000")
    assert west != east
    assert page.evaluate("window.__same_document === true"), "the page was reloaded"
    assert len(router_calls) == loads, "the page router rebuilt the page for a change of choice"
    expect(page.locator(f"#{NS}link-bytes")).to_contain_text(f"{len(urlsplit(page.url).query)} bytes")

    # Reload: the state comes back from the address alone.
    page.reload()
    assert shows(page, "west", "1,000") == west
    # Back: the previous choice, rebuilt from the previous address.
    page.go_back()
    wait_until(lambda: query(page).get("region") == "east", 10, 0.05, "Back to the previous address")
    assert shows(page, "east", "1,000") == east

    # The same link in another browser (another user, no shared cookies or storage): the same view.
    other, other_problems = new_page()
    other.goto(page.url)
    assert shows(other, "east", "1,000") == east
    assert problems == [] and other_problems == [], "\n".join(problems + other_problems)


def test_a_bad_link_is_explained_and_the_usable_parts_still_apply(embedded_site, new_page):
    page, problems = new_page()
    page.goto(f"{embedded_site.url}/{NS[:-2]}?region=mars&rows=7&fruit=pears&debug=1")
    warning = page.locator(f"#{NS}link-problems")
    expect(warning).to_contain_text("region='mars' ignored: region must be one of north, south, east, west")
    expect(warning).to_contain_text("rows='7' ignored")
    expect(warning).to_contain_text("ignored the unknown parameter 'debug'")
    # The defaults for what was wrong, the link's fruit for what was right; the address is cleaned up.
    shows(page, "north", "10,000")
    expect(page.locator(f"#{NS}fruit input[value='pears']")).to_be_checked()
    wait_until(lambda: query(page) == {"region": "north", "rows": "10000", "fruit": "pears"}, 10, 0.05, "a clean address")
    assert problems == [], "\n".join(problems)
