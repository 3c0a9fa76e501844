"""Where each strategy comes from: the source texts the site was built from, named and linked.

The strategy pages list "seeds" by number (000 … 004); a visitor cannot know what that means.
Each number here is one text, shipped with the site under assets/sources/ exactly as found, in
the language it was written in, beside the original it translates or writes up.
"""

from __future__ import annotations

from dataclasses import dataclass

import dash
import dash_bootstrap_components as dbc
from dash import html

from i18n import N_, _, gettext

from .sentence import inline

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


def href(source: Source) -> str:
    # The current app's own prefix: dash.get_asset_url reads the last-created app's (the live app, /live/).
    return dash.get_app().get_asset_url(f"sources/{source.file}")


def label(number: str) -> str:
    """'seed 003' in words: which text, which guide, which language."""
    s = SOURCES[number]
    return _("source %(number)s, %(language)s, %(guide)s", number=s.number, language=gettext(s.language), guide=s.guide)


def link(source: Source) -> html.A:
    # The title is in the text's own language: say so to the browser and to screen readers.
    return html.A(source.title, href=href(source), lang=source.lang, hrefLang=source.lang, target="_blank", rel="noopener")


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
    items = []
    for n in numbers:
        s = SOURCES[n]
        if s.original and s.lang != "en":
            original = html.A(_("the English original on dash.plotly.com"), href=s.original, target="_blank", rel="noopener")
            text = inline(_("{title}, {what} — translating {original}."), title=link(s), what=gettext(s.what), original=original)
        else:
            text = inline(_("{title}, {what}."), title=link(s), what=gettext(s.what))
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
