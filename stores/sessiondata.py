"""Per-session data on the server (seed 000, example 4), bounded and expiring.

Each session's frame lives in the store as Arrow under "<prefix>:<uuid>:frame", with a
small JSON record beside it (":meta": what was computed, when, by whom) and its last-use
time (":used"). Every key expires after `ttl` seconds without use. When more than
`threshold` sessions hold data, or their bytes would pass `max_bytes` (the strategy's share of
STATELAB_MAX_DATA_BYTES, stores/budget.py), the least recently used *other* sessions are evicted —
never the one being served; a frame larger than the whole bound is refused (OverBudget) and not
written. Only the uuid part of a validated session id names keys.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from reports.fmt import human_bytes

from . import codec
from .base import Store
from .budget import OverBudget

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
        max_bytes: int | None = None,
        bound_text: str | None = None,
    ):
        if threshold < 1:
            raise ValueError("threshold must be at least 1 session")
        self.store, self.check, self.prefix = store, check, prefix
        self.ttl, self.threshold, self.on_evict = ttl, threshold, on_evict
        self.max_bytes = max_bytes
        # How the bound reads in a message ("3.2 MB, session-cache's share of ..."): where it bites, say which.
        self.bound_text = bound_text or (human_bytes(max_bytes) if max_bytes is not None else "")

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
            why = self.store.get(f"{self.prefix}:evicted:{uuid}")
            if why == b"bytes":
                raise NoSessionData(
                    f"your data was evicted to keep {self.prefix} under {self.bound_text}: yours was the least "
                    "recently used. Fetch again to recompute it."
                )
            if why is not None:
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
            meta, made_room = self._save(uuid, frame, meta)
        return Fetched(frame, meta, computed=True, evicted=made_room + self.evict(keep=uuid))

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
        return self._save(uuid, frame, meta)[0]

    def _save(self, uuid: str, frame: pd.DataFrame, meta: dict) -> tuple[dict, int]:
        data = codec.frame_to_arrow(frame)
        if self.max_bytes is not None and len(data) > self.max_bytes:
            raise OverBudget(
                f"this result is {human_bytes(len(data))} as Arrow, more than {self.prefix}'s whole bound of "
                f"{self.bound_text}: not stored. Pick fewer rows."
            )
        made_room = self.make_room(uuid, len(data))
        meta = {**meta, "bytes": len(data)}
        self.store.set(self._key(uuid, "frame"), data, ttl=self.ttl)
        self.store.set(self._key(uuid, "meta"), codec.dumps(meta), ttl=self.ttl)
        self.store.delete(f"{self.prefix}:evicted:{uuid}")
        self._mark_used(uuid)
        return meta, made_room

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

    def evict(self, keep: str, incoming: int = 0) -> int:
        """Drop the least recently used sessions (never `keep`) until at most `threshold` remain
        and the bytes held (plus `incoming` about to be written for `keep`) fit `max_bytes`."""
        held = self.sessions()
        excess = len(held) - self.threshold
        over = self._over(keep, incoming)
        if excess <= 0 and over <= 0:
            return 0
        evicted = 0
        for _, uuid in sorted((used, uuid) for uuid, used in held.items() if uuid != keep):
            if excess <= 0 and over <= 0:
                break
            size = self.store.size(self._key(uuid, "frame")) + self.store.size(self._key(uuid, "meta"))
            evicted += self._drop(uuid, b"count" if excess > 0 else b"bytes")
            excess, over = excess - 1, over - size
        if evicted and self.on_evict is not None:
            self.on_evict(evicted)
        return evicted

    def make_room(self, uuid: str, incoming: int) -> int:
        """Before `uuid` writes `incoming` bytes: evict others so the bound still holds after the write."""
        return self.evict(keep=uuid, incoming=incoming) if self.max_bytes is not None else 0

    def _over(self, keep: str, incoming: int) -> int:
        """Bytes beyond max_bytes once `keep`'s data is replaced by `incoming` bytes (<= 0: it fits)."""
        if self.max_bytes is None:
            return 0
        held = self.bytes_held()
        if incoming:
            held += incoming - self.store.size(self._key(keep, "frame"))
        return held - self.max_bytes

    def _drop(self, uuid: str, why: bytes) -> int:
        # Only the worker whose delete removed the frame counts it: no double counting.
        dropped = 0
        if self.store.delete(self._key(uuid, "frame")):
            dropped = 1
            self.store.set(f"{self.prefix}:evicted:{uuid}", why, ttl=self.ttl)
        for part in ("meta", "used"):
            self.store.delete(self._key(uuid, part))
        return dropped

    def bytes_held(self) -> int:
        return self.store.bytes_held(f"{self.prefix}:")

    def forget(self, session_id: str) -> None:
        uuid = self._uuid(session_id)
        for part in PARTS:
            self.store.delete(self._key(uuid, part))
