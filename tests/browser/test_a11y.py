"""axe-core on every registered page: no critical or serious violation, and landmarks and heading
order too (axe rates those moderate, but they are how a screen-reader user finds their way)."""

from __future__ import annotations

import pytest

from scripts.sitepages import AXE_INSTALL, AXE_JS, axe_violations, open_settled, page_paths, slug
from tests.support import need

BLOCKING_IMPACTS = {"critical", "serious"}
BLOCKING_RULES = {"region", "heading-order", "landmark-one-main", "page-has-heading-one", "landmark-unique"}

# dcc.Dropdown (Dash 4.4.1, plotly/dash#3740) puts an aria-hidden <input> before its button so that
# Safari, which skips buttons when tabbing, can reach it; on focus the input hands focus straight to
# the button. axe flags it (aria-hidden-focus; axe-core#4165 discusses this very pattern). It is not
# waived on trust: hands_focus_on() checks that every such input on the page really does that.
DROPDOWN_PROXY = "dash-dropdown-focus-target"

HANDS_FOCUS_ON = """() => [...document.querySelectorAll('.dash-dropdown-focus-target')].map(proxy => {
    proxy.focus();
    const now = document.activeElement;
    const ok = now !== proxy && now === proxy.nextElementSibling && now.tagName === 'BUTTON';
    now.blur();
    return ok ? '' : (proxy.parentElement.id || proxy.parentElement.className) + ' keeps the focus';
}).filter(Boolean)"""


def blocking(violation: dict) -> bool:
    if violation["id"] == "aria-hidden-focus" and all(DROPDOWN_PROXY in html for html in violation["html"]):
        return False
    return violation["impact"] in BLOCKING_IMPACTS or violation["id"] in BLOCKING_RULES


@pytest.fixture
def axe_context(browser):
    # The site's Content-Security-Policy refuses inline scripts, and injecting axe is one.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    yield context
    context.close()


def test_every_page_passes_axe(embedded_site, new_page, axe_context):
    need(AXE_JS.exists(), f"axe-core is not installed: {AXE_INSTALL} (scripts/test.sh does it)")
    page, _ = new_page(context=axe_context)
    paths = page_paths(page, embedded_site.url)
    assert len(paths) >= 10, paths
    counts, failures = {}, []
    for path in paths:
        open_settled(page, embedded_site.url, path)
        found = axe_violations(page)
        counts[slug(path)] = {v["id"]: v["count"] for v in found}
        failures += [f"{path}: {v['id']} ({v['impact']}, {v['count']} nodes: {v['help']}) e.g. {v['nodes'][:3]}"
                     for v in found if blocking(v)]
        failures += [f"{path}: dropdown focus proxy {problem}" for problem in page.evaluate(HANDS_FOCUS_ON)]
    # The phone layout has controls of its own: the menu toggler, closed and open.
    page.set_viewport_size({"width": 390, "height": 844})
    open_settled(page, embedded_site.url, "/")
    for state in ("closed", "open"):
        if state == "open":
            page.click("#lab-nav-toggle")
            page.wait_for_selector("nav.lab-sidebar a[href='/benchmark']", state="visible")
        failures += [f"/ at 390 px, menu {state}: {v['id']} ({v['impact']}: {v['help']}) e.g. {v['nodes'][:3]}"
                     for v in axe_violations(page) if blocking(v)]
    # Printed with -s: the per-page counts the README quotes.
    for name, rules in counts.items():
        print(f"axe {name}: {sum(rules.values())} nodes {rules}")
    assert failures == [], "\n".join(failures)
