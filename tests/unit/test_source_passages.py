"""The source texts' passages: every record's quotes name one passage, /sources/<number> shows the text with
each passage addressable, and a strategy page's "Where this comes from" card links the passage in the
visitor's language (components/passages.py, components/sources_page.py, components/sources.py)."""

from __future__ import annotations

import dataclasses
import re
from types import SimpleNamespace

import dash
import flask
import pytest
from dash import _get_app

import i18n
import strategies
from components import passages, sources, sources_page

WITH_SOURCES = [r for r in strategies.records() if r.seeds]


@pytest.fixture
def dash_app(request):
    """A bare Dash app for dash.get_app() (the card's links read its prefix), the previous one put back after."""
    before = getattr(_get_app, "APP", None)
    prefix = getattr(request, "param", "/")
    app = dash.Dash("source-passages-probe", url_base_pathname=prefix)
    yield app
    _get_app.APP = before


@pytest.fixture
def client() -> flask.testing.FlaskClient:
    site = flask.Flask("source-passages-site")
    # Registered first, as Dash's pages register theirs: the source pages must still win under /sources/.
    site.add_url_rule("/<path:path>", "catch_all", lambda path: "dash index")
    sources_page.install(site)
    return site.test_client()


# --- the records' quotes ---------------------------------------------------------------------------------------


def test_every_page_with_sources_names_a_passage_of_each():
    assert WITH_SOURCES, "no strategy record has seeds"
    for record in WITH_SOURCES:
        assert set(record.passages) == set(record.seeds), record.slug
        assert record.meta()["passages"] == record.passages


@pytest.mark.parametrize("record", WITH_SOURCES, ids=lambda r: r.slug)
def test_each_quote_is_in_exactly_one_passage_of_its_text(record):
    for number, quote in record.passages.items():
        text = (sources.TEXTS / sources.SOURCES[number].file).read_text(encoding="utf-8")
        assert text.count(quote) == 1, f"{record.slug}: {quote!r} is in source {number} {text.count(quote)} times"
        holding = [p for p in passages.split(text) if quote in p.text]
        assert len(holding) == 1, f"{record.slug}: {quote!r} in {[p.anchor for p in holding]} of source {number}"
        assert sources.passage(number, quote) == holding[0]


def test_a_quote_found_nowhere_or_twice_fails_loudly():
    with pytest.raises(passages.QuoteNotFound, match="in no passage"):
        sources.check([SimpleNamespace(slug="probe", passages={"003": "words that are in no text"})])
    with pytest.raises(passages.QuoteNotFound, match="found .* times"):
        sources.check([SimpleNamespace(slug="probe", passages={"003": "import dash"})])
    with pytest.raises(passages.QuoteNotFound, match="no source text"):
        sources.check([SimpleNamespace(slug="probe", passages={"999": "anything"})])


def test_a_record_gives_one_quote_per_seed_and_no_other():
    record = strategies.by_slug("global-variable")
    with pytest.raises(ValueError, match="one quote per seed"):
        dataclasses.replace(record, passages={"000": record.passages["000"]})
    with pytest.raises(ValueError, match="one quote per seed"):
        dataclasses.replace(record, passages={**record.passages, "004": "不同用户"})
    with pytest.raises(ValueError, match="non-empty"):
        dataclasses.replace(record, passages={n: " " for n in record.seeds})


# --- passages --------------------------------------------------------------------------------------------------


def test_passages_are_paragraphs_and_a_code_block_stays_whole():
    text = "Title\n\nfirst line\nsecond line\n   \nafter blanks\n```python\na = 1\n\nb = 2\n```\n\n``` never closed\n\nend"
    found = passages.split(text)
    assert [p.text for p in found] == ["Title", "first line\nsecond line", "after blanks", "```python\na = 1\n\nb = 2\n```",
                                      "``` never closed", "end"]
    assert [p.code for p in found] == [False, False, False, True, False, False]
    assert [p.anchor for p in found] == [f"p-{k}" for k in range(1, 7)]


def test_an_unclosed_fence_is_an_ordinary_line():
    found = passages.split("```python\nx = 1\n\ny = 2")
    assert [p.text for p in found] == ["```python\nx = 1", "y = 2"]
    assert not any(p.code for p in found)


# --- the page of a text ----------------------------------------------------------------------------------------


def test_a_text_page_is_in_the_texts_language_with_each_passage_addressable(client):
    record = strategies.by_slug("cache-signal")
    for number in record.seeds:
        source = sources.SOURCES[number]
        response = client.get(f"/sources/{number}")
        assert response.status_code == 200
        assert response.mimetype == "text/html"
        body = response.get_data(as_text=True)
        assert f'<html lang="{source.lang}">' in body
        target = sources.passage(number, record.passages[number])
        assert f'id="{target.anchor}"' in body
        assert body.count('class="passage') == len(sources.text_passages(source))
        assert source.title in body
        # The chrome is in the visitor's language (English here), linking back to the site and to the page.
        assert '<header class="chrome" lang="en">' in body and 'href="../"' in body
        assert 'href="../cache-signal">Cache' in body and f'href="#{target.anchor}"' in body
        # No inline script or style: the site's CSP applies as it stands.
        assert "<script" not in body and "<style" not in body and not re.search(r"<[^>]*\sstyle=", body)
        assert 'rel="stylesheet" href="source-text.css"' in body


