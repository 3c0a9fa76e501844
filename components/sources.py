"""Where each strategy comes from: the source texts the site was built from, named and linked to the passage.

The strategy pages list "seeds" by number (000 … 004); a visitor cannot know what that means.
Each number here is one text, shipped with the site under assets/sources/ exactly as found, in
the language it was written in, beside the original it translates or writes up. The site shows each
as a page of passages (components/sources_page.py, /sources/<number>), and a strategy's record names
the passage it demonstrates in each of its texts by a quote (`passages`): the card links that passage,
and first the one in the visitor's language when the page has one. Every record's quotes are checked
when this module is imported: a quote found nowhere, or twice, stops the site from starting.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
from dash import html

import i18n
import strategies
from i18n import N_, _, gettext

from . import passages
from .sentence import gap, inline, joined

TEXTS = Path(__file__).resolve().parents[1] / "assets" / "sources"
# The languages the texts are in and the visitor may read, named in English (marked: shown translated).
LANGUAGE_NAMES = {"en": N_("English"), "zh": N_("Chinese"), "ja": N_("Japanese")}

# The guides' own titles: proper names, shown as they are in every language (each text's title is in its language).
SHARING_GUIDE = "Sharing data between callbacks"
BACKGROUND_GUIDE = "Background callbacks"
CACHING_POST = "flask-caching + Redis"


@dataclass(frozen=True)
class Source:
    number: str
    guide: str  # which of the three source materials it is
    title: str  # the text's own title, in its own language
    lang: str  # BCP 47, for the link's lang / hreflang
    language: str  # the language's name, in English (marked: shown translated)
    what: str  # what kind of text it is (marked: shown translated)
    file: str  # under assets/sources/
    original: str | None  # the English original it translates, when there is one


SOURCES = {
    s.number: s
    for s in (
        Source("000", SHARING_GUIDE, "在回调函数间共享状态", "zh", N_("Chinese"),
               N_("a Chinese translation of Dash's guide"), "000-sharing-data-between-callbacks.zh.txt",
               "https://dash.plotly.com/sharing-data-between-callbacks"),
        Source("001", BACKGROUND_GUIDE, "后台回调", "zh", N_("Chinese"),
               N_("a Chinese translation of Dash's guide (a notebook)"), "001-background-callbacks.zh.txt",
               "https://dash.plotly.com/background-callbacks"),
        Source("002", SHARING_GUIDE, "コールバック(Callbacks)間で状態を共有する", "ja", N_("Japanese"),
               N_("a Japanese translation of an earlier version of Dash's guide"), "002-sharing-data-between-callbacks.ja.txt",
               "https://dash.plotly.com/sharing-data-between-callbacks"),
        Source("003", SHARING_GUIDE, "Sharing Data Between Callbacks within a Single Session", "en", N_("English"),
               N_("English notes on Dash's guide: globals, a file per session, dcc.Store, flask-caching"),
               "003-sharing-state-notes.en.txt", "https://dash.plotly.com/sharing-data-between-callbacks"),
        Source("004", CACHING_POST, "Python Dash十讲之10 - 数据缓存及信号发送", "zh", N_("Chinese"),
               N_("a Chinese blog post by LiangFan (2018): flask-caching on Redis plus a signal"), "004-flask-caching-and-redis.zh.txt",
               None),
    )
}


def page_path(number: str) -> str:
    """The path of a text's page on the Flask site (components/sources_page.py), without any prefix."""
    return f"/sources/{number}"


def text_passages(source: Source) -> tuple[passages.Passage, ...]:
    return passages.of_file(TEXTS / source.file)


@functools.cache
def passage(number: str, quote: str) -> passages.Passage:
    """The passage of text `number` that holds `quote`; passages.QuoteNotFound when none or several do."""
    if number not in SOURCES:
        raise passages.QuoteNotFound(f"no source text {number!r}: the texts are {sorted(SOURCES)}")
    return passages.locate(text_passages(SOURCES[number]), quote, where=f"source {number} ({SOURCES[number].file})")


def passage_href(number: str, quote: str | None) -> str:
    """/sources/<number>#p-<k>, the passage holding `quote` (None: the text's page), under the site's prefix."""
    # The current app's own prefix: dash.get_relative_path reads the last-created app's (the live app, /live/).
    path = dash.get_app().get_relative_path(page_path(number))
    return path if quote is None else f"{path}#{passage(number, quote).anchor}"


def check(records) -> None:
    """Every quote of every record found in exactly one passage of its text; raises on the first that is not."""
    for record in records:
        for number, quote in record.passages.items():
            try:
                passage(number, quote)
            except passages.QuoteNotFound as exc:
                raise passages.QuoteNotFound(f"strategies/records: strategy {record.slug!r}: {exc}") from None


