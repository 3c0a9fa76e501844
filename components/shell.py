"""The frame around every page: the site navigation built from dash.page_registry, and the content.

From Bootstrap's lg breakpoint (992 px) up, the navigation is a fixed dark column on the left;
below it, a top bar whose menu a toggler opens and closes (and any navigation closes again).
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, clientside_callback, dcc, html

from .strategy import GROUPS, strategies

# The one place the document's language is set; pages are English until translations arrive.
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


def _section(label: str, links: list) -> list:
    return [html.Div(label, className="lab-nav-section"), dbc.Nav(links, vertical=True, pills=True)]


def sidebar(mode: str) -> html.Nav:
    listed = strategies()
    sections = []
    for group, label in GROUPS.items():
        links = [dbc.NavLink(s["title"], href=dash.get_relative_path(f"/{s['slug']}"), active="exact") for s in listed if s["group"] == group]
        if links:
            sections += _section(label, links)
    tools = [p for p in dash.page_registry.values() if p.get("tool")]
    if tools:
        sections += _section("Measure", [dbc.NavLink(p["name"], href=p["relative_path"], active="exact") for p in tools])
    mode_line = html.Div([dbc.Badge(mode, color="info" if mode == "redis" else "secondary", className="me-1"), f"dash {dash.__version__}"],
                         className="lab-mode")
    toggler = html.Button(
        html.Span(className="navbar-toggler-icon"),
        id=NAV_TOGGLE,
        className="navbar-toggler lab-nav-toggle",
        type="button",
        n_clicks=0,
        **{"aria-controls": NAV_MENU, "aria-expanded": "false", "aria-label": "Pages"},
    )
    return html.Nav(
        [
            html.Div(
                [
                    html.Div(
                        [
                            dcc.Link([html.Span("◧", className="lab-logo"), "Dash State Lab"], href=dash.get_relative_path("/"),
                                     className="lab-brand"),
                            html.Div("sharing state between callbacks", className="lab-tagline"),
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
        **{"aria-label": "Pages"},
    )


def layout(mode: str) -> html.Div:
    return html.Div([sidebar(mode), html.Main(dash.page_container, className="lab-main", id="lab-main")], className="lab-shell")


# Runs in the browser: opening the menu costs no request, and a click on a page link closes it.
clientside_callback(
    """function (clicks, _path, open) {
        const navigated = dash_clientside.callback_context.triggered_id === "_pages_location";
        const next = navigated ? false : !open;
        return [next, String(next)];
    }""",
    Output(NAV_MENU, "is_open"),
    Output(NAV_TOGGLE, "aria-expanded"),
    Input(NAV_TOGGLE, "n_clicks"),
    Input("_pages_location", "pathname"),
    State(NAV_MENU, "is_open"),
    prevent_initial_call=True,
)
