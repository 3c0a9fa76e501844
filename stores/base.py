"""The store interface every backend implements, and the errors it raises."""

from __future__ import annotations

import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager


class StoreError(RuntimeError):
    """Base class of every error the store layer raises."""


class StoreUnavailable(StoreError):
    """The backend cannot be reached or did not answer in time."""


class CorruptValue(StoreError):
    """A stored value could not be decoded."""


class LockTimeout(StoreError):
    """A cross-process lock could not be acquired in time."""


class Store(ABC):
    """Bytes by key with TTL, counters and prefix scans, shared by every process."""

    name: str = "store"

    @abstractmethod
    def get(self, key: str) -> bytes | None:
        """The value stored at key, or None."""

    @abstractmethod
    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Store value at key, expiring after ttl seconds (never when None)."""

    @abstractmethod
    def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        """Store value only if key is absent; True when it was stored."""

    @abstractmethod
    def delete(self, key: str) -> bool:
        """Remove key; True when it existed."""

    @abstractmethod
    def incr(self, key: str, amount: int = 1) -> int:
        """Atomically add amount to the integer at key (0 when absent); the new value."""

    @abstractmethod
    def touch(self, key: str, ttl: float | None) -> bool:
        """Set a new TTL on an existing key; False when it does not exist."""

    @abstractmethod
    def compare_delete(self, key: str, expected: bytes) -> bool:
        """Delete key only if it holds expected; True when deleted."""

    @abstractmethod
    def compare_touch(self, key: str, expected: bytes, ttl: float) -> bool:
        """Renew key's TTL only if it holds expected; True when renewed."""

    @abstractmethod
    def scan(self, prefix: str) -> Iterator[str]:
        """Every live key starting with prefix."""

    @abstractmethod
    def size(self, key: str) -> int:
        """Bytes of the value at key (0 when absent)."""

    @abstractmethod
    def ping(self) -> None:
        """Raise StoreUnavailable unless the backend answers."""

    @abstractmethod
    def close(self) -> None:
        """Release connections and file handles."""

    def get_int(self, key: str) -> int:
        raw = self.get(key)
        if raw is None:
            return 0
        try:
            return int(raw)
        except ValueError:
            raise CorruptValue(f"key {key!r} holds {raw[:40]!r}, not a counter") from None

    def bytes_held(self, prefix: str = "") -> int:
        """Bytes of all values under prefix."""
        return sum(self.size(key) for key in self.scan(prefix))

    # A capped log: at most `cap` entries, the oldest overwritten first. Here a ring of `cap` keys
    # (an atomic sequence number picks the slot), so it never holds more whatever the write rate;
    # Redis keeps it as a stream with MAXLEN instead.
    def log_append(self, name: str, value: bytes, cap: int, ttl: float | None = None) -> None:
        seq = self.incr(f"logseq:{name}")
        self.set(f"log:{name}:{(seq - 1) % max(1, cap)}", value, ttl=ttl)

    def log_read(self, name: str) -> list[bytes]:
        """Every live entry of the log, in no particular order."""
        return [v for v in (self.get(k) for k in self.scan(f"log:{name}:")) if v is not None]

    def log_clear(self, name: str) -> None:
        for key in list(self.scan(f"log:{name}:")):
            self.delete(key)
        self.delete(f"logseq:{name}")

    @contextmanager
    def lock(self, name: str, ttl: float = 30.0, wait: float = 10.0):
        """A cross-process mutex; expires after ttl so a dead holder cannot wedge it."""
        key = f"lock:{name}"
        token = secrets.token_hex(16).encode()
        deadline = time.monotonic() + wait
        delay = 0.005
        while not self.add(key, token, ttl):
            if time.monotonic() >= deadline:
                raise LockTimeout(f"lock {name!r} still held by another process after {wait:g} s")
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
        try:
            yield token
        finally:
            self.compare_delete(key, token)
