"""The embedded backend: diskcache (SQLite) in the data directory, safe across processes.

Host faults. Every SQLite or file-system error becomes StoreUnavailable with the reason, so the
site answers "Store unavailable: …" (HTTP 503) instead of a 500. Before each use a process checks
that the store file is still the one it opened (one stat: device and inode): a data directory
removed, moved or replaced while the site runs is never written to through a stale handle. The
choice is to wait, not to recreate: a process that has opened the store never creates it again —
it refuses until the directory is put back (or a new file appears there, which every worker then
reopens), so workers can never split over two files. A process that starts later creates the store
only inside an existing data directory; `python app.py` creates that directory (0700) at start.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import diskcache
from diskcache.core import DBNAME

from . import forkguard
from .base import Store, StoreUnavailable


class DiskStore(Store):
    name = "diskcache"

    def __init__(self, directory: Path, timeout: float = 10.0):
        self.directory = Path(directory)
        self.db_path = self.directory / DBNAME
        self.timeout = timeout
        self._cache = None
        self._pid = None
        self._identity = None  # (st_dev, st_ino) of the store file this process opened
        self._opening = threading.Lock()

    def _file_identity(self):
        try:
            info = os.stat(self.db_path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreUnavailable(f"the store file {self.db_path} cannot be read: {exc.strerror}") from exc
        return info.st_dev, info.st_ino

    @property
    def cache(self) -> diskcache.Cache:
        if self._cache is not None and self._pid == os.getpid():
            identity = self._file_identity()
            if identity == self._identity:
                return self._cache
            if identity is None:
                raise StoreUnavailable(
                    f"the store file {self.db_path} is gone: the data directory was removed or moved while the "
                    "site ran. Put it back, or restart the site (python app.py creates a new one)"
                )
        # First use in this process (a SQLite connection must not cross a fork), or another
        # process put a new store file in place: every worker moves to it.
        with self._opening:
            return self._open()

    def _open(self) -> diskcache.Cache:
        if self._cache is not None and self._pid == os.getpid() and self._file_identity() == self._identity:
            return self._cache  # another thread reopened it meanwhile
        if self._pid == os.getpid() and self._identity is not None:
            self._drop()
        elif not self.directory.parent.is_dir():
            raise StoreUnavailable(
                f"the data directory {self.directory.parent} does not exist: it was removed while the site ran, "
                "or was never created. Restart the site (python app.py creates it)"
            )
        try:
            self.directory.mkdir(mode=0o700, exist_ok=True)
            cache = diskcache.Cache(
                str(self.directory),
                timeout=self.timeout,
                # Expiry is ours to manage; never evict live data behind our back.
                eviction_policy="none",
            )
        except OSError as exc:
            raise StoreUnavailable(f"cannot open the store directory {self.directory}: {exc.strerror}") from exc
        except (sqlite3.Error, diskcache.Timeout) as exc:
            raise StoreUnavailable(f"the store file {self.db_path} is damaged or unreadable: it cannot be opened ({exc})") from exc
        self._cache, self._pid = cache, os.getpid()
        self._identity = self._file_identity()
        return cache

    def _drop(self) -> None:
        # Only this thread's connection can be closed; the others go with the old Cache object.
        old, self._cache, self._identity = self._cache, None, None
        if old is not None:
            with suppress(sqlite3.Error, OSError):
                old.close()

    @contextmanager
    def _guard(self):
        try:
            with forkguard.sqlite_in_use():  # a job process must not be forked mid-SQLite (stores/forkguard.py)
                yield
        except sqlite3.Error as exc:
            raise StoreUnavailable(
                f"the store file {self.db_path} is damaged or unreadable ({type(exc).__name__}: {exc})"
            ) from exc
        except OSError as exc:  # values over 32 KB live in files beside the database
            raise StoreUnavailable(f"the store at {self.directory} cannot be read: {exc.strerror or exc}") from exc

    def _busy(self, exc: Exception) -> StoreUnavailable:
        return StoreUnavailable(
            f"the disk store at {self.directory} stayed locked for {self.timeout:g} s ({exc})"
        )

    def get(self, key):
        with self._guard():
            value = self.cache.get(key)
        if isinstance(value, int):  # counters are stored as SQLite integers
            return str(value).encode()
        return value

    def set(self, key, value, ttl=None):
        with self._guard():
            self.cache.set(key, bytes(value), expire=ttl)

    def add(self, key, value, ttl=None):
        with self._guard():
            return self.cache.add(key, bytes(value), expire=ttl)

    def delete(self, key):
        with self._guard():
            return self.cache.delete(key)

    def incr(self, key, amount=1):
        with self._guard():
            return self.cache.incr(key, amount, default=0)

    def touch(self, key, ttl):
        with self._guard():
            return self.cache.touch(key, expire=ttl)

    def compare_delete(self, key, expected):
        with self._guard(), self.cache.transact():
            if self.cache.get(key) != expected:
                return False
            return self.cache.delete(key)

    def compare_touch(self, key, expected, ttl):
        with self._guard(), self.cache.transact():
            if self.cache.get(key) != expected:
                return False
            return self.cache.touch(key, expire=ttl)

    # diskcache has no prefix query in its public API; its table layout has been
    # stable across 5.x, so scans and sizes read it directly instead of loading values.
    def _rows(self, query: str, prefix: str):
        sql = f"SELECT {query} FROM Cache WHERE raw = 1 AND key >= ? AND key < ?" + (
            " AND (expire_time IS NULL OR expire_time > ?)"
        )
        with self._guard():
            return self.cache._sql(sql, (prefix, prefix + "\U0010ffff", time.time()))

    def scan(self, prefix) -> Iterator[str]:
        with self._guard():
            return iter([row[0] for row in self._rows("key", prefix).fetchall()])

    def size(self, key):
        with self._guard():
            row = self.cache._sql(
                "SELECT COALESCE(LENGTH(value), 0) + size FROM Cache WHERE raw = 1 AND key = ?",
                (key,),
            ).fetchone()
        return int(row[0]) if row else 0

    def bytes_held(self, prefix=""):
        with self._guard():
            row = self._rows("COALESCE(SUM(COALESCE(LENGTH(value), 0) + size), 0)", prefix)
            return int(row.fetchone()[0])

    def log_read(self, name):
        # The whole capped log in one query rather than one get per entry (mode 1: the bytes are inline).
        with self._guard():
            rows = self._rows("key, value, mode", f"log:{name}:").fetchall()
            values = [value if mode == 1 and value is not None else self.cache.get(key) for key, value, mode in rows]
        return [bytes(v) for v in values if v is not None]

    def ping(self):
        self.get("lab:ping")

    def close(self):
        if self._cache is not None and self._pid == os.getpid():
            self._drop()
        self._cache = None
