"""Every registered page loads in Chromium with no console error and no failed request."""


def sidebar_links(page) -> list[str]:
    # Page links only: the language switch's ?lang= links are in the sidebar too.
    page.wait_for_selector(".lab-sidebar a[href^='/']")
    return page.eval_on_selector_all(".lab-sidebar a[href^='/']", "els => els.map(e => e.getAttribute('href'))")


def test_every_page_renders_cleanly(site, new_page):
    page, problems = new_page()
    page.goto(site.url + "/")
    links = sidebar_links(page)
    # The brand leads home on the Flask site, whose layout is built per request beside the live app at /live/.
    assert page.get_attribute(".lab-brand", "href") == "/"
    strategies = [href for href in links if href not in ("/", "/benchmark")]
    assert len(strategies) >= 1
    # The home catalogue lists exactly the strategies the sidebar lists, both read from the registry.
    # The sidebar is the app's shell; the catalogue arrives with the page: wait for it.
    page.wait_for_selector(".lab-catalogue a")
    catalogue = page.eval_on_selector_all(".lab-catalogue a", "els => els.map(e => e.getAttribute('href'))")
    assert sorted(catalogue) == sorted(strategies)
    for href in links:
        page.goto(site.url + href)
        page.wait_for_selector("h1.lab-title")
        if not href.startswith("/live/"):  # a live page polls beside its socket: the network never idles
            page.wait_for_load_state("networkidle")
        assert page.title(), href
    # A callback still in flight when the test navigates away is aborted by the browser: not a failure.
    real = [p for p in problems if "net::ERR_ABORTED" not in p]
    assert real == [], "\n".join(real)
