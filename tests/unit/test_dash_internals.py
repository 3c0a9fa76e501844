"""The private parts of the installed Dash the site relies on, so a Dash upgrade that moves them is
noticed here, by name, instead of as a race under load.

app.py serialises Dash's one-time first-request set-up (its before_request functions `_setup_server`
and, with pages, `router_sync`): Dash marks each done before doing it, and a threaded worker's second
request would otherwise find no callbacks yet. app.py refuses to start when they are missing; this
checks the same names on a bare Dash app, without importing the site (which opens its store).
"""

from __future__ import annotations

from dash import Dash, html

# The names app.FIRST_REQUEST_SETUP wraps; keep the two in step.
FIRST_REQUEST_SETUP = {"_setup_server", "router_sync"}


def test_dash_still_registers_its_first_request_setup_under_the_names_app_py_wraps(tmp_path):
    app = Dash("dash-internals-probe", use_pages=True, pages_folder=str(tmp_path))
    app.layout = html.Div()
    names = {getattr(f, "__name__", "") for f in app.server.before_request_funcs.get(None, [])}
    missing = FIRST_REQUEST_SETUP - names
    assert not missing, (
        f"the installed Dash no longer registers {sorted(missing)} (found {sorted(names)}): find its "
        "first-request set-up and update app.FIRST_REQUEST_SETUP, or app.py will refuse to start"
    )

