"""The reports' one Jinja2 environment: templates/ (escaping every value by itself), the stylesheet, and the i18n
extension, so a template's `_("…")` is in the language being written (i18n: a Flask request's, else
`i18n.speaking(code)`'s, as `python -m bench --lang` sets it) and `html_lang()` its BCP 47 tag.

Newstyle gettext: `_("%(n)s runs", n=x)` fills (and escapes) its values itself, and always formats, so a
literal % in a template's message is written %%. `pybabel extract` reads the templates (babel.cfg, [jinja2: …])."""

from __future__ import annotations

from pathlib import Path

import jinja2

import i18n

from .l10n import general, number

TEMPLATES = Path(__file__).resolve().parent / "templates"
CSS = (TEMPLATES / "report.css").read_text()



def environment(directory: Path) -> jinja2.Environment:
    """The site's Jinja2 settings for the templates in `directory`: every value escaped, an unknown name an error,
    `_("…")` and `html_lang()` in the language being written. The source texts' pages use it too
    (components/sources_page.py)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(directory), autoescape=True, keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.i18n"])
    env.install_gettext_callables(gettext=i18n.gettext, ngettext=i18n.ungettext, newstyle=True)
    env.globals["html_lang"] = i18n.tag
    return env


ENV = environment(TEMPLATES)
# Numbers in the reader's digits: {{ x | num }} as reports.fmt.number, {{ x | g }} as "%g".
ENV.filters.update(num=number, g=general)


def render(name: str, **context) -> str:
    """templates/`name` with `context` and the stylesheet (as `css`)."""
    return ENV.get_template(name).render(css=CSS, **context)
