"""A key-only server-side store for DataFrames: the browser holds a ~90-byte key.

Layout in the shared store, under the prefix "<slug>:" the page names (so bytes_held(prefix) is the
strategy's whole footprint):

    <slug>:frame:<content>         Arrow IPC of the page's compute() for that content — immutable,
                                   shared by every session that asked for the same input
    <slug>:view:<content>:<name>   a consumer's small derived view of that frame, as JSON
    <slug>:entry:<sid>:<content>   a session's entry: a small pointer to the content key
    <slug>:seen:<sid>              the session's last use (unix time): the eviction index
    <slug>:meta:bytes              a running estimate of bytes held (a cheap trigger)

The page names the content ("v1.10000.north": what was asked for, with a version it bumps when its
compute changes) and hands the compute function down: the store never knows what a frame means, so
a request's data goes page → workload → store, one way. The browser's key is "<content>@<session id>"
— the session id is signed, and a key is honoured only while its entry exists. Every TTL is refreshed
on read. When the bytes held would pass the bound (the strategy's share of STATELAB_MAX_DATA_BYTES,
stores/budget.py), unreferenced frames go first, then whole sessions, oldest first — never the
requesting session's entry in use. The producer computes under single-flight keyed by content, so a
crowd asking for one cold value computes it once. Each process keeps the decoded frames (and small
derived views) of recently used content keys in memory: content never changes under a key, so a warm
read costs one tiny round trip (the entry's key check) and no transfer or decode. Views are also kept
in the store: a worker that has not seen a content key fetches the view (kilobytes) instead of the
frame (megabytes), and a view is built once for all workers.

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

from reports.fmt import human_bytes

from . import budget, codec, telemetry
from .base import LockTimeout, StoreError
from .sessions import parse_form

log = logging.getLogger(__name__)

DEFAULT_TTL = 3600.0
# How long the single-flight marker outlives a computation (the frame itself lives under frame:).
MARKER_TTL = 10.0
# Reconcile the running estimate with a real scan at least this often per process.
RECONCILE_EVERY = 30.0
# An eviction pass frees down to this fraction of the bound.
LOW_WATER = 0.85
STAMP_BYTES = len(f"{time.time():.3f}")
MAX_KEY_LENGTH = 200

# What a page may name as content: it becomes part of store keys, so plain characters only.
_CONTENT = re.compile(r"^[a-z0-9][a-z0-9.\-]{0,47}$")
_KEY = re.compile(r"^([a-z0-9][a-z0-9.\-]{0,47})@([0-9a-f.\-]{1,80})$")
# A view's name parts become part of a store key: plain words only, never raw input.
_VIEW_PART = re.compile(r"^[a-z0-9-]{1,24}$")


def _under(rest: str) -> property:
    """A key (or key prefix) under the strategy's own prefix: "<slug>:" + rest."""
    return property(lambda keys: f"{keys.slug}:{rest}")


@dataclass(frozen=True)
class Keys:
    """The store keys of one strategy's prefix."""

    slug: str

    prefix = _under("")
    frame = _under("frame:")
    entry = _under("entry:")
    seen = _under("seen:")
    view = _under("view:")
    estimate = _under("meta:bytes")

    def view_key(self, content: str, name: tuple) -> str:
        return f"{self.view}{content}:{'.'.join(name)}"

    def entry_key(self, session_id: str, content: str) -> str:
        return f"{self.entry}{session_id}:{content}"


class KeyRejected(ValueError):
    """A browser-held key that this store never issued (malformed or tampered)."""


class EntryExpired(LookupError):
    """A well-formed key whose entry has expired or was evicted."""


class FrameTooLarge(ValueError):
    """A computed frame bigger than the whole bound on bytes held."""


