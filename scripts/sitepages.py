"""Walking every page of a running site in Chromium: the page list, waiting until a page has
settled, and axe-core. Shared by the layout and accessibility tests and scripts/screenshots.py."""

from __future__ import annotations

from pathlib import Path

from tests.support import wait_js

ROOT = Path(__file__).resolve().parents[1]
# Installed by scripts/test.sh (npm, into a git-ignored folder): the tests never download it.
AXE_JS = ROOT / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
AXE_INSTALL = "npm install --prefix .cache/npm axe-core@4.14.1"

# Dash marks a component whose callback is in flight with data-dash-is-loading; the renderer
# shows ._dash-loading until the layout arrived. A page is settled when neither is left.
_SETTLED = """() => document.querySelector('h1') !== null
    && document.querySelector('._dash-loading') === null
    && document.querySelector('[data-dash-is-loading="true"]') === null"""


def page_paths(page, url: str) -> list[str]:
    """Every page the site lists in its navigation (built from dash.page_registry), home first."""
    page.goto(url + "/")
    page.wait_for_selector(".lab-sidebar a[href]")
    hrefs = page.eval_on_selector_all(".lab-sidebar a[href]", "els => els.map(e => e.getAttribute('href'))")
    paths = []
    for href in hrefs:
        if href.startswith("/") and href not in paths:
            paths.append(href)
    return paths


def slug(path: str) -> str:
    """A page's name in file names: /live/shared -> live-shared, / -> home."""
    return path.strip("/").replace("/", "-") or "home"


def _wait_settled(page, timeout_ms: int) -> None:
    wait_js(page, _SETTLED, timeout=timeout_ms / 1000, message=f"{page.url} to settle")


# The live pages (live/server.py) poll or tick by design, /live/shared over HTTP every second, for as long
# as they are open: the network is never idle there, so on them settle waits for the first callbacks only.
LIVE_PREFIX = "/live/"


def settle(page, timeout_ms: int = 60_000) -> None:
    """Wait until the page's first callbacks have answered and (but on a live page) the network is quiet."""
    _wait_settled(page, timeout_ms)
    if LIVE_PREFIX in page.url:
        page.wait_for_load_state("load", timeout=timeout_ms)
        page.evaluate("() => document.fonts.ready.then(() => true)")
    else:
        page.wait_for_load_state("networkidle", timeout=timeout_ms)
    _wait_settled(page, timeout_ms)


def open_settled(page, url: str, path: str) -> None:
    page.goto(url + path)
    settle(page)


def axe_violations(page) -> list[dict]:
    """axe-core's violations on the page as it is now: [{id, impact, help, count, nodes: [selector], html: [...]}]."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    found = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(' ')), html: v.nodes.map(n => n.html.slice(0, 200)),
            count: v.nodes.length}));
    }""")
    return found
