"""The frame around every page: the site navigation built from dash.page_registry, and the content.

From Bootstrap's lg breakpoint (992 px) up, the navigation is a fixed dark column on the left;
below it, a top bar whose menu a toggler opens and closes (and any navigation closes again).

Built per request in the visitor's language (i18n): the layout is a function, <html lang> is set by an
index hook, and the menu starts with the language switch (plain ?lang= links: a full page load).
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, clientside_callback, dcc, html

import i18n
from i18n import _, gettext, lazy_gettext

from .strategy import GROUPS

# The document's language as index_string() writes it; _document_language puts the visitor's in its place.
LANGUAGE = "en"
NAV_MENU = "lab-nav"
NAV_TOGGLE = "lab-nav-toggle"

# Dash's own index page, with the language on <html> (Dash's default has none).
_INDEX = """<!DOCTYPE html>
<html lang="{lang}">
    <head>
        {{%metas%}}
        <title>{{%title%}}</title>
        {{%favicon%}}
        {{%css%}}
    </head>
    <body>
        {{%app_entry%}}
        <footer>
            {{%config%}}
            {{%scripts%}}
            {{%renderer%}}
        </footer>
    </body>
</html>"""


def index_string(lang: str = LANGUAGE) -> str:
    return _INDEX.format(lang=lang)


_HTML_OPEN = '<html lang="{lang}">'


@dash.hooks.index()
def _document_language(index: str) -> str:
    """Dash's index hook (every app in the process, per request): <html lang> in the visitor's language.
    An index that is not index_string()'s is left alone."""
    return index.replace(_HTML_OPEN.format(lang=LANGUAGE), _HTML_OPEN.format(lang=i18n.tag()), 1)


# How the site stores its data, as the mode line names it (a mode not listed is shown as it is).
_MODES = {"embedded": lazy_gettext("embedded")}


def language_switch() -> html.Div:
    """English / 简体中文 / 日本語 under the brand, outside the phone menu (a reader of the Chinese or Japanese
    guide finds it without opening anything): each a ?lang= link on the current page, the visitor's marked
    aria-current."""
    here = i18n.current()
    links = [
        html.A(name, href=f"?{i18n.QUERY}={code}", lang=i18n.TAGS[code], hrefLang=i18n.TAGS[code],
               className="lab-lang-link", **({"aria-current": "true"} if code == here else {}))
        for code, name in i18n.LANGUAGES.items()
    ]
    return html.Div(links, className="lab-lang", role="group", **{"aria-label": _("Language")})


def _section(label: str, links: list) -> list:
    return [html.Div(label, className="lab-nav-section"), dbc.Nav(links, vertical=True, pills=True)]


# Pages under this prefix belong to the live app (live/server.py), served beside the Flask site: a link
# to one must load the page from the server, since a client-side route would stay in the Flask app.
LIVE_PREFIX = "/live/"


def _translated_title(text: str):
    """A registry title, "<page name> · Dash State Lab", as Dash's callable title: the name in the visitor's language
    (the records' titles and the N_-marked names are msgids), asked for each page view."""
    name, sep, site = text.rpartition(" · ")

    def title(**_path_variables) -> str:
        return f"{gettext(name)}{sep}{site}" if sep else gettext(text)

    return title


def localize_titles(registry) -> None:
    """Every registered page's <title> follows the visitor's language (Dash calls a callable title per view)."""
    for page in registry.values():
        if isinstance(page.get("title"), str):
            page["title"] = _translated_title(page["title"])


def _link(title: str, href: str, external: bool) -> dbc.NavLink:
    return dbc.NavLink(title, href=href, active="exact", external_link=external or href.startswith(LIVE_PREFIX))


def _strategy_pages() -> list[dict]:
    pages = sorted(dash.page_registry.values(), key=lambda p: (p.get("order") or 0, p["path"]))
    return [p for p in pages if p.get("strategy")]


def sidebar(mode: str, root: str | None = None, external: bool = False) -> html.Nav:
    """The navigation. `root` is the Flask site's "/" (default: the current app's); `external` makes every
    link a full page load, as the live app needs for links into the Flask site."""
    # The current app's own prefix: dash.get_relative_path reads the last-created app's (the live app, /live/).
    root = dash.get_app().get_relative_path("/") if root is None else root
    listed = _strategy_pages()
    sections = []
    for group, label in GROUPS.items():
        links = [_link(gettext(p["strategy"]["title"]), p["relative_path"], external) for p in listed if p["strategy"]["group"] == group]
        if links:
            sections += _section(label, links)
    tools = [p for p in dash.page_registry.values() if p.get("tool")]
    if tools:
        sections += _section(_("Measure"), [_link(gettext(p["name"]), p["relative_path"], external) for p in tools])
    mode_line = html.Div([dbc.Badge(str(_MODES.get(mode, mode)), color="info" if mode == "redis" else "secondary", className="me-1"), f"dash {dash.__version__}"],
                         className="lab-mode")
    toggler = html.Button(
        html.Span(className="navbar-toggler-icon"),
        id=NAV_TOGGLE,
        className="navbar-toggler lab-nav-toggle",
        type="button",
        n_clicks=0,
        **{"aria-controls": NAV_MENU, "aria-expanded": "false", "aria-label": _("Pages")},
    )
    return html.Nav(
        [
            html.Div(
                [
                    html.Div(
                        [
                            dcc.Link([html.Span("◧", className="lab-logo"), "Dash State Lab"], href=root, refresh=external,
                                     className="lab-brand"),
                            html.Div(_("sharing state between callbacks"), className="lab-tagline"),
                            language_switch(),
                        ]
                    ),
                    toggler,
                ],
                className="lab-nav-head",
            ),
            dbc.Collapse([html.Div(sections, className="lab-nav-links"), mode_line], id=NAV_MENU, is_open=False, navbar=True,
                         className="lab-nav"),
        ],
        className="lab-sidebar navbar navbar-expand-lg navbar-dark",
        **{"aria-label": _("Pages")},
    )


def layout(mode: str) -> html.Div:
    """The page frame; the Dash app's layout as a function of the request (app.py), so the navigation
    follows the visitor's language."""
    return html.Div([sidebar(mode), html.Main(dash.page_container, className="lab-main", id="lab-main")], className="lab-shell")


# Runs in the browser: opening the menu costs no request, and a click on a page link closes it.
NAV_TOGGLE_JS = f"""function (clicks, _path, open) {{
        const navigated = dash_clientside.callback_context.triggered_id !== "{NAV_TOGGLE}";
        const next = navigated ? false : !open;
        return [next, String(next)];
    }}"""


def nav_toggle(register, location_id: str) -> None:
    """Register the menu toggle with `register` (dash.clientside_callback for the Flask site, or the live
    app's own clientside_callback), closing the menu whenever `location_id`'s pathname changes."""
    register(
        NAV_TOGGLE_JS,
        Output(NAV_MENU, "is_open"),
        Output(NAV_TOGGLE, "aria-expanded"),
        Input(NAV_TOGGLE, "n_clicks"),
        Input(location_id, "pathname"),
        State(NAV_MENU, "is_open"),
        prevent_initial_call=True,
    )


nav_toggle(clientside_callback, "_pages_location")