@dataclass(frozen=True)
class Entry:
    """A validated browser key: whose entry, for which content."""

    key: str
    session_id: str
    content: str


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
    """One strategy's key-only store, under the prefix "<slug>:"; one per process and slug (see for_lab)."""

    def __init__(self, lab, slug: str, ttl: float = DEFAULT_TTL, max_bytes: int | None = None, frames_in_memory: int = 4,
                 memory_bytes: int = 256 * 2**20, seen_every: float = 5.0):
        self.lab = lab
        self.store = lab.store
        self.slug = slug
        self.keys = Keys(slug)
        self.ttl = ttl
        # The prefix's share of the site's data bound (stores/budget.py), unless a caller sets its own.
        self.max_bytes = budget.bound(lab.settings, slug) if max_bytes is None else max_bytes
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

    def bound_text(self) -> str:
        """The bound in words, for the messages it causes."""
        if self.slug in self.lab.settings.shares and self.max_bytes == budget.bound(self.lab.settings, self.slug):
            return budget.describe(self.lab.settings, self.slug)
        return human_bytes(self.max_bytes)

    # ---- producer -------------------------------------------------------------------

    def produce(self, session_id, content: str, compute: Callable[[], pd.DataFrame]) -> Produced:
        """The browser key for `content` in this session; compute() (the page's) runs at most once for it."""
        started = time.perf_counter()
        session_id = self.lab.check_session(session_id)
        if not isinstance(content, str) or not _CONTENT.match(content):
            raise KeyRejected(f"content is named by short lower-case words, digits and dots, not {str(content)[:60]!r}")
        computed = False
        cold = not self.store.touch(self.keys.frame + content, self.ttl)
        if cold:
            self.lab.count("miss", self.slug)
            computed = self._ensure_frame(content, compute, session_id)
        else:
            self.lab.count("hit", self.slug)
        entry = self.keys.entry_key(session_id, content)
        value = content.encode()
        if self.store.add(entry, value, self.ttl):
            self.store.incr(self.keys.estimate, len(value))
        else:
            self.store.touch(entry, self.ttl)
        self._stamp(session_id, force=True)
        self.enforce(session_id, content)
        return Produced(f"{content}@{session_id}", content, computed, cold, time.perf_counter() - started)

    def _store_frame(self, content: str, compute: Callable[[], pd.DataFrame], session_id: str) -> bytes:
        cleaned = compute()
        self.lab.count("compute", self.slug)
        data = codec.frame_to_arrow(cleaned)
        if len(data) > self.max_bytes:
            raise FrameTooLarge(
                f"the frame for {content} is {human_bytes(len(data))} as Arrow, more than the whole serverside bound "
                f"of {self.bound_text()}: not stored. Pick fewer rows"
            )
        self.enforce(session_id, content, extra=len(data))
        self.store.set(self.keys.frame + content, data, self.ttl)
        self.store.incr(self.keys.estimate, len(data))
        self.frames.put(content, cleaned, int(cleaned.memory_usage(deep=True).sum()))
        return str(len(data)).encode()

    def _ensure_frame(self, content: str, compute: Callable[[], pd.DataFrame], session_id: str) -> bool:
        """Make sure the frame is in the store; True when this call computed it."""
        # The single-flight marker is tiny and short-lived; the frame lives under frame:.
        # Should the frame vanish (evicted) while its marker lives, the next attempt uses
        # a fresh single-flight key, so the crowd still computes once per attempt.
        for attempt in range(3):
            _marker, here = self.lab.memo(f"{self.slug}:{content}:{attempt}",
                                          lambda: self._store_frame(content, compute, session_id), ttl=MARKER_TTL)
            if here or self.store.touch(self.keys.frame + content, self.ttl):
                return here
        raise StoreError(
            f"the frame for {content} was evicted as fast as it was computed: the serverside bound "
            f"({self.bound_text()}) is too small for this many sessions"
        )

    # ---- consumers ------------------------------------------------------------------

    def open(self, key) -> Entry:
        """Validate a browser key and refresh its entry: one round trip when warm."""
        content, session_id = parse_form(key, _KEY, MAX_KEY_LENGTH, KeyRejected, "the key", "<content>@<session id>: it was not issued here",
                                         missing="no key: the producer has not stored anything for this page yet")
        session_id = self.lab.check_session(session_id)
        if not self.store.touch(self.keys.entry_key(session_id, content), self.ttl):
            raise EntryExpired(
                f"the entry for {content} has expired, or was evicted to keep serverside under its bound of "
                f"{self.bound_text()}; pick the input again to recompute it"
            )
        self._stamp(session_id)
        self._refresh_frame(content)
        return Entry(key, session_id, content)

    def frame(self, entry: Entry, compute: Callable[[], pd.DataFrame] | None = None) -> pd.DataFrame:
        """The entry's frame: from this process's memory when warm, else from the store.

        The entry may outlive its frame (a rare race with eviction): compute(), when given, makes it again."""
        cleaned = self.frames.get(entry.content)
        if cleaned is not None:
            self._tally("mem-hit")
            return cleaned
        self._tally("mem-miss")
        data = self.store.get(self.keys.frame + entry.content)
        if data is None and compute is not None:
            self._ensure_frame(entry.content, compute, entry.session_id)
            data = self.store.get(self.keys.frame + entry.content)
        if data is None:
            raise EntryExpired(
                f"the frame for {entry.content} was evicted to keep serverside under its bound of "
                f"{self.bound_text()}; pick the input again"
            )
        cleaned = codec.frame_from_arrow(data)
        self.frames.put(entry.content, cleaned, int(cleaned.memory_usage(deep=True).sum()))
        return cleaned

    def view(self, entry: Entry, name: tuple, build: Callable[[pd.DataFrame], object],
             compute: Callable[[], pd.DataFrame] | None = None):
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
        stored = self.keys.view_key(entry.content, name)
        data = self.store.get(stored)
        if data is not None:
            self._tally("view-hit")
            value = codec.loads(data)
        else:
            value = build(self.frame(entry, compute))
            data = codec.dumps(value)
            # add, not set: when two workers build one view, the estimate counts it once.
            if self.store.add(stored, data, self.ttl):
                self.store.incr(self.keys.estimate, len(data))
        self.views.put(cache_key, value, len(data))
        return value

    def forget(self, key) -> bool:
        """Drop this session's entry for a key (what expiry does), e.g. to show the alert."""
        entry = self.open(key)
        return self.store.delete(self.keys.entry_key(entry.session_id, entry.content))

    # ---- bound ------------------------------------------------------------------------

    def enforce(self, session_id: str, content: str, extra: int = 0) -> int:
        """Keep bytes held (plus `extra` about to be written) under the bound; entries evicted."""
        now = time.monotonic()
        estimate = self.store.get_int(self.keys.estimate)
        if estimate + extra <= self.max_bytes and now - self._reconciled < RECONCILE_EVERY:
            return 0
        try:
            with self.store.lock(f"{self.slug}:evict", ttl=30, wait=5):
                self._reconciled = now
                return self._evict(session_id, content, extra)
        except LockTimeout:
            log.warning("%s: another process held the eviction lock for 5 s; not evicting now", self.slug)
            return 0

    def _evict(self, keep_session: str, keep_content: str, extra: int) -> int:
        held = self.store.bytes_held(self.keys.prefix)
        evicted = 0
        if held + extra > self.max_bytes:
            # Evict down to a low-water mark, so the next writes do not each pay for a pass.
            sweep = _Sweep(self, held, keep_session, keep_content)
            sweep.run(target=int(self.max_bytes * LOW_WATER) - extra, limit=self.max_bytes - extra)
            held, evicted = sweep.held, sweep.evicted
            if evicted:
                self.lab.count("evict", self.slug, evicted)
        # Re-anchor the running estimate on what is there now.
        self.store.incr(self.keys.estimate, held - self.store.get_int(self.keys.estimate))
        return evicted

    # ---- bookkeeping ----------------------------------------------------------------

    def _stamp(self, session_id: str, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._seen.get(session_id, -1e9) >= self.seen_every:
            self._seen[session_id] = now
            self.store.set(self.keys.seen + session_id, f"{time.time():.3f}".encode(), self.ttl)
            if len(self._seen) > 10_000:
                self._seen.clear()

    def _refresh_frame(self, content: str) -> None:
        now = time.monotonic()
        if now - self._touched.get(content, -1e9) >= self.refresh_every:
            self._touched[content] = now
            self.store.touch(self.keys.frame + content, self.ttl)
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
            telemetry.count(self.store, name, self.slug, amount)

    def stats(self) -> dict:
        """Bytes held, entries, sessions, frames, evictions and the in-memory hit rate."""
        with self._lock:
            pending, self._pending = self._pending, Counter()
            self._flushed = time.monotonic()
        for name, amount in pending.items():
            telemetry.count(self.store, name, self.slug, amount)
        hits = telemetry.counter(self.store, "mem-hit", self.slug)
        misses = telemetry.counter(self.store, "mem-miss", self.slug)
        return {
            "bytes_held": self.store.bytes_held(self.keys.prefix),
            "max_bytes": self.max_bytes,
            "entries": sum(1 for _ in self.store.scan(self.keys.entry)),
            "sessions": sum(1 for _ in self.store.scan(self.keys.seen)),
            "frames": sum(1 for _ in self.store.scan(self.keys.frame)),
            "views": sum(1 for _ in self.store.scan(self.keys.view)),
            "view_hits": telemetry.counter(self.store, "view-hit", self.slug),
            "evictions": telemetry.counter(self.store, "evict", self.slug),
            "memory_hits": hits,
            "memory_misses": misses,
            "memory_hit_rate": hits / (hits + misses) if hits + misses else None,
        }


class _Sweep:
    """One eviction pass over a strategy's keys, under its eviction lock: what is there, and what it frees."""

    def __init__(self, svs: ServersideStore, held: int, keep_session: str, keep_content: str):
        self.store, self.keys = svs.store, svs.keys
        self.held, self.evicted = held, 0
        self.keep_session, self.keep_content = keep_session, keep_content
        self.entries: dict[str, list[str]] = {}
        self.refs: Counter = Counter()
        for key in self.store.scan(self.keys.entry):
            session_id, _, content = key[len(self.keys.entry) :].partition(":")
            self.entries.setdefault(session_id, []).append(content)
            self.refs[content] += 1
        self.frames = {key[len(self.keys.frame) :]: self.store.size(key) for key in self.store.scan(self.keys.frame)}
        self.views: dict[str, list[str]] = {}
        for key in self.store.scan(self.keys.view):
            self.views.setdefault(key[len(self.keys.view) :].rpartition(":")[0], []).append(key)

    def run(self, target: int, limit: int) -> None:
        # 0. views of frames that are gone: nothing can be read through them for long
        for content in [c for c in self.views if c not in self.frames]:
            self.drop_views(content)
        # 1. frames no live entry points to: garbage, whoever computed them
        for content in sorted(self.frames, key=self.frames.get, reverse=True):
            if self.held <= target:
                break
            self.drop_frame(content)
        # 2. whole sessions, least recently used first, never the requester
        if self.held > target:
            self.drop_sessions(target)
        # 3. last resort: the requester's other entries, never the one in use
        for content in list(self.entries.get(self.keep_session, [])):
            if self.held <= limit:
                break
            if content != self.keep_content:
                self.drop_entry(self.keep_session, content)

    def drop_views(self, content: str) -> None:
        for key in self.views.pop(content, []):
            size = self.store.size(key)
            if self.store.delete(key):
                self.held -= size

    def drop_frame(self, content: str) -> None:
        if (content != self.keep_content and self.refs[content] <= 0 and content in self.frames
                and self.store.delete(self.keys.frame + content)):
            self.held -= self.frames.pop(content)
            self.drop_views(content)

    def drop_entry(self, session_id: str, content: str) -> None:
        # An entry's value is its content key: its size needs no round trip.
        if self.store.delete(self.keys.entry_key(session_id, content)):
            self.held -= len(content)
            self.evicted += 1
        self.refs[content] -= 1
        self.drop_frame(content)

    def _last_use(self, session_id: str) -> float:
        raw = self.store.get(self.keys.seen + session_id)
        try:
            return float(raw) if raw else 0.0
        except ValueError:
            return 0.0

    def drop_sessions(self, target: int) -> None:
        others = [s for s in self.entries if s != self.keep_session]
        stamps = {session_id: self._last_use(session_id) for session_id in others}
        for session_id in sorted(others, key=stamps.get):
            if self.held <= target:
                break
            for content in self.entries.pop(session_id):
                self.drop_entry(session_id, content)
            if self.store.delete(self.keys.seen + session_id):
                self.held -= STAMP_BYTES


_instances: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_instances_lock = threading.Lock()


def for_lab(lab, slug: str) -> ServersideStore:
    """This process's ServersideStore of `slug` for a Lab (its memory cache lives as long as the Lab)."""
    with _instances_lock:
        per_lab = _instances.setdefault(lab, {})
        instance = per_lab.get(slug)
        if instance is None:
            instance = per_lab[slug] = ServersideStore(lab, slug)
        return instance
