"""Session ids: a uuid4 minted by the server and signed, so a client cannot mint one.

Form: "<uuid4>.<signature>", the signature being 16 bytes of HMAC-SHA256 in hex.
A session id is a bearer token sent back as State; every use validates it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid

_FORM = re.compile(r"^([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})\.([0-9a-f]{32})$")
MAX_LENGTH = 69


class InvalidSessionId(ValueError):
    """A session id that this server did not mint."""


def _sign(secret: bytes, raw: str) -> str:
    return hmac.new(secret, raw.encode(), hashlib.sha256).hexdigest()[:32]


def parse_form(value, form: re.Pattern, max_length: int, error: type[Exception], what: str, shape: str,
               missing: str | None = None) -> tuple:
    """The groups of `form` in a token the browser sent back, or `error` saying what is wrong with it: none
    (`missing`, when given), not a string, longer than `max_length` (checked before the pattern runs), or not `shape`."""
    if missing is not None and not value:
        raise error(missing)
    if not isinstance(value, str):
        raise error(f"{what} must be a string, got {type(value).__name__}")
    if len(value) > max_length:
        raise error(f"{what} is {len(value)} characters long; at most {max_length} are valid")
    match = form.match(value)
    if not match:
        raise error(f"{what} is not of the form {shape}")
    return match.groups()


def mint(secret: bytes) -> str:
    raw = str(uuid.uuid4())
    return f"{raw}.{_sign(secret, raw)}"


def validate(session_id, secret: bytes) -> str:
    """The session id itself if this server minted it; InvalidSessionId otherwise."""
    raw, signature = parse_form(session_id, _FORM, MAX_LENGTH, InvalidSessionId, "session id", "<uuid4>.<signature>")
    if not hmac.compare_digest(signature, _sign(secret, raw)):
        raise InvalidSessionId("session id has a bad signature: it was not issued by this server")
    return session_id


def short(session_id: str) -> str:
    """A short, display-safe form of a valid session id."""
    return session_id[:8]
