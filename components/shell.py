"""The frame around every page: a sidebar built from dash.page_registry, and the content."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from .strategy import GROUPS, strategies


def sidebar(mode: str) -> html.Div:
    listed = strategies()
    sections = []
    for group, label in GROUPS.items():
        links = [dbc.NavLink(s["title"], href=dash.get_relative_path(f"/{s['slug']}"), active="exact") for s in listed if s["group"] == group]
        if links:
            sections += [html.Div(label, className="lab-nav-section"), dbc.Nav(links, vertical=True, pills=True)]
    tools = [p for p in dash.page_registry.values() if p.get("tool")]
    if tools:
        links = [dbc.NavLink(p["name"], href=p["relative_path"], active="exact") for p in tools]
        sections += [html.Div("Measure", className="lab-nav-section"), dbc.Nav(links, vertical=True, pills=True)]
    return html.Div(
        [
            dcc.Link([html.Span("◧", className="lab-logo"), "Dash State Lab"], href=dash.get_relative_path("/"), className="lab-brand"),
            html.Div("sharing state between callbacks", className="lab-tagline"),
            html.Div(sections, className="lab-nav", id="lab-nav"),
            html.Div([dbc.Badge(mode, color="info" if mode == "redis" else "secondary", className="me-1"), f"dash {dash.__version__}"], className="lab-mode"),
        ],
        className="lab-sidebar",
    )


def layout(mode: str) -> html.Div:
    return html.Div([sidebar(mode), html.Main(dash.page_container, className="lab-main")], className="lab-shell")
