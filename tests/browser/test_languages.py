"""Every registered page in 简体中文 and 日本語 (?lang=zh|ja): <html lang> follows the choice, the page loads
with no console error, and the main content's visible text holds no English sentence of three or more words
outside code and quotations of the source texts (<q>: their own words, some English even in the Japanese
text; allow-listed names aside; text an element declares English with lang="en" is a proper name);
and a callback's message — a refused session id — arrives in the chosen language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages import pofile

from i18n import CATALOGS
from scripts.sitepages import page_paths, settle
from tests.support import wait_js

ROOT = Path(__file__).resolve().parents[2]

TAGS = {"zh": "zh-Hans", "ja": "ja"}
# Names that stay as written in every language, several words long.
ALLOWED = re.compile(r"Dash State Lab|Sharing data between callbacks|Background callbacks|flask-caching \+ Redis|"
                     r"Plotly Dash|Arrow IPC|Web Worker", re.I)
ENGLISH = re.compile(r"\b[A-Za-z][a-z'’]+(?:[ ,;:]+[A-Za-z][a-z'’]*){2,}")

# The visible text of the main content, outside code, quotations, the source panel and anything declared another language.
VISIBLE_TEXT = """() => {
    const main = document.querySelector('#lab-main') || document.querySelector('main');
    const out = [];
    const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const el = node.parentElement;
        if (!el || !node.textContent.trim()) continue;
        if (el.closest('code, pre, q, blockquote, script, style, .lab-source-panel, [aria-hidden="true"]')) continue;
        const declared = el.closest('[lang]');
        if (declared && declared.getAttribute('lang') !== document.documentElement.lang) continue;
        if (!el.getClientRects().length) continue;  // not shown
        out.push(node.textContent.trim());
    }
    return out;
}"""


def english_in(texts: list[str]) -> list[str]:
    return [t for t in texts if ENGLISH.search(ALLOWED.sub(" ", t))]


@pytest.mark.parametrize("lang", sorted(TAGS))
def test_every_page_reads_in_the_chosen_language(embedded_site, new_page, lang):
    page, problems = new_page()
    paths = page_paths(page, embedded_site.url)
    assert len(paths) >= 10, paths
    found = {}
    for path in paths:
        page.goto(f"{embedded_site.url}{path}?lang={lang}")
        settle(page)
        assert page.get_attribute("html", "lang") == TAGS[lang], path
        english = english_in(page.evaluate(VISIBLE_TEXT))
        if english:
            found[path] = english
    assert found == {}, "\n".join(f"{path}: {texts}" for path, texts in found.items())
    # A callback still in flight when the test navigates away is aborted by the browser: not a failure.
    real = [p for p in problems if "net::ERR_ABORTED" not in p]
    assert real == [], "\n".join(real)


def _catalog(lang: str):
    with (ROOT / "translations" / CATALOGS[lang] / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return pofile.read_po(f)


@pytest.mark.parametrize("lang", sorted(TAGS))
def test_a_refused_session_id_is_explained_in_the_chosen_language(embedded_site, new_page, lang):
    # The words are the catalog's, so the test follows the translation instead of copying it.
    catalog = _catalog(lang)
    reason = catalog.get("session id has a bad signature: it was not issued by this server").string
    headline = catalog.get("Rejected session id").string
    assert reason and headline
    page, problems = new_page()
    page.goto(f"{embedded_site.url}/session-cache?lang={lang}")
    settle(page)
    held = page.inner_text("#session-cache__held")
    # The page's own forge button: a guessed uuid with a copied signature, then a fetch with it.
    page.click("#session-cache__forge")
    wait_js(page, "h => document.querySelector('#session-cache__held').textContent !== h", arg=held)
    with page.expect_response(lambda r: "_dash-update-component" in r.url and "session-cache__status" in (r.request.post_data or "")):
        page.click("#session-cache__fetch")
    page.wait_for_selector("#session-cache__status .alert-danger")
    message = page.inner_text("#session-cache__status")
    assert reason in message, message
    assert english_in([message]) == [], message
    assert problems == []


@pytest.mark.parametrize("lang", sorted(TAGS))
def test_the_document_title_follows_the_language(embedded_site, new_page, lang):
    catalog = _catalog(lang)
    page, _problems = new_page()
    for path, name in (("/benchmark", "Benchmark"), ("/session-cache", "Session cache")):
        page.goto(f"{embedded_site.url}{path}?lang={lang}")
        settle(page)
        expected = f"{catalog.get(name).string} · Dash State Lab"
        wait_js(page, "t => document.title === t", arg=expected, message=f"{path}'s title {expected!r}")
