"""The demo's own source, read from its module: the code shown is the code that runs."""

from __future__ import annotations

import inspect
import sys

import dash_bootstrap_components as dbc
from dash import dcc


def source_panel(module_name: str, title: str = "The code of this page") -> dbc.Accordion:
    source = inspect.getsource(sys.modules[module_name])
    lines = source.count("\n") + 1
    return dbc.Accordion(
        dbc.AccordionItem(
            dcc.Markdown(f"```python\n{source}\n```", className="lab-source"),
            title=f"{title} — {module_name.replace('.', '/')}.py, {lines} lines",
        ),
        start_collapsed=True,
        className="mb-4 lab-source-panel",
    )
