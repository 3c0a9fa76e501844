"""The live app: a second Dash app, on Dash's FastAPI backend, for the pages whose callbacks run over a
WebSocket. It lives under /live/ on the same port and origin as the Flask site (asgi.py routes to it).

It shares the Flask site's settings and stores (`settings`, `lab`: the very objects app.py made), its
navigation and look (components/shell.py, the site's assets folder), its security headers
(security.py, applied by asgi.py) and its error style ({"message": ...} with a 4xx status).

A live page module (listed in PAGES) calls `page(path, layout)` once and registers its callbacks on
`live` — `@live.callback(..., websocket=True)`, never the global `dash.callback`, which goes to
whichever app sets itself up first. The live app routes between its pages with its own dcc.Location.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable

from dash import ClientsideFunction, Dash, Input, Output, State, dcc, html

import app as site  # the Flask site first: its Dash app must exist before this one (see asgi.py)
import i18n
from components import shell
from config import PROJECT_DIR

log = logging.getLogger("statelab.live")

PREFIX = "/live/"
PAGES = ("live.pages.progress", "live.pages.shared")
LOCATION = "live-location"
CONTENT = "live-content"

settings = site.settings
lab = site.lab

# WebSocket limits, per worker process. The renderer sends a heartbeat every HEARTBEAT_MS and closes a
# socket on which nothing but heartbeats happened for INACTIVITY_MS; the server closes one on which the
# client sent nothing at all for settings.ws_idle_timeout (a vanished peer), and refuses a handshake beyond
# settings.ws_max_sockets open sockets (asgi.py). Sync WebSocket callbacks share WS_THREADS threads per process.
HEARTBEAT_MS = 30_000
INACTIVITY_MS = 300_000
WS_THREADS = 4

live = Dash(
    __name__,
    backend="fastapi",
    url_base_pathname=PREFIX,
    title="Dash State Lab",
    update_title=None,
    assets_folder=str(PROJECT_DIR / "assets"),
    suppress_callback_exceptions=True,
    index_string=shell.index_string(),
    # Same-origin handshakes only (the Origin's host must equal Host); behind a proxy that rewrites Host,
    # list the public origin(s) in STATELAB_WS_ORIGINS.
    websocket_allowed_origins=[o.strip() for o in settings.ws_origins.split(",") if o.strip()],
    websocket_inactivity_timeout=INACTIVITY_MS,
    websocket_heartbeat_interval=HEARTBEAT_MS,
    websocket_max_workers=WS_THREADS,
)
server = live.server
# Each request's language (?lang=, the cookie, Accept-Language) for <html lang> and the navigation, as on the Flask site.
server.add_middleware(i18n.LanguageMiddleware)

_PAGES: dict[str, Callable] = {}


def in_browser(ids, namespace: str, function: str, outputs, inputs, states=(), initial: bool = False) -> None:
    """A live page's clientside callback, window.dash_clientside[namespace][function] (assets/): no request.
    Dependencies are (name, prop) pairs within the page's ids, an output's third item its allow_duplicate."""
    live.clientside_callback(
        ClientsideFunction(namespace=namespace, function_name=function),
        *(Output(ids(name), *rest) for name, *rest in outputs),
        *(Input(ids(name), prop) for name, prop in inputs),
        *(State(ids(name), prop) for name, prop in states),
        prevent_initial_call=not initial,
    )


def page(path: str, layout: Callable[[], object]) -> None:
    """Register one live page: `path` like "/live/progress", `layout` called on each visit."""
    if not path.startswith(PREFIX) or path in _PAGES:
        raise ValueError(f"a live page path starts with {PREFIX} and is registered once: {path!r}")
    _PAGES[path.rstrip("/")] = layout


def _not_found(pathname: str) -> html.Div:
    return html.Div([html.H1("Not found", className="lab-title"),
                     html.P(f"No live page at {pathname[:200]}."), html.A("All pages", href="/")])


@live.callback(Output(CONTENT, "children"), Input(LOCATION, "pathname"))
def _route(pathname):
    path = (pathname if isinstance(pathname, str) else "").rstrip("/")
    layout = _PAGES.get(path)
    return layout() if layout else _not_found(path or PREFIX)


def load_pages(names=PAGES) -> list[str]:
    """Import each live page module that exists; one that does not yet is skipped with a log line."""
    loaded = []
    for name in names:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise  # the module exists but imports something missing: a real error
            log.warning("live page module %s does not exist yet; skipped", name)
            continue
        loaded.append(name)
    return loaded


def _layout() -> html.Div:
    return html.Div(
        [
            dcc.Location(id=LOCATION),
            shell.sidebar(settings.mode, root="/", external=True),
            html.Main(html.Div(id=CONTENT), className="lab-main", id="lab-main"),
        ],
        className="lab-shell",
    )


def finish() -> None:
    """Set the layout once every page is registered (the sidebar lists the Flask site's registry); it is
    built per request, so the navigation follows the visitor's language."""
    live.layout = _layout
    shell.nav_toggle(live.clientside_callback, LOCATION)
