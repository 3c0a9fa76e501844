"""The distributed backend: Redis, with bounded timeouts on every call."""

from __future__ import annotations

from collections.abc import Iterator
from functools import wraps
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .base import Store, StoreUnavailable

# Compare-and-act in one round trip, so a lock holder never deletes a lock that
# expired and was taken by someone else.
_COMPARE_DELETE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
_COMPARE_TOUCH = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"


def redact(url: str) -> str:
    """The URL without its password, fit for an error message."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _guarded(method):
    @wraps(method)
    def call(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise StoreUnavailable(
                f"Redis at {redact(self.url)} did not answer within {self.timeout:g} s ({exc})"
            ) from exc

    return call


def _ms(ttl: float) -> int:
    return max(1, int(ttl * 1000))


class RedisStore(Store):
    name = "redis"

    def __init__(self, url: str, timeout: float = 1.0, namespace: str = "statelab:"):
        self.url = url
        self.timeout = timeout
        self.ns = namespace
        # No retries: a retry multiplies the timeout, and the site would rather say
        # "store unavailable" in one second than hang for several.
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=15,
        )
        self._cdel = self.client.register_script(_COMPARE_DELETE)
        self._ctouch = self.client.register_script(_COMPARE_TOUCH)

    def _k(self, key: str) -> str:
        return self.ns + key

    @_guarded
    def get(self, key):
        return self.client.get(self._k(key))

    @_guarded
    def set(self, key, value, ttl=None):
        self.client.set(self._k(key), bytes(value), px=_ms(ttl) if ttl else None)

    @_guarded
    def add(self, key, value, ttl=None):
        return bool(self.client.set(self._k(key), bytes(value), nx=True, px=_ms(ttl) if ttl else None))

    @_guarded
    def delete(self, key):
        return bool(self.client.delete(self._k(key)))

    @_guarded
    def incr(self, key, amount=1):
        return int(self.client.incrby(self._k(key), amount))

    @_guarded
    def touch(self, key, ttl):
        if ttl is None:
            return bool(self.client.persist(self._k(key))) or bool(self.client.exists(self._k(key)))
        return bool(self.client.pexpire(self._k(key), _ms(ttl)))

    @_guarded
    def compare_delete(self, key, expected):
        return bool(self._cdel(keys=[self._k(key)], args=[expected]))

    @_guarded
    def compare_touch(self, key, expected, ttl):
        return bool(self._ctouch(keys=[self._k(key)], args=[expected, _ms(ttl)]))

    @_guarded
    def scan(self, prefix) -> Iterator[str]:
        pattern = self._k(_glob_escape(prefix)) + "*"
        cut = len(self.ns)
        return iter([k.decode()[cut:] for k in self.client.scan_iter(match=pattern, count=1000)])

    @_guarded
    def size(self, key):
        return int(self.client.strlen(self._k(key)))

    @_guarded
    def bytes_held(self, prefix=""):
        keys = [self._k(k) for k in self.scan(prefix)]
        total = 0
        for start in range(0, len(keys), 500):
            pipe = self.client.pipeline(transaction=False)
            for key in keys[start : start + 500]:
                pipe.strlen(key)
            total += sum(int(n) for n in pipe.execute())
        return total

    # The capped log as a stream: XADD trims to MAXLEN in the same call, so it never grows past cap.
    @_guarded
    def log_append(self, name, value, cap, ttl=None):
        key = self._k(f"log:{name}")
        pipe = self.client.pipeline(transaction=False)
        pipe.xadd(key, {b"v": bytes(value)}, maxlen=max(1, cap), approximate=False)
        if ttl:
            pipe.pexpire(key, _ms(ttl))
        pipe.execute()

    @_guarded
    def log_read(self, name):
        return [fields[b"v"] for _id, fields in self.client.xrange(self._k(f"log:{name}")) if b"v" in fields]

    @_guarded
    def log_clear(self, name):
        self.client.delete(self._k(f"log:{name}"))

    @_guarded
    def ping(self):
        self.client.ping()

    def close(self):
        self.client.close()


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)