def label(number: str) -> str:
    """'seed 003' in words: which text, which guide, which language."""
    s = SOURCES[number]
    return _("source %(number)s, %(language)s, %(guide)s", number=s.number, language=gettext(s.language), guide=s.guide)


def link(source: Source, quote: str | None = None) -> html.A:
    """The text's title, linking the passage that holds `quote` (else the text's page)."""
    target = passage_href(source.number, quote)
    # The title is in the text's own language: say so to the browser and to screen readers.
    return html.A(source.title, href=target, lang=source.lang, hrefLang=source.lang, target="_blank", rel="noopener")


def _chosen(numbers: list[str], visitor: str) -> tuple[Source, bool]:
    """Which text the card's first line links for a visitor reading `visitor`: one of the page's texts in that
    language; else, for English, the original on dash.plotly.com (True: link the original); else the first."""
    same = [SOURCES[n] for n in numbers if SOURCES[n].lang == visitor]
    if same:
        return same[0], False
    if visitor == "en":
        translated = next((SOURCES[n] for n in numbers if SOURCES[n].original), None)
        if translated is not None:
            return translated, True
    return SOURCES[numbers[0]], False


def read_line(meta: dict) -> html.P | None:
    """The card's first line: the passage in the visitor's language, or says which language the linked one is in."""
    numbers = [n for n in meta.get("seeds") or () if n in SOURCES]
    quotes = meta.get("passages") or {}
    if not numbers:
        return None
    visitor = i18n.current()
    source, original = _chosen(numbers, visitor)
    if original:
        text, target = _("Read the English original on dash.plotly.com"), source.original
    else:
        language = gettext(LANGUAGE_NAMES[source.lang])
        if source.lang == visitor:
            text = _("Read the passage in %(language)s", language=language)
        else:
            text = _("Read the passage in %(language)s (none of this page's source texts is in %(visitor)s)",
                     language=language, visitor=gettext(LANGUAGE_NAMES[visitor]))
        target = passage_href(source.number, quotes.get(source.number))
    return html.P(
        html.A(text, href=target, hrefLang="en" if original else source.lang, target="_blank", rel="noopener"),
        className="lab-sources-read fw-semibold",
        id=f"{meta['slug']}__read-passage",
        **{"data-source": "original" if original else source.number},
    )


def guides(numbers) -> list[str]:
    """The distinct source materials behind these numbers, in order."""
    return list(dict.fromkeys(SOURCES[n].guide for n in numbers if n in SOURCES))


def block(meta: dict) -> dbc.Card | None:
    """The "Where this comes from" card of a strategy page; None for a page beyond the source texts."""
    numbers = [n for n in meta.get("seeds") or () if n in SOURCES]
    if not numbers:
        return None
    named = ""
    for g in guides(numbers):
        quoted = _("“%(guide)s”", guide=g)
        named = quoted if not named else _("%(left)s and %(right)s", left=named, right=quoted)
    quotes = meta.get("passages") or {}
    items = []
    for n in numbers:
        s = SOURCES[n]
        title = link(s, quotes.get(n))
        if s.original and s.lang != "en":
            original = html.A(_("the English original on dash.plotly.com"), href=s.original, target="_blank", rel="noopener")
            text = inline(_("{title}, {what} — translating {original}."), title=title, what=gettext(s.what), original=original)
        else:
            text = inline(_("{title}, {what}."), title=title, what=gettext(s.what))
        if n in quotes:
            # Which passage, in the text's own words: the quote the record chose.
            text = joined([*text, gap(), *inline(_("Passage %(number)d: {quote}", number=passage(n, quotes[n]).number),
                                                 quote=html.Q(quotes[n], lang=s.lang))])
        items.append(
            html.Li(
                [html.Span(_("Source %(number)s (%(language)s): ", number=s.number, language=gettext(s.language)),
                           className="fw-semibold"), *text],
                **{"data-source": s.number},
            )
        )
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(_("Where this comes from"), className="h5"),
                read_line(meta),
                html.P(
                    _("“From the guides” means this strategy is one of those in %(guides)s. The site was built from these "
                      "texts, shipped with it as found, each in the language it was written in; their code uses Dash's old "
                      "APIs (dash_core_components, app.run_server), this page uses today's.", guides=named),
                    className="small",
                ),
                html.Ul(items, className="small mb-0 lab-sources"),
            ]
        ),
        className="lab-card mb-3 lab-sources-card",
        id=f"{meta['slug']}__sources",
    )


check(strategies.records())  # at import: a record's quote that names no single passage stops the site here
