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


def mint(secret: bytes) -> str:
    raw = str(uuid.uuid4())
    return f"{raw}.{_sign(secret, raw)}"


def validate(session_id, secret: bytes) -> str:
    """The session id itself if this server minted it; InvalidSessionId otherwise."""
    if not isinstance(session_id, str):
        raise InvalidSessionId(f"session id must be a string, got {type(session_id).__name__}")
    if len(session_id) > MAX_LENGTH:
        raise InvalidSessionId(f"session id is {len(session_id)} characters long; at most {MAX_LENGTH} are valid")
    match = _FORM.match(session_id)
    if not match:
        raise InvalidSessionId("session id is not of the form <uuid4>.<signature>")
    raw, signature = match.groups()
    if not hmac.compare_digest(signature, _sign(secret, raw)):
        raise InvalidSessionId("session id has a bad signature: it was not issued by this server")
    return session_id


def short(session_id: str) -> str:
    """A short, display-safe form of a valid session id."""
    return session_id[:8]
