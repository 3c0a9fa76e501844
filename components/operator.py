"""Who is the operator, and who is a visitor: decided on the server, from cookies the server set.

The operator holds a token (STATELAB_OPERATOR_TOKEN; `python app.py` mints one when it is unset
and prints a link once). Opening any page with ?operator=TOKEN sets an HttpOnly, SameSite=Strict
cookie holding an HMAC of the token — never the token itself — and redirects to the same page
without it, so the token does not stay in the address bar or the history. Callbacks recognise the
operator by recomputing that HMAC; nothing in a callback body can claim it.

Every browser also gets a visitor cookie: a session id signed with the lab secret, so a visitor's
benchmark run is kept for that browser only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlencode

import dash
import flask

import stores
from stores.sessions import InvalidSessionId

OPERATOR_COOKIE = "statelab_operator"
VISITOR_COOKIE = "statelab_visitor"
QUERY = "operator"
COOKIE_DAYS = 30


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "replace")).digest()


def cookie_value(token: str) -> str:
    """What the operator's cookie holds: an HMAC of the token, useless to anyone who reads it elsewhere."""
    return hmac.new(token.encode(), b"statelab operator cookie", hashlib.sha256).hexdigest()


def token_matches(given, token: str | None) -> bool:
    # Digests of both sides: compare_digest then sees equal lengths and never a non-ASCII str.
    return bool(token) and isinstance(given, str) and hmac.compare_digest(_digest(given), _digest(token))


def _request_cookies() -> dict:
    """The cookies of the request being answered; inside a background job, the ones Dash captured
    server-side from the request that started it."""
    if flask.has_request_context():
        return flask.request.cookies
    try:
        return dash.callback_context.cookies or {}
    except Exception:  # noqa: BLE001 - outside any callback there is no visitor at all
        return {}


def is_operator(cookies=None, lab: stores.Lab | None = None) -> bool:
    token = (lab or stores.current()).settings.operator_token
    cookies = _request_cookies() if cookies is None else cookies
    given = cookies.get(OPERATOR_COOKIE) if hasattr(cookies, "get") else None
    return bool(token) and token_matches(given, cookie_value(token))


def visitor_id(cookies=None, lab: stores.Lab | None = None) -> str | None:
    """This browser's signed visitor id, or None when it has none (or a forged one)."""
    lab = lab or stores.current()
    cookies = _request_cookies() if cookies is None else cookies
    given = cookies.get(VISITOR_COOKIE) if hasattr(cookies, "get") else None
    if not isinstance(given, str):
        return None
    try:
        return lab.check_session(given)
    except (InvalidSessionId, stores.StoreError):
        return None


def ensure_token(settings, url: str):
    """(settings with an operator token, the line to print once or None when the token was given)."""
    if settings.operator_token:
        return settings, None
    token = secrets.token_urlsafe(24)
    note = (f"Operator link (publishes benchmark runs, resets telemetry; keep it to yourself): {url}/?{QUERY}={token}"
            "  — set STATELAB_OPERATOR_TOKEN to choose your own.")
    return settings.replace(operator_token=token), note


def install(server: flask.Flask, lab: stores.Lab) -> None:
    @server.before_request
    def _operator_link():
        if flask.request.method != "GET" or QUERY not in flask.request.args:
            return None
        rest = [(k, v) for k, v in flask.request.args.items(multi=True) if k != QUERY]
        response = flask.redirect(flask.request.path + (f"?{urlencode(rest)}" if rest else ""), code=303)
        token = lab.settings.operator_token
        if token_matches(flask.request.args.get(QUERY), token):
            response.set_cookie(OPERATOR_COOKIE, cookie_value(token), max_age=COOKIE_DAYS * 86400, httponly=True,
                                samesite="Strict", secure=flask.request.is_secure, path="/")
        return response

    @server.after_request
    def _visitor_cookie(response):
        if flask.request.method == "GET" and response.mimetype == "text/html" and visitor_id(lab=lab) is None:
            try:
                value = lab.new_session()
            except stores.StoreError:  # no secret readable: the page still loads, runs are refused
                return response
            response.set_cookie(VISITOR_COOKIE, value, max_age=COOKIE_DAYS * 86400, httponly=True, samesite="Lax",
                                secure=flask.request.is_secure, path="/")
        return response
