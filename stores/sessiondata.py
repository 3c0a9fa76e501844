"""Per-session data on the server (seed 000, example 4), bounded and expiring.

Each session's frame lives in the store as Arrow under "<prefix>:<uuid>:frame", with a
small JSON record beside it (":meta": what was computed, when, by whom) and its last-use
time (":used"). Every key expires after `ttl` seconds without use. When more than
`threshold` sessions hold data, the least recently used *other* sessions are evicted —
never the one being served. Only the uuid part of a validated session id names keys.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from . import codec
from .base import Store

PARTS = ("frame", "meta", "used")


@dataclass
class Fetched:
    frame: pd.DataFrame
    meta: dict
    computed: bool  # the expensive step ran in this call
    evicted: int = 0  # other sessions evicted to make room


class NoSessionData(LookupError):
    """This session has no data on the server (never fetched, expired or evicted)."""


class SessionData:
    def __init__(
        self,
        store: Store,
        check: Callable[[str], str],
        prefix: str = "session-cache",
        ttl: float = 3600.0,
        threshold: int = 20,
        on_evict: Callable[[int], None] | None = None,
    ):
        if threshold < 1:
            raise ValueError("threshold must be at least 1 session")
        self.store, self.check, self.prefix = store, check, prefix
        self.ttl, self.threshold, self.on_evict = ttl, threshold, on_evict

    # Keys are built from the uuid of a session id that `check` accepted, never from raw input.
    def _uuid(self, session_id: str) -> str:
        return self.check(session_id).split(".", 1)[0]

    def _key(self, uuid: str, part: str) -> str:
        return f"{self.prefix}:{uuid}:{part}"

    def load(self, session_id: str) -> tuple[pd.DataFrame, dict]:
        """This session's frame and record; NoSessionData when there is none."""
        uuid = self._uuid(session_id)
        raw, meta = self.store.get(self._key(uuid, "frame")), self.store.get(self._key(uuid, "meta"))
        if raw is None or meta is None:
            if self.store.get(f"{self.prefix}:evicted:{uuid}") is not None:
                raise NoSessionData(
                    f"your data was evicted: more than {self.threshold} sessions held data and yours "
                    "was the least recently used. Fetch again to recompute it."
                )
            raise NoSessionData("this session has no data on the server yet (or it expired): fetch it first")
        self._mark_used(uuid)
        return codec.frame_from_arrow(raw), codec.loads(meta)

    def fetch(self, session_id: str, want: dict, compute: Callable[[], pd.DataFrame], wait: float = 60.0) -> Fetched:
        """This session's data for `want` (e.g. {"region": ..., "rows": ...}), computing it at most once.

        A per-session lock makes concurrent callbacks of one session (two outputs fired by
        the same click) wait for one computation instead of running it twice.
        """
        uuid = self._uuid(session_id)
        found = self._matching(session_id, want)
        if found is not None:
            return Fetched(*found, computed=False)
        with self.store.lock(f"{self.prefix}:{uuid}", ttl=wait, wait=wait):
            found = self._matching(session_id, want)
            if found is not None:
                return Fetched(*found, computed=False)
            started = time.perf_counter()
            frame = compute()
            meta = {**want, "computed_at": time.time(), "seconds": round(time.perf_counter() - started, 3)}
            meta = self.save(uuid, frame, meta)
        return Fetched(frame, meta, computed=True, evicted=self.evict(keep=uuid))

    def _matching(self, session_id: str, want: dict):
        try:
            frame, meta = self.load(session_id)
        except NoSessionData:
            return None
        if any(meta.get(k) != v for k, v in want.items()):
            return None
        return frame, meta

    def save(self, uuid: str, frame: pd.DataFrame, meta: dict) -> dict:
        """Store a session's frame and record; the record as stored (with the frame's bytes)."""
        data = codec.frame_to_arrow(frame)
        meta = {**meta, "bytes": len(data)}
        self.store.set(self._key(uuid, "frame"), data, ttl=self.ttl)
        self.store.set(self._key(uuid, "meta"), codec.dumps(meta), ttl=self.ttl)
        self.store.delete(f"{self.prefix}:evicted:{uuid}")
        self._mark_used(uuid)
        return meta

    def _mark_used(self, uuid: str) -> None:
        self.store.set(self._key(uuid, "used"), repr(time.time()).encode(), ttl=self.ttl)
        for part in ("frame", "meta"):
            self.store.touch(self._key(uuid, part), self.ttl)

    def sessions(self) -> dict[str, float]:
        """uuid -> last-use time of every session holding data."""
        held = {}
        for key in self.store.scan(f"{self.prefix}:"):
            parts = key.split(":")
            if len(parts) == 3 and parts[2] == "used":
                raw = self.store.get(key)
                try:
                    held[parts[1]] = float(raw) if raw is not None else 0.0
                except ValueError:
                    held[parts[1]] = 0.0
        return held

    def evict(self, keep: str) -> int:
        """Drop the least recently used sessions (never `keep`) until at most `threshold` remain."""
        held = self.sessions()
        excess = len(held) - self.threshold
        if excess <= 0:
            return 0
        victims = sorted((used, uuid) for uuid, used in held.items() if uuid != keep)[:excess]
        evicted = 0
        for _, uuid in victims:
            # Only the worker whose delete removed the frame counts it: no double counting.
            if self.store.delete(self._key(uuid, "frame")):
                evicted += 1
                self.store.set(f"{self.prefix}:evicted:{uuid}", b"1", ttl=self.ttl)
            for part in ("meta", "used"):
                self.store.delete(self._key(uuid, part))
        if evicted and self.on_evict is not None:
            self.on_evict(evicted)
        return evicted

    def bytes_held(self) -> int:
        return self.store.bytes_held(f"{self.prefix}:")

    def forget(self, session_id: str) -> None:
        uuid = self._uuid(session_id)
        for part in PARTS:
            self.store.delete(self._key(uuid, part))
