"""Accessible versions of components whose Dash props cannot carry a name (see assets/a11y.js)."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html


def progress(name: str, **props) -> html.Div:
    """A dbc.Progress (same props, same id for callbacks) whose bar screen readers announce as `name`."""
    return html.Div(dbc.Progress(**props), **{"data-progress-name": name})
