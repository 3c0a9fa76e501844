"""What the Flask site answers at a live page's address: the live app (asgi.py) serves the real page, so this
shows only when a server without it (STATELAB_SERVER=gthread or sync) is running, or after a client-side route."""

from dash import html

from components.sentence import inline, joined
from components.strategy import localized
from i18n import _


def placeholder(meta: dict) -> html.Div:
    meta = localized(meta)
    return html.Div(
        [
            html.H1(meta["title"], className="lab-title"),
            html.P(joined([_("This page runs on the site's live app (WebSocket callbacks on Dash's FastAPI backend), "
                              "which only the ASGI server serves. "),
                            *inline(_("Under it, {link} opens the live page (a full page load)."),
                                    link=html.A(_("this address"), href=meta["path"]))])),
            html.P(inline(_("This server runs without it. Start the site with {command} (or STATELAB_SERVER=asgi) to try it."),
                          command=html.Code("python app.py --server asgi")), className="small text-muted"),
        ]
    )
