"""A key-only server-side store for DataFrames: the browser holds a ~90-byte key.

Layout in the shared store (everything under "serverside:", so bytes_held("serverside:")
is this strategy's whole footprint):

    serverside:frame:<content>         Arrow IPC of expensive_step(rows, region) — immutable,
                                       shared by every session that asked for the same input
    serverside:view:<content>:<name>   a consumer's small derived view of that frame, as JSON
    serverside:entry:<sid>:<content>   a session's entry: a small pointer to the content key
    serverside:seen:<sid>              the session's last use (unix time): the eviction index
    serverside:meta:bytes              a running estimate of bytes held (a cheap trigger)

The browser's key is "<content>@<session id>" — the session id is signed, and a key is
honoured only while its entry exists. Every TTL is refreshed on read. When the bytes
held would pass the bound, unreferenced frames go first, then whole sessions, oldest
first — never the requesting session's entry in use. The producer computes under
single-flight keyed by content, so a crowd asking for one cold value computes it once.
Each process keeps the decoded frames (and small derived views) of recently used
content keys in memory: content never changes under a key, so a warm read costs one
tiny round trip (the entry's key check) and no transfer or decode. Views are also kept
in the store: a worker that has not seen a content key fetches the view (kilobytes)
instead of the frame (megabytes), and a view is built once for all workers.

No pickle anywhere: frames are Arrow IPC, everything else is text.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import weakref
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

import workload

from . import codec, telemetry
from .base import LockTimeout, StoreError

log = logging.getLogger(__name__)

SLUG = "serverside"
PREFIX = f"{SLUG}:"
FRAME = f"{PREFIX}frame:"
ENTRY = f"{PREFIX}entry:"
SEEN = f"{PREFIX}seen:"
VIEW = f"{PREFIX}view:"
ESTIMATE = f"{PREFIX}meta:bytes"
# Bump when workload.expensive_step changes what it returns: old frames become unreachable.
CONTENT_VERSION = "v1"
DEFAULT_TTL = 3600.0
# How long the single-flight marker outlives a computation (the frame itself lives in FRAME).
MARKER_TTL = 10.0
# Reconcile the running estimate with a real scan at least this often per process.
RECONCILE_EVERY = 30.0
# An eviction pass frees down to this fraction of the bound.
LOW_WATER = 0.85
STAMP_BYTES = len(f"{time.time():.3f}")
MAX_KEY_LENGTH = 200

_KEY = re.compile(r"^(v\d+)\.(\d{1,7})\.([a-z]{1,16})@([0-9a-f.\-]{1,80})$")
# A view's name parts become part of a store key: plain words only, never raw input.
_VIEW_PART = re.compile(r"^[a-z0-9-]{1,24}$")


class KeyRejected(ValueError):
    """A browser-held key that this store never issued (malformed or tampered)."""


class EntryExpired(LookupError):
    """A well-formed key whose entry has expired or was evicted."""


class FrameTooLarge(ValueError):
    """A computed frame bigger than the whole bound on bytes held."""


def content_key(rows: int, region: str) -> str:
    return f"{CONTENT_VERSION}.{rows}.{region}"


def view_key(content: str, name: tuple) -> str:
    return f"{VIEW}{content}:{'.'.join(name)}"


def entry_key(session_id: str, content: str) -> str:
    return f"{ENTRY}{session_id}:{content}"


@dataclass(frozen=True)
class Entry:
    """A validated browser key: whose entry, for which content."""

    key: str
    session_id: str
    content: str
    rows: int
    region: str


@dataclass(frozen=True)
class Produced:
    key: str
    content: str
    computed: bool  # this call ran the expensive step
    cold: bool  # the frame was not in the store when asked for
    seconds: float


class _Lru:
    """A small thread-safe LRU bounded by entries and by bytes."""

    def __init__(self, max_items: int, max_bytes: int):
        self.max_items, self.max_bytes = max_items, max_bytes
        self.items: OrderedDict = OrderedDict()
        self.sizes: dict = {}
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            if key not in self.items:
                return None
            self.items.move_to_end(key)
            return self.items[key]

    def put(self, key, value, size: int = 0) -> None:
        with self.lock:
            self.items[key] = value
            self.sizes[key] = size
            self.items.move_to_end(key)
            while len(self.items) > self.max_items or (len(self.items) > 1 and sum(self.sizes.values()) > self.max_bytes):
                old, _ = self.items.popitem(last=False)
                self.sizes.pop(old, None)

    def __len__(self) -> int:
        return len(self.items)


class ServersideStore:
    """The serverside strategy's store; one per process (see for_lab)."""

    def __init__(self, lab, ttl: float = DEFAULT_TTL, max_bytes: int | None = None, frames_in_memory: int = 4,
                 memory_bytes: int = 256 * 2**20, seen_every: float = 5.0):
        self.lab = lab
        self.store = lab.store
        self.ttl = ttl
        self.max_bytes = lab.settings.serverside_max_bytes if max_bytes is None else max_bytes
        self.frames = _Lru(frames_in_memory, memory_bytes)
        self.views = _Lru(256, 64 * 2**20)
        # Refresh the shared frame's TTL and the session's last-use stamp at most this
        # often per process, so a warm read is one round trip (the entry's key check).
        self.refresh_every = max(0.2, ttl / 4)
        self.seen_every = min(seen_every, self.refresh_every)
        self._touched: dict[str, float] = {}
        self._seen: dict[str, float] = {}
        self._local = {"mem-hit": 0, "mem-miss": 0, "view-hit": 0}
        self._pending = Counter()
        self._flushed = time.monotonic()
        self._reconciled = 0.0
        self._lock = threading.Lock()

    # ---- producer -------------------------------------------------------------------

    def produce(self, session_id, rows, region) -> Produced:
        """The browser key for (rows, region) in this session, computing the frame at most once."""
        started = time.perf_counter()
        session_id = self.lab.check_session(session_id)
        rows, region = workload.check_rows(rows), workload.check_region(region)
        content = content_key(rows, region)
        computed = False
        cold = not self.store.touch(FRAME + content, self.ttl)
        if cold:
            self.lab.count("miss", SLUG)
            computed = self._ensure_frame(content, rows, region, session_id)
        else:
            self.lab.count("hit", SLUG)
        entry = entry_key(session_id, content)
        value = content.encode()
        if self.store.add(entry, value, self.ttl):
            self.store.incr(ESTIMATE, len(value))
        else:
            self.store.touch(entry, self.ttl)
        self._stamp(session_id, force=True)
        self.enforce(session_id, content)
        return Produced(f"{content}@{session_id}", content, computed, cold, time.perf_counter() - started)

    def _ensure_frame(self, content: str, rows: int, region: str, session_id: str) -> bool:
        """Make sure the frame is in the store; True when this call computed it."""

        def compute() -> bytes:
            cleaned = workload.expensive_step(rows, region, delay=self.lab.settings.compute_delay)
            self.lab.count("compute", SLUG)
            data = codec.frame_to_arrow(cleaned)
            if len(data) > self.max_bytes:
                raise FrameTooLarge(
                    f"the frame for {rows:,} rows in {region} is {len(data) / 2**20:.1f} MB as Arrow, more than the "
                    f"serverside bound of {self.max_bytes / 2**20:.1f} MB (STATELAB_SERVERSIDE_MAX_BYTES)"
                )
            self.enforce(session_id, content, extra=len(data))
            self.store.set(FRAME + content, data, self.ttl)
            self.store.incr(ESTIMATE, len(data))
            self.frames.put(content, cleaned, int(cleaned.memory_usage(deep=True).sum()))
            return str(len(data)).encode()

        # The single-flight marker is tiny and short-lived; the frame lives under FRAME.
        # Should the frame vanish (evicted) while its marker lives, the next attempt uses
        # a fresh single-flight key, so the crowd still computes once per attempt.
        for attempt in range(3):
            _marker, here = self.lab.memo(f"{SLUG}:{content}:{attempt}", compute, ttl=MARKER_TTL)
            if here or self.store.touch(FRAME + content, self.ttl):
                return here
        raise StoreError(f"the frame for {content} was evicted as fast as it was computed: raise the serverside bound")

    # ---- consumers ------------------------------------------------------------------

    def open(self, key) -> Entry:
        """Validate a browser key and refresh its entry: one round trip when warm."""
        if not isinstance(key, str) or not key:
            raise KeyRejected("no key: the producer has not stored anything for this page yet")
        if len(key) > MAX_KEY_LENGTH:
            raise KeyRejected(f"the key is {len(key)} characters long; keys this store issues are under {MAX_KEY_LENGTH}")
        match = _KEY.match(key)
        if not match:
            raise KeyRejected("the key is not of the form <version>.<rows>.<region>@<session id>: it was not issued here")
        version, rows, region, session_id = match.groups()
        session_id = self.lab.check_session(session_id)
        try:
            rows, region = workload.check_rows(rows), workload.check_region(region)
        except workload.WorkloadError as exc:
            raise KeyRejected(f"the key names an input this store never computes ({exc})") from None
        content = content_key(rows, region)
        if version != CONTENT_VERSION or not self.store.touch(entry_key(session_id, content), self.ttl):
            raise EntryExpired(
                f"the entry for {rows:,} rows in {region} has expired or was evicted to keep the store under its bound; "
                "pick the input again to recompute it"
            )
        self._stamp(session_id)
        self._refresh_frame(content)
        return Entry(key, session_id, content, rows, region)

    def frame(self, entry: Entry) -> pd.DataFrame:
        """The entry's frame: from this process's memory when warm, else from the store."""
        cleaned = self.frames.get(entry.content)
        if cleaned is not None:
            self._tally("mem-hit")
            return cleaned
        self._tally("mem-miss")
        data = self.store.get(FRAME + entry.content)
        if data is None:
            # The entry is live but its frame went (a rare race with eviction): recompute once.
            self._ensure_frame(entry.content, entry.rows, entry.region, entry.session_id)
            data = self.store.get(FRAME + entry.content)
            if data is None:
                raise EntryExpired(f"the frame for {entry.content} was evicted again; pick the input again")
        cleaned = codec.frame_from_arrow(data)
        self.frames.put(entry.content, cleaned, int(cleaned.memory_usage(deep=True).sum()))
        return cleaned

    def view(self, entry: Entry, name: tuple, build: Callable[[pd.DataFrame], object]):
        """build(frame), memoized per process and in the store: content under a key never changes.

        `build` must return plain JSON values (see components.beyond.plain)."""
        bad = [part for part in name if not isinstance(part, str) or not _VIEW_PART.match(part)]
        if bad or not name:
            raise KeyRejected(f"a view is named by short lower-case words, not {bad or name!r}")
        cache_key = (entry.content, *name)
        value = self.views.get(cache_key)
        if value is not None:
            self._tally("mem-hit")
            return value
        stored = view_key(entry.content, name)
        data = self.store.get(stored)
        if data is not None:
            self._tally("view-hit")
            value = codec.loads(data)
        else:
            value = build(self.frame(entry))
            data = codec.dumps(value)
            # add, not set: when two workers build one view, the estimate counts it once.
            if self.store.add(stored, data, self.ttl):
                self.store.incr(ESTIMATE, len(data))
        self.views.put(cache_key, value, len(data))
        return value

    def forget(self, key) -> bool:
        """Drop this session's entry for a key (what expiry does), e.g. to show the alert."""
        entry = self.open(key)
        return self.store.delete(entry_key(entry.session_id, entry.content))

    # ---- bound ------------------------------------------------------------------------

    def enforce(self, session_id: str, content: str, extra: int = 0) -> int:
        """Keep bytes held (plus `extra` about to be written) under the bound; entries evicted."""
        now = time.monotonic()
        estimate = self.store.get_int(ESTIMATE)
        if estimate + extra <= self.max_bytes and now - self._reconciled < RECONCILE_EVERY:
            return 0
        try:
            with self.store.lock(f"{SLUG}:evict", ttl=30, wait=5):
                self._reconciled = now
                return self._evict(session_id, content, extra)
        except LockTimeout:
            log.warning("serverside: another process held the eviction lock for 5 s; not evicting now")
            return 0

    def _evict(self, keep_session: str, keep_content: str, extra: int) -> int:
        held = self.store.bytes_held(PREFIX)
        evicted = 0
        # Evict down to a low-water mark, so the next writes do not each pay for a pass.
        target = int(self.max_bytes * LOW_WATER) - extra
        if held + extra > self.max_bytes:
            entries: dict[str, list[str]] = {}
            refs: Counter = Counter()
            for key in self.store.scan(ENTRY):
                session_id, _, content = key[len(ENTRY) :].partition(":")
                entries.setdefault(session_id, []).append(content)
                refs[content] += 1
            frames = {key[len(FRAME) :]: self.store.size(key) for key in self.store.scan(FRAME)}
            views: dict[str, list[str]] = {}
            for key in self.store.scan(VIEW):
                views.setdefault(key[len(VIEW) :].rpartition(":")[0], []).append(key)

            def drop_views(content: str) -> None:
                nonlocal held
                for key in views.pop(content, []):
                    size = self.store.size(key)
                    if self.store.delete(key):
                        held -= size

            def drop_frame(content: str) -> None:
                nonlocal held
                if content != keep_content and refs[content] <= 0 and content in frames and self.store.delete(FRAME + content):
                    held -= frames.pop(content)
                    drop_views(content)

            # 0. views of frames that are gone: nothing can be read through them for long
            for content in [c for c in views if c not in frames]:
                drop_views(content)

            def drop_entry(session_id: str, content: str) -> None:
                nonlocal held, evicted
                # An entry's value is its content key: its size needs no round trip.
                if self.store.delete(entry_key(session_id, content)):
                    held -= len(content)
                    evicted += 1
                refs[content] -= 1
                drop_frame(content)

            # 1. frames no live entry points to: garbage, whoever computed them
            for content in sorted(frames, key=frames.get, reverse=True):
                if held <= target:
                    break
                drop_frame(content)
            # 2. whole sessions, least recently used first, never the requester
            if held > target:
                stamps = {}
                for session_id in entries:
                    raw = self.store.get(SEEN + session_id) if session_id != keep_session else None
                    try:
                        stamps[session_id] = float(raw) if raw else 0.0
                    except ValueError:
                        stamps[session_id] = 0.0
                for session_id in sorted((s for s in entries if s != keep_session), key=stamps.get):
                    if held <= target:
                        break
                    for content in entries.pop(session_id):
                        drop_entry(session_id, content)
                    if self.store.delete(SEEN + session_id):
                        held -= STAMP_BYTES
            # 3. last resort: the requester's other entries, never the one in use
            for content in list(entries.get(keep_session, [])):
                if held + extra <= self.max_bytes:
                    break
                if content != keep_content:
                    drop_entry(keep_session, content)
            if evicted:
                self.lab.count("evict", SLUG, evicted)
        # Re-anchor the running estimate on what is there now.
        self.store.incr(ESTIMATE, held - self.store.get_int(ESTIMATE))
        return evicted

    # ---- bookkeeping ----------------------------------------------------------------

    def _stamp(self, session_id: str, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._seen.get(session_id, -1e9) >= self.seen_every:
            self._seen[session_id] = now
            self.store.set(SEEN + session_id, f"{time.time():.3f}".encode(), self.ttl)
            if len(self._seen) > 10_000:
                self._seen.clear()

    def _refresh_frame(self, content: str) -> None:
        now = time.monotonic()
        if now - self._touched.get(content, -1e9) >= self.refresh_every:
            self._touched[content] = now
            self.store.touch(FRAME + content, self.ttl)
            if len(self._touched) > 10_000:
                self._touched.clear()

    def _tally(self, kind: str) -> None:
        with self._lock:
            self._local[kind] += 1
            self._pending[kind] += 1
            if time.monotonic() - self._flushed < 1.0:
                return
            pending, self._pending = self._pending, Counter()
            self._flushed = time.monotonic()
        for name, amount in pending.items():
            telemetry.count(self.store, name, SLUG, amount)

    def stats(self) -> dict:
        """Bytes held, entries, sessions, frames, evictions and the in-memory hit rate."""
        with self._lock:
            pending, self._pending = self._pending, Counter()
            self._flushed = time.monotonic()
        for name, amount in pending.items():
            telemetry.count(self.store, name, SLUG, amount)
        hits = telemetry.counter(self.store, "mem-hit", SLUG)
        misses = telemetry.counter(self.store, "mem-miss", SLUG)
        return {
            "bytes_held": self.store.bytes_held(PREFIX),
            "max_bytes": self.max_bytes,
            "entries": sum(1 for _ in self.store.scan(ENTRY)),
            "sessions": sum(1 for _ in self.store.scan(SEEN)),
            "frames": sum(1 for _ in self.store.scan(FRAME)),
            "views": sum(1 for _ in self.store.scan(VIEW)),
            "view_hits": telemetry.counter(self.store, "view-hit", SLUG),
            "evictions": telemetry.counter(self.store, "evict", SLUG),
            "memory_hits": hits,
            "memory_misses": misses,
            "memory_hit_rate": hits / (hits + misses) if hits + misses else None,
        }


_instances: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_instances_lock = threading.Lock()


def for_lab(lab) -> ServersideStore:
    """This process's ServersideStore for a Lab (its memory cache lives as long as the Lab)."""
    with _instances_lock:
        instance = _instances.get(lab)
        if instance is None:
            instance = _instances[lab] = ServersideStore(lab)
        return instance
