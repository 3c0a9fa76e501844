"""What the Flask site answers at a live page's address: the live app (asgi.py) serves the real page, so this
shows only when a server without it (STATELAB_SERVER=gthread or sync) is running, or after a client-side route."""

from dash import html


def placeholder(meta: dict) -> html.Div:
    return html.Div(
        [
            html.H1(meta["title"], className="lab-title"),
            html.P(["This page runs on the site's live app (WebSocket callbacks on Dash's FastAPI backend), "
                    "which only the ASGI server serves. Under it, ", html.A("this address", href=meta["path"]),
                    " opens the live page (a full page load)."]),
            html.P(["This server runs without it. Start the site with ", html.Code("python app.py --server asgi"),
                    " (or STATELAB_SERVER=asgi) to try it."], className="small text-muted"),
        ]
    )
