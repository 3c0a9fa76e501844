"""flask-caching on the same backend as the store, with a JSON serializer.

Values are JSON, never pickle: a cache that another process can write to must not
be able to run code in ours (CVE-2021-33026).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from cachelib.serializers import JSONSerializer
from flask import Flask, current_app
from flask_caching import Cache
from flask_caching.backends.filesystemcache import FileSystemCache
from redis.backoff import NoBackoff
from redis.retry import Retry

from config import Settings


def cache_config(settings: Settings, default_timeout: int = 3600) -> dict:
    config = {
        "CACHE_DEFAULT_TIMEOUT": default_timeout,
        "CACHE_SERIALIZER": JSONSerializer,
        "CACHE_KEY_PREFIX": "statelab:fc:",
    }
    if settings.redis_url:
        config.update(
            CACHE_TYPE="RedisCache",
            CACHE_REDIS_URL=settings.redis_url,
            CACHE_OPTIONS={
                "socket_timeout": settings.redis_timeout,
                "socket_connect_timeout": settings.redis_timeout,
                "retry": Retry(NoBackoff(), 0),
            },
        )
    else:
        config.update(
            CACHE_TYPE="stores.caching.JSONFileSystemCache",
            CACHE_DIR=str(settings.data_dir / "flask-cache"),
            CACHE_THRESHOLD=2000,
        )
    return config


class JSONFileSystemCache(FileSystemCache):
    """FileSystemCache that is JSON from its first write.

    flask-caching sets CACHE_SERIALIZER only after the backend is built, and the
    backend's constructor already writes its entry count: with pickle, which every
    later JSON read then fails on.
    """

    serializer = JSONSerializer()


def make_cache(settings: Settings) -> Cache:
    """A flask-caching Cache, still to be bound with init_app(server)."""
    return Cache(config=cache_config(settings))


def bound_cache(app: Flask | None = None) -> Cache:
    """The flask_caching.Cache that `init_app` bound to app (default: the current app).

    flask-caching registers itself as app.extensions["cache"] = {Cache: backend}; reading
    it there lets a page use the app's cache without importing app.py (a circular import).
    """
    app = app or current_app
    caches = app.extensions.get("cache") or {}
    if not caches:
        raise RuntimeError("no flask-caching Cache is bound to this app: call cache.init_app(server) first")
    return next(iter(caches))


def memoize(timeout: int | None = None):
    """Cache.memoize for a function defined at import time, bound to the app's cache at its first call.

    The result is the memoized function plus `.cached(*args)` (is a value stored for these
    arguments?) and `.forget(*args)`.
    """

    def decorate(fn):
        bound: dict[Cache, Callable] = {}

        def memoized() -> Callable:
            cache = bound_cache()
            if cache not in bound:
                bound[cache] = cache.memoize(timeout=timeout)(fn)
            return bound[cache]

        @functools.wraps(fn)
        def call(*args, **kwargs):
            return memoized()(*args, **kwargs)

        def cached(*args, **kwargs) -> bool:
            memo = memoized()
            return bool(bound_cache().cache.has(memo.make_cache_key(memo.uncached, *args, **kwargs)))

        def forget(*args, **kwargs) -> None:
            bound_cache().delete_memoized(memoized(), *args, **kwargs)

        call.cached, call.forget = cached, forget
        return call

    return decorate
