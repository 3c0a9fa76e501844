"""The store layer every strategy builds on. Pages call this; never Redis or the disk.

`configure(settings)` is called once per process by app.py; pages reach the
configured layer through `current()`.
"""

from __future__ import annotations

import secrets

from config import Settings

from . import budget, codec, sessions, telemetry
from .base import CorruptValue, LockTimeout, Store, StoreError, StoreUnavailable
from .disk import DiskStore
from .redisstore import RedisStore, redact
from .singleflight import ComputeFailed, ComputeTimeout, SingleFlightError, single_flight

__all__ = [
    "ComputeFailed",
    "ComputeTimeout",
    "CorruptValue",
    "DiskStore",
    "Lab",
    "LockTimeout",
    "RedisStore",
    "SingleFlightError",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "budget",
    "codec",
    "configure",
    "current",
    "open_store",
    "sessions",
    "single_flight",
    "telemetry",
]


def open_store(settings: Settings) -> Store:
    if settings.redis_url:
        return RedisStore(settings.redis_url, timeout=settings.redis_timeout)
    return DiskStore(settings.data_dir / "store")


def check_reachable(settings: Settings, store: Store) -> None:
    """Fail at start-up, with what to do, when the configured backend is not there."""
    try:
        store.ping()
    except StoreUnavailable as exc:
        if settings.redis_url:
            raise StoreUnavailable(
                f"REDIS_URL={redact(settings.redis_url)} is not reachable ({exc.__cause__ or exc}): "
                "start redis-server there, or unset REDIS_URL to use the embedded store"
            ) from None
        raise


class Lab:
    """The configured store layer of this process."""

    def __init__(self, settings: Settings, store: Store | None = None):
        self.settings = settings
        self.store = store or open_store(settings)
        self._secret: bytes | None = settings.secret.encode() if settings.secret else None

    @property
    def secret(self) -> bytes:
        """Shared by every worker and host: from settings, else minted once in the store."""
        if self._secret is None:
            self.store.add("lab:secret", secrets.token_hex(32).encode())
            value = self.store.get("lab:secret")
            if value is None:
                raise StoreUnavailable("the session-signing secret could not be read back from the store")
            self._secret = value
        return self._secret

    def new_session(self) -> str:
        return sessions.mint(self.secret)

    def check_session(self, session_id) -> str:
        return sessions.validate(session_id, self.secret)

    def memo(self, key: str, compute, ttl: float | None = None) -> tuple[bytes, bool]:
        return single_flight(self.store, key, compute, ttl=ttl, timeout=self.settings.singleflight_timeout)

    def count(self, kind: str, slug: str, amount: int = 1) -> None:
        telemetry.count(self.store, kind, slug, amount)


_current: Lab | None = None


def configure(settings: Settings, store: Store | None = None) -> Lab:
    global _current
    _current = Lab(settings, store)
    telemetry.set_cap(budget.telemetry_cap(settings))
    return _current


def current() -> Lab:
    if _current is None:
        raise RuntimeError("the store layer is not configured: import app (or call stores.configure) first")
    return _current
