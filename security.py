"""Security headers on every response: a Content-Security-Policy Dash runs under, and the rest.

The policy allows scripts only from the site itself plus the exact inline scripts Dash writes into
the page (its renderer start-up and one per clientside callback), by their SHA-256 hashes from
`Dash.csp_hashes()`. Measured in headless Chromium on every page (tests/integration/
test_serving.py): Dash 4.4.1, its components and Plotly need no 'unsafe-eval'; styles need
'unsafe-inline' because Plotly and the dropdowns insert <style> elements at run time, and images
need data: (Plotly's modebar icons, Bootstrap's inline SVGs).
"""

from __future__ import annotations

import threading

from dash import Dash
from dash import _callback as dash_callback
from starlette.datastructures import MutableHeaders

FIXED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # frame-ancestors in the policy is the modern form; X-Frame-Options covers older browsers.
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
}


def policy(script_hashes: list[str], live: bool = False) -> str:
    """The policy; `live` for the live app, whose renderer opens its WebSocket from a SharedWorker
    (dash-ws-worker.js, a script of the site's own). 'self' in connect-src covers ws: and wss: to the
    same host (CSP Level 3; checked in Chromium by tests/integration/test_live_serving.py)."""
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *script_hashes],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'self'"],
    }
    if live:
        directives["worker-src"] = ["'self'"]
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


class _Policy:
    """The header value, recomputed only when Dash has registered new inline scripts."""

    def __init__(self, app: Dash, live: bool = False):
        self.app = app
        self.live = live
        self.lock = threading.Lock()
        self.seen = None
        self.value = ""

    def current(self) -> str:
        # Clientside callbacks register their inline script when their page module is imported;
        # csp_hashes() moves them into the app's list, so the two lengths say when to recompute.
        seen = (len(self.app._inline_scripts), len(dash_callback.GLOBAL_INLINE_SCRIPTS))
        if seen != self.seen:
            with self.lock:
                # Sorted and unique: every worker sends the same header whatever its import order.
                self.value = policy(sorted(set(self.app.csp_hashes())), self.live)
                self.seen = (len(self.app._inline_scripts), len(dash_callback.GLOBAL_INLINE_SCRIPTS))
        return self.value


def install(app: Dash) -> None:
    csp = _Policy(app)

    @app.server.after_request
    def _security_headers(response):
        for name, value in FIXED_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Content-Security-Policy", csp.current())
        return response


class HeadersMiddleware:
    """The same headers on every HTTP answer of an ASGI app (the live app, whose FastAPI backend has no
    after_request hook that sees the response). WebSocket scopes pass through untouched."""

    def __init__(self, asgi_app, dash_app: Dash, extra: dict[str, str] | None = None):
        self.asgi_app = asgi_app
        self.csp = _Policy(dash_app, live=True)
        self.extra = extra or {}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.asgi_app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in {**FIXED_HEADERS, **self.extra}.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", self.csp.current())
            await send(message)

        return await self.asgi_app(scope, receive, send_with_headers)