def test_the_text_is_escaped(client, monkeypatch):
    body = client.get("/sources/001").get_data(as_text=True)
    assert "# Use Redis &amp; Celery if REDIS_URL set" in body and "Redis & Celery" not in body
    # A text with markup in it shows the markup as text.
    monkeypatch.setattr(sources, "text_passages", lambda source: passages.split('<script>alert("x")</script>\n\n<b>bold</b>'))
    body = client.get("/sources/003").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in body and "&lt;b&gt;bold&lt;/b&gt;" in body
    assert "<script" not in body and "<b>" not in body


def test_the_stylesheet_highlights_the_target_passage_and_keeps_code_as_written(client):
    response = client.get("/sources/source-text.css")
    assert response.status_code == 200 and response.mimetype == "text/css"
    css = response.get_data(as_text=True)
    assert ".passage:target" in css and "white-space: pre-wrap" in css


@pytest.mark.parametrize("path", ["/sources/999", "/sources/../x", "/sources/..%2Fx", "/sources/000/", "/sources/a/b",
                                  "/sources/00", "/sources/%00"])
def test_an_unknown_text_is_a_short_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True).startswith("No such source text.")


def test_render_refuses_what_is_not_a_text_number():
    for number in ("999", "../x", "", "000 ", None):
        with pytest.raises(sources_page.NoSuchText):
            sources_page.render(number)


# --- the card's links ------------------------------------------------------------------------------------------


def _find(node, wanted):
    """The first component under `node` with id `wanted`."""
    if getattr(node, "id", None) == wanted:
        return node
    children = getattr(node, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if hasattr(child, "to_plotly_json"):
            found = _find(child, wanted)
            if found is not None:
                return found
    return None


def _read_link(slug: str, language: str) -> tuple[str, str, str]:
    meta = strategies.by_slug(slug).meta()
    with i18n.speaking(language):
        card = sources.block(meta)
    line = _find(card, f"{slug}__read-passage")
    assert line is not None, f"{slug}: no read-the-passage line"
    return line.children.href, line.children.children, getattr(line, "data-source")


def _passage_href(slug: str, number: str) -> str:
    record = strategies.by_slug(slug)
    return f"/sources/{number}#{sources.passage(number, record.passages[number]).anchor}"


def test_a_zh_visitor_gets_a_chinese_texts_passage(dash_app):
    for record in WITH_SOURCES:
        chinese = [n for n in record.seeds if sources.SOURCES[n].lang == "zh"]
        href, text, number = _read_link(record.slug, "zh")
        if chinese:
            assert (href, number) == (_passage_href(record.slug, chinese[0]), chinese[0]), record.slug
            assert text == "Read the passage in Chinese"  # English msgids: no catalog compiled in this test
        else:  # e.g. session-files: only the English notes; the line says so
            assert href == _passage_href(record.slug, record.seeds[0])
            assert text == "Read the passage in English (none of this page's source texts is in Chinese)"


def test_an_en_visitor_gets_the_english_text_or_the_original(dash_app):
    assert _read_link("global-variable", "en") == (_passage_href("global-variable", "003"), "Read the passage in English", "003")
    href, text, number = _read_link("cache-signal", "en")  # 000, 002, 004: no English text among them
    assert (href, number) == ("https://dash.plotly.com/sharing-data-between-callbacks", "original")
    assert text == "Read the English original on dash.plotly.com"
    assert _read_link("background", "en")[0] == "https://dash.plotly.com/background-callbacks"


def test_a_ja_visitor_without_a_japanese_text_is_told_the_linked_ones_language(dash_app):
    assert _read_link("hidden-div", "ja")[::2] == (_passage_href("hidden-div", "002"), "002")
    href, text, number = _read_link("background", "ja")
    assert (href, number) == (_passage_href("background", "001"), "001")
    assert text == "Read the passage in Chinese (none of this page's source texts is in Japanese)"


def test_each_source_item_links_its_passage(dash_app):
    for record in WITH_SOURCES:
        card = sources.block(record.meta())
        items = card.children.children[-1].children
        assert [getattr(li, "data-source") for li in items] == list(record.seeds)
        for li, number in zip(items, record.seeds, strict=True):
            title = next(c for c in li.children if isinstance(c, dash.html.A) and c.lang == sources.SOURCES[number].lang)
            assert title.href == _passage_href(record.slug, number), record.slug


@pytest.mark.parametrize("dash_app", ["/lab/"], indirect=True)
def test_the_links_keep_the_apps_prefix(dash_app):
    href, _text, _number = _read_link("session-files", "en")
    assert href == "/lab" + _passage_href("session-files", "003")
