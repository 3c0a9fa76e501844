"""The Flask site's registry entry for /live/shared (nav, home catalogue, strategy records).

The page itself is live/shared.py on the live app (Dash's FastAPI backend, WebSocket callbacks):
asgi.py sends /live/... to it, so this layout is only what a client-side route into the Flask app
would show — or what a server without the live app (STATELAB_SERVER=gthread or sync) answers.
"""

import dash
from dash import html

from strategies.live_shared import STRATEGY

dash.register_page(__name__, **STRATEGY.page_args())
META = STRATEGY.meta()


def layout(**_query):
    return html.Div(
        [
            html.H1(META["title"], className="lab-title"),
            html.P(["This page runs on the site's live app (WebSocket callbacks on Dash's FastAPI backend), "
                    "which only the ASGI server serves. Under it, ", html.A("this address", href=META["path"]),
                    " opens the live page (a full page load)."]),
            html.P(["This server runs without it. Start the site with ", html.Code("python app.py --server asgi"),
                    " (or STATELAB_SERVER=asgi) to try it."], className="small text-muted"),
        ]
    )
