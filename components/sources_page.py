"""/sources/<number>: one source text as a page of passages, so that a strategy page can link the passage it
demonstrates (/sources/003#p-11).

The page is in the text's own language (<html lang>), the text split into passages (components/passages.py),
each an element with its id p-<k>, highlighted when it is the URL's target, code and preformatted text kept
as written (white-space: pre-wrap); around it, in the visitor's language, a link back to the site and the
strategy pages that demonstrate a passage of it. Rendered from a Jinja2 template that escapes every value
(components/templates/), its stylesheet served beside it: no inline script or style, so the site's
Content-Security-Policy (security.py) applies unchanged. Every link on the page is relative to it, so a
prefix the site is mounted under carries over. An unknown number is a short 404, never an error.
"""

from __future__ import annotations

from pathlib import Path

import flask

import i18n
import strategies
from i18n import _, gettext
from reports import templating

from . import sources

TEMPLATES = Path(__file__).resolve().with_name("templates")
_ENV = templating.environment(TEMPLATES)
STYLESHEET = "source-text.css"  # served at /sources/source-text.css, beside the pages that link it
blueprint = flask.Blueprint("source_texts", __name__)


class NoSuchText(LookupError):
    """The number names none of the source texts."""


def _citing(number: str) -> list[dict]:
    """The strategy pages that demonstrate a passage of text `number`, in page order, each with that passage."""
    out = []
    for record in strategies.records():
        quote = record.passages.get(number)
        if quote is None:
            continue
        found = sources.passage(number, quote)
        out.append({"href": ".." + record.page_path, "title": gettext(record.title), "anchor": found.anchor,
                    "label": _("passage %(number)d", number=found.number)})
    return out


def render(number: str) -> str:
    """The page of source text `number`; NoSuchText for any other string (a path, '999', '../x')."""
    source = sources.SOURCES.get(number) if isinstance(number, str) else None
    if source is None:
        raise NoSuchText(number)
    language = gettext(sources.LANGUAGE_NAMES[source.lang])
    return _ENV.get_template("source_text.html.j2").render(
        source=source,
        visitor=i18n.tag(),
        stylesheet=STYLESHEET,
        home="../",
        passages=sources.text_passages(source),
        words={
            "home": _("Back to Dash State Lab"),
            "about": _("Source %(number)s (%(language)s): ", number=source.number, language=language) + gettext(source.what),
            "how": _("The text as the site was built from it, kept as found, in %(language)s. Each passage has its own "
                     "link (§); the strategy pages link the passage they demonstrate.", language=language),
            "citing": _("Demonstrated on this site by:"),
            "whole": _("The whole text as a file"),
            "original": _("the English original on dash.plotly.com"),
            "passage": _("Link to this passage"),
        },
        citing=_citing(number),
        whole=f"../assets/sources/{source.file}",
    )


def not_found() -> flask.Response:
    message = _("No such source text. The site's source texts are %(numbers)s.", numbers=", ".join(sources.SOURCES))
    return flask.Response(message + "\n", status=404, mimetype="text/plain")


@blueprint.get(f"/sources/{STYLESHEET}")
def stylesheet():
    return flask.send_file(TEMPLATES / STYLESHEET, mimetype="text/css", max_age=3600)


# path: also "/sources/../x" and "/sources/a/b" reach this view and get its 404, not the Dash pages' catch-all.
@blueprint.get("/sources/<path:number>")
def text_page(number: str):
    try:
        return flask.Response(render(number), mimetype="text/html")
    except NoSuchText:
        return not_found()


def install(server: flask.Flask) -> None:
    """Serve the source texts' pages (and their stylesheet) on the Flask site."""
    server.register_blueprint(blueprint)
