"""Every page at a phone, a tablet, a projector and a desktop width: nothing scrolls sideways, the
navigation never covers the content, the title is whole; below Bootstrap's lg the navigation is a
top bar whose menu opens and closes, from lg up a column whose dark background reaches the bottom."""

from __future__ import annotations

import pytest

from scripts.sitepages import open_settled, page_paths, settle

VIEWPORTS = {390: 844, 768: 1024, 1280: 720, 1440: 900}
LG = 992

# Rectangles in page coordinates, so a layout that only overlaps once scrolled is caught too.
MEASURE = """() => {
    const box = el => { const r = el.getBoundingClientRect();
        return {left: r.left + scrollX, top: r.top + scrollY, right: r.right + scrollX, bottom: r.bottom + scrollY,
                width: r.width, height: r.height}; };
    const nav = document.querySelector('nav.lab-sidebar'), main = document.querySelector('main.lab-main');
    const h1 = main.querySelector('h1');
    h1.scrollIntoView({block: 'center'});
    const r = h1.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + Math.min(r.width / 2, 40), r.top + r.height / 2);
    const demo = document.querySelector('.lab-demo-row');
    const cols = demo ? [...demo.children].map(box) : [];
    return {
        scrollWidth: document.documentElement.scrollWidth, innerWidth: innerWidth,
        nav: box(nav), main: box(main), h1: {left: r.left, right: r.right, clipped: h1.scrollWidth > h1.clientWidth + 1,
        covered: !(hit && (hit === h1 || h1.contains(hit))), text: h1.textContent},
        columns: cols,
    };
}"""


def overlap(a: dict, b: dict) -> float:
    width = min(a["right"], b["right"]) - max(a["left"], b["left"])
    height = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
    return max(0.0, width) * max(0.0, height)


def layout_problems(path: str, width: int, m: dict) -> list[str]:
    where = f"{path} at {width} px"
    found = []
    if m["scrollWidth"] > m["innerWidth"]:
        found.append(f"{where}: the document scrolls sideways ({m['scrollWidth']} > {m['innerWidth']} px)")
    if overlap(m["nav"], m["main"]) > 1:
        found.append(f"{where}: the navigation {m['nav']} overlaps the content {m['main']}")
    h1 = m["h1"]
    if h1["left"] < 0 or h1["right"] > m["innerWidth"] + 0.5 or h1["clipped"] or h1["covered"]:
        found.append(f"{where}: the title {h1['text']!r} is not fully visible: {h1}")
    if width < LG and len(m["columns"]) == 2:
        demo, side = m["columns"]
        if side["top"] < demo["bottom"] - 1:
            found.append(f"{where}: the demo and its instruments sit side by side below lg: {m['columns']}")
    return found


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_every_page_fits_the_screen(embedded_site, new_page, browser, width):
    height = VIEWPORTS[width]
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page, _ = new_page(context=context)
        url = embedded_site.url
        paths = page_paths(page, url)
        assert len(paths) >= 10, paths
        problems = []
        for path in paths:
            open_settled(page, url, path)
            problems += layout_problems(path, width, page.evaluate(MEASURE))
            if path == "/" and width >= 1280:
                # The catalogue's last column (measured figures) is on screen, not behind a scrollbar.
                table = page.evaluate("""() => { const w = document.querySelector('.lab-catalogue').parentElement;
                    return [w.scrollWidth, w.clientWidth]; }""")
                if table[0] > table[1] + 1:
                    problems.append(f"/ at {width} px: the catalogue is clipped ({table[0]} > {table[1]} px)")
        if width >= LG:
            problems += column_reaches_the_bottom(page, url, width, height)
        else:
            problems += menu_opens_and_closes(page, url, width)
        assert problems == [], "\n".join(problems)
    finally:
        context.close()


def column_reaches_the_bottom(page, url: str, width: int, height: int) -> list[str]:
    open_settled(page, url, "/")
    page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    nav = page.evaluate("() => { const r = document.querySelector('nav.lab-sidebar').getBoundingClientRect(); "
                        "return [r.top, r.bottom, scrollY]; }")
    if nav[2] <= 0:
        return [f"/ at {width} px: the home page is expected to be longer than the window"]
    if nav[0] > 0.5 or nav[1] < height - 0.5:
        return [f"/ at {width} px: scrolled to the end, the navigation column spans {nav[0]}..{nav[1]}, not 0..{height}"]
    if not page.locator("nav.lab-sidebar a[href='/benchmark']").is_visible():
        return [f"/ at {width} px: the navigation's links are hidden"]
    return []


def menu_opens_and_closes(page, url: str, width: int) -> list[str]:
    open_settled(page, url, "/")
    toggle, link = page.locator("#lab-nav-toggle"), page.locator("nav.lab-sidebar a[href='/hidden-div']")
    found = []
    if not toggle.is_visible() or link.is_visible() or toggle.get_attribute("aria-expanded") != "false":
        found.append(f"at {width} px the menu is not a closed toggler on arrival")
    toggle.click()
    link.wait_for(state="visible")
    if toggle.get_attribute("aria-expanded") != "true":
        found.append(f"at {width} px the open menu's toggler says aria-expanded={toggle.get_attribute('aria-expanded')}")
    link.click()
    page.wait_for_url(url + "/hidden-div")
    settle(page)
    link.wait_for(state="hidden")
    if toggle.get_attribute("aria-expanded") != "false":
        found.append(f"at {width} px the menu stays marked open after navigating")
    return found
