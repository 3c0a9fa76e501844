"""The embedded backend: diskcache (SQLite) in the data directory, safe across processes."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import diskcache

from .base import Store, StoreUnavailable


class DiskStore(Store):
    name = "diskcache"

    def __init__(self, directory: Path, timeout: float = 10.0):
        self.directory = Path(directory)
        self.timeout = timeout
        self._cache = None
        self._pid = None

    @property
    def cache(self) -> diskcache.Cache:
        # A SQLite connection must not cross a fork: reopen in each process.
        if self._cache is None or self._pid != os.getpid():
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                self._cache = diskcache.Cache(
                    str(self.directory),
                    timeout=self.timeout,
                    # Expiry is ours to manage; never evict live data behind our back.
                    eviction_policy="none",
                )
            except OSError as exc:
                raise StoreUnavailable(
                    f"cannot open the store directory {self.directory}: {exc.strerror}"
                ) from exc
            self._pid = os.getpid()
        return self._cache

    def _busy(self, exc: Exception) -> StoreUnavailable:
        return StoreUnavailable(
            f"the disk store at {self.directory} stayed locked for {self.timeout:g} s ({exc})"
        )

    def get(self, key):
        try:
            value = self.cache.get(key)
        except diskcache.Timeout as exc:
            raise self._busy(exc) from exc
        if isinstance(value, int):  # counters are stored as SQLite integers
            return str(value).encode()
        return value

    def set(self, key, value, ttl=None):
        try:
            self.cache.set(key, bytes(value), expire=ttl)
        except diskcache.Timeout as exc:
            raise self._busy(exc) from exc

    def add(self, key, value, ttl=None):
        try:
            return self.cache.add(key, bytes(value), expire=ttl)
        except diskcache.Timeout as exc:
            raise self._busy(exc) from exc

    def delete(self, key):
        try:
            return self.cache.delete(key)
        except diskcache.Timeout as exc:
            raise self._busy(exc) from exc

    def incr(self, key, amount=1):
        try:
            return self.cache.incr(key, amount, default=0)
        except diskcache.Timeout as exc:
            raise self._busy(exc) from exc

    def touch(self, key, ttl):
        try:
            return self.cache.touch(key, expire=ttl)
        except diskcache.Timeout as exc:
            raise self._busy(exc) from exc

    def compare_delete(self, key, expected):
        try:
            with self.cache.transact():
                if self.cache.get(key) != expected:
                    return False
                return self.cache.delete(key)
        except diskcache.Timeout as exc:
            raise self._busy(exc) from exc

    def compare_touch(self, key, expected, ttl):
        try:
            with self.cache.transact():
                if self.cache.get(key) != expected:
                    return False
                return self.cache.touch(key, expire=ttl)
        except diskcache.Timeout as exc:
            raise self._busy(exc) from exc

    # diskcache has no prefix query in its public API; its table layout has been
    # stable across 5.x, so scans and sizes read it directly instead of loading values.
    def _rows(self, query: str, prefix: str):
        sql = f"SELECT {query} FROM Cache WHERE raw = 1 AND key >= ? AND key < ?" + (
            " AND (expire_time IS NULL OR expire_time > ?)"
        )
        try:
            return self.cache._sql(sql, (prefix, prefix + "\U0010ffff", time.time()))
        except diskcache.Timeout as exc:
            raise self._busy(exc) from exc

    def scan(self, prefix) -> Iterator[str]:
        return iter([row[0] for row in self._rows("key", prefix).fetchall()])

    def size(self, key):
        try:
            row = self.cache._sql(
                "SELECT COALESCE(LENGTH(value), 0) + size FROM Cache WHERE raw = 1 AND key = ?",
                (key,),
            ).fetchone()
        except diskcache.Timeout as exc:
            raise self._busy(exc) from exc
        return int(row[0]) if row else 0

    def bytes_held(self, prefix=""):
        row = self._rows("COALESCE(SUM(COALESCE(LENGTH(value), 0) + size), 0)", prefix)
        return int(row.fetchone()[0])

    def ping(self):
        self.get("lab:ping")

    def close(self):
        if self._cache is not None and self._pid == os.getpid():
            self._cache.close()
        self._cache = None
