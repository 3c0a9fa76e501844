"""One value every visitor shares, pushed to every open tab on every worker: the live bus.

A change is a small JSON object {"seq", "value", "by", "at", "pid"}: `seq` counts changes (one
counter for the whole site), `at` is the publisher's clock (time.time()) when it published, `pid`
the worker that published it. The store keeps the current change and a short history, so a tab that
connects gets the value at once; the bus then pushes every later change.

- Redis mode: one Lua script increments the counter, stores the change and its history and
  PUBLISHes it, so every worker sees changes in the order of their seq. Each worker holds ONE
  pub/sub connection (a listener thread) and fans out to its own subscribers; a tab never has a
  Redis connection of its own. When Redis goes away the listener says so to every subscriber,
  retries, re-subscribes, reloads the value and reports how many changes it may have missed. A
  restarted Redis without persistence comes back empty: the first listener to reconnect restores the
  last change it saw (only if Redis holds nothing newer), so the value survives the restart.
- Embedded mode (no server): every worker binds a Unix datagram socket in <data dir>/livebus/ (the
  directory 0700, each socket 0600: only this user's processes can write to them). A publisher
  stores the change in the embedded store under a cross-process lock and, still under the lock (so
  every worker receives changes in seq order), sends one datagram to every socket there, dropping
  sockets whose worker is gone. A full socket buffer drops a datagram; the receiver sees the jump in
  seq, reloads the value and reports the gap.

Bounds: the value's length and characters (validate_value), the message size (MAX_MESSAGE_BYTES),
changes per client (per connection: CLIENT_RATE) and site-wide (SITE_RATE_PER_SECOND), subscribers
per worker (max_subscribers), and each subscriber's queue (a slow tab loses its oldest events, counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import secrets
import socket
import threading
import time
import unicodedata
from collections import deque
from pathlib import Path

import redis
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from redis.backoff import NoBackoff
from redis.retry import Retry

from config import Settings

from .base import Store, StoreError, StoreUnavailable
from .redisstore import redact

MAX_VALUE_CHARS = 200
MAX_NAME_CHARS = 24
MAX_MESSAGE_BYTES = 2048  # one change as JSON (UTF-8); 200 characters of 4 bytes each still fit
HISTORY = 10  # changes kept besides the current one
CLIENT_RATE = "5 per 10 seconds"  # per connection (the renderer's socket): a person typing, not a script
SITE_RATE_PER_SECOND = 50  # every client together: bounds the store, the bus and every tab's frames
MAX_SUBSCRIBERS = 500  # per worker: each one is a task and a queue on this worker
QUEUE_LENGTH = 64  # events waiting for one subscriber; older ones are dropped (and counted)
RECONNECT_DELAYS = (0.1, 0.2, 0.5, 1.0, 2.0)  # seconds between Redis reconnect attempts (then 2 s)
SOCKET_PATH_MAX = 107  # sun_path is 108 bytes with its terminating NUL

_PUBLISH = """
local seq = redis.call('incr', KEYS[1])
local change = '{"seq":' .. seq .. ',' .. string.sub(ARGV[1], 2)
redis.call('set', KEYS[2], change)
redis.call('lpush', KEYS[3], change)
redis.call('ltrim', KEYS[3], 0, tonumber(ARGV[2]) - 1)
redis.call('publish', ARGV[3], change)
return change
"""
# After a restart without persistence: put back the last change a listener saw, unless Redis already
# holds it or a newer one (another worker restored first, or somebody published since).
_RESTORE = """
local seq = tonumber(redis.call('get', KEYS[1]) or '0')
if seq >= tonumber(ARGV[1]) then return 0 end
redis.call('set', KEYS[1], ARGV[1])
redis.call('set', KEYS[2], ARGV[2])
redis.call('del', KEYS[3])
for i = 3, #ARGV do redis.call('rpush', KEYS[3], ARGV[i]) end
return 1
"""


class Refused(ValueError):
    """A change the bus will not take; the message says why, in words a visitor can act on."""


class BusFull(RuntimeError):
    """This worker already has max_subscribers subscribers."""


def validate_value(value) -> str:
    """The shared annotation: text, 1..MAX_VALUE_CHARS characters after trimming, no control characters."""
    if not isinstance(value, str):
        raise Refused("the value must be text")
    text = value.strip()
    if not text:
        raise Refused("the value is empty: type a short annotation")
    if len(text) > MAX_VALUE_CHARS:
        raise Refused(f"the value has {len(text)} characters; at most {MAX_VALUE_CHARS} are allowed")
    bad = next((ch for ch in text if unicodedata.category(ch).startswith("C")), None)
    if bad is not None:
        raise Refused(f"the value contains a control or unassigned character (U+{ord(bad):04X}); use plain text")
    return text


def validate_name(name) -> str:
    """Who made the change: letters, digits, space, '-', '_', '.'; 1..MAX_NAME_CHARS characters."""
    if not isinstance(name, str) or not name.strip():
        raise Refused("say who you are: a short name")
    text = name.strip()
    if len(text) > MAX_NAME_CHARS:
        raise Refused(f"the name has {len(text)} characters; at most {MAX_NAME_CHARS} are allowed")
    if not all(ch.isalnum() or ch in " -_." for ch in text):
        raise Refused("the name may hold letters, digits, spaces and - _ . only")
    return text


def encode(change: dict) -> bytes:
    return json.dumps(change, ensure_ascii=False, separators=(",", ":")).encode()


def decode(raw) -> dict | None:
    """A change read from the store, Redis or a datagram, or None when it is not one (checked, not trusted)."""
    if raw is None or len(raw) > MAX_MESSAGE_BYTES:
        return None
    try:
        change = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(change, dict):
        return None
    fields = {"seq": int, "value": str, "by": str, "at": (int, float), "pid": int}
    if any(not isinstance(change.get(k), t) or isinstance(change.get(k), bool) for k, t in fields.items()):
        return None
    return {k: change[k] for k in fields}


class Subscription:
    """One connection's view of the bus: events ({"type": "change"|"status", ...}) in arrival order.

    The listener thread delivers; the connection's task awaits `next()` (asyncio) or a thread calls
    `get()`. Bounded: at most QUEUE_LENGTH waiting events, the oldest dropped first (`dropped`)."""

    def __init__(self, bus: LiveBus, loop: asyncio.AbstractEventLoop | None):
        self.bus = bus
        self.loop = loop
        self.dropped = 0
        self.closed = False
        self._events: deque = deque()
        self._cond = threading.Condition()
        self._wake = asyncio.Event() if loop is not None else None

    def deliver(self, event: dict) -> None:
        with self._cond:
            if len(self._events) >= QUEUE_LENGTH:
                self._events.popleft()
                self.dropped += 1
            self._events.append(event)
            self._cond.notify_all()
        if self.loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed: the connection is gone
                self.loop.call_soon_threadsafe(self._wake.set)

    def _take(self) -> list[dict]:
        with self._cond:
            events = list(self._events)
            self._events.clear()
            return events

    def get(self, timeout: float) -> list[dict]:
        """Every waiting event, waiting up to timeout seconds for the first (thread side)."""
        with self._cond:
            self._cond.wait_for(lambda: self._events or self.closed, timeout)
        return self._take()

    async def next(self, timeout: float) -> list[dict]:
        """Every waiting event, awaiting up to timeout seconds for the first (event-loop side)."""
        with contextlib.suppress(asyncio.TimeoutError):
            if not self._events:
                await asyncio.wait_for(self._wake.wait(), timeout)
        self._wake.clear()
        return self._take()

    def close(self) -> None:
        self.closed = True
        self.bus._unsubscribe(self)
        with self._cond:
            self._cond.notify_all()


class LiveBus:
    """What both modes share: validation, rate limits, subscribers and their fan-out."""

    mode = "?"

    def __init__(self, settings: Settings, store: Store, topic: str = "shared", max_subscribers: int = MAX_SUBSCRIBERS):
        self.settings = settings
        self.store = store
        self.topic = topic
        self.max_subscribers = max_subscribers
        self.key = f"livebus:{topic}"
        self._subs: set[Subscription] = set()
        self._subs_lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self._stop = threading.Event()
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._client_rate = parse(CLIENT_RATE)
        self.last_seq = 0  # the newest change this worker's listener has delivered
        self.last_change: dict | None = None
        self.state = "idle"  # idle | up | down: the listener's link to the other workers
        self.missed_total = 0  # changes this worker may have missed, over its life

    # -- publishing ------------------------------------------------------------------------------
    def publish(self, value, by, client: str) -> dict:
        """Validate, rate-limit and publish one change; the change as stored. Raises Refused (the
        visitor's fault, say it) or StoreUnavailable (the store's, say that)."""
        text, name = validate_value(value), validate_name(by)
        if self.settings.rate_limits != "off" and not self._limiter.hit(self._client_rate, self.topic, client):
            raise Refused(f"too many changes from this connection: at most {CLIENT_RATE}; wait a few seconds")
        body = {"value": text, "by": name, "at": time.time(), "pid": os.getpid()}
        if len(encode({"seq": 2**53, **body})) > MAX_MESSAGE_BYTES:
            raise Refused(f"the change would be larger than {MAX_MESSAGE_BYTES} bytes; shorten the value")
        try:
            self._check_site_rate()
            return self._publish(body)
        except StoreUnavailable as exc:
            words = str(exc)
            raise StoreUnavailable(words if "not saved" in words else f"{words}; the change was not saved") from exc

    def _check_site_rate(self) -> None:
        window = int(time.time())
        key = f"{self.key}:rate:{window}"
        count = self.store.incr(key)
        if count == 1:
            self.store.touch(key, 5)
        if count > SITE_RATE_PER_SECOND:
            raise Refused(f"the whole site is changing the value more than {SITE_RATE_PER_SECOND} times a second; "
                          "try again in a moment")

    def _publish(self, body: dict) -> dict:
        raise NotImplementedError

    def current(self) -> dict | None:
        raise NotImplementedError

    def history(self) -> list[dict]:
        """The latest changes, newest first (the current one included)."""
        raise NotImplementedError

    # -- subscribing -----------------------------------------------------------------------------
    def subscribe(self, loop: asyncio.AbstractEventLoop | None = None) -> Subscription:
        """A subscription of this worker; starts the worker's one listener on first use (after the fork)."""
        sub = Subscription(self, loop)
        with self._subs_lock:
            if len(self._subs) >= self.max_subscribers:
                raise BusFull(f"this worker already pushes to {self.max_subscribers} tabs, its bound; "
                              "the page falls back to polling")
            self._subs.add(sub)
            if self._listener is None or not self._listener.is_alive():
                self._stop.clear()
                self._listener = threading.Thread(target=self._listen, name=f"livebus-{self.topic}", daemon=True)
                self._listener.start()
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._subs_lock:
            self._subs.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def _fan_out(self, event: dict) -> None:
        with self._subs_lock:
            subs = list(self._subs)
        for sub in subs:
            sub.deliver(event)

    def _status(self, state: str, message: str, **extra) -> None:
        self.state = state
        self._fan_out({"type": "status", "state": state, "message": message, "pid": os.getpid(),
                       "at": time.time(), **extra})

    def _receive(self, change: dict) -> None:
        """One change from the bus: deliver it, or note the gap before it, or skip it (already seen)."""
        if change["seq"] <= self.last_seq:
            return
        gap = change["seq"] - self.last_seq - 1 if self.last_seq else 0
        if gap > 0:
            self.missed_total += gap
            self._status("up", f"{gap} change{'s' if gap != 1 else ''} may have been missed; value reloaded",
                         missed=gap)
        self.last_seq, self.last_change = change["seq"], change
        self._fan_out({"type": "change", "change": change})

    def _listen(self) -> None:
        raise NotImplementedError

    def info(self) -> dict:
        return {"mode": self.mode, "pid": os.getpid(), "state": self.state, "subscribers": self.subscribers,
                "max_subscribers": self.max_subscribers, "last_seq": self.last_seq, "missed_total": self.missed_total}

    def stop(self) -> None:
        """Stop the listener (tests, shutdown); subscribers stay but receive nothing more."""
        self._stop.set()
        if self._listener is not None:
            self._listener.join(timeout=5)
            self._listener = None


class RedisBus(LiveBus):
    mode = "redis"

    def __init__(self, settings: Settings, store: Store, **kwargs):
        super().__init__(settings, store, **kwargs)
        self.url = settings.redis_url
        self.channel = f"statelab:{self.key}:changes"
        self.keys = [f"statelab:{self.key}:{name}" for name in ("seq", "current", "history")]
        # No retries: an error must surface here, where the gap is counted, not be hidden by a silent
        # reconnect inside redis-py.
        options = {"socket_connect_timeout": settings.redis_timeout, "retry": Retry(NoBackoff(), 0)}
        self.client = redis.Redis.from_url(self.url, socket_timeout=settings.redis_timeout, **options)
        # The listener's connection waits for messages, so no socket timeout; a PING every 2 s tells
        # a dead server from a quiet one.
        self.listen_client = redis.Redis.from_url(self.url, health_check_interval=2, **options)
        self._publish_script = self.client.register_script(_PUBLISH)
        self._restore_script = self.client.register_script(_RESTORE)

    def _unavailable(self, exc: Exception) -> StoreUnavailable:
        return StoreUnavailable(f"Redis at {redact(self.url)} did not answer ({exc}); the change was not saved")

    def _publish(self, body):
        try:
            raw = self._publish_script(keys=self.keys, args=[encode(body), HISTORY, self.channel])
        except redis.RedisError as exc:
            raise self._unavailable(exc) from exc
        return decode(raw)

    def current(self):
        try:
            return decode(self.client.get(self.keys[1]))
        except redis.RedisError as exc:
            raise self._unavailable(exc) from exc

    def history(self):
        try:
            raw = self.client.lrange(self.keys[2], 0, HISTORY - 1)
        except redis.RedisError as exc:
            raise self._unavailable(exc) from exc
        return [c for c in map(decode, raw) if c]

    def _resync(self, first: bool, down_since: float | None) -> None:
        """Just (re)subscribed: load the value; after an outage, restore what Redis lost and report the gap."""
        current = decode(self.client.get(self.keys[1]))
        if first:
            if current:
                self.last_seq, self.last_change = current["seq"], current
            self.state = "up"
            return
        restored = False
        if self.last_change and (current is None or current["seq"] < self.last_seq):
            # Redis came back empty (or older): put back the last change this worker saw.
            history = [encode(c) for c in reversed(self.history_seen)]
            restored = bool(self._restore_script(keys=self.keys, args=[self.last_seq, encode(self.last_change), *history]))
            current = decode(self.client.get(self.keys[1]))
        missed = max(0, current["seq"] - self.last_seq) if current else 0
        self.missed_total += missed
        outage = time.time() - down_since if down_since else 0.0
        words = f"{missed} change{'s' if missed != 1 else ''} may have been missed; value reloaded"
        if restored:
            words += " (Redis came back empty: the last value was restored)"
        self._status("up", f"Redis is back after {outage:.1f} s: {words}", missed=missed, restored=restored,
                     outage_s=round(outage, 3))
        if current and current["seq"] > self.last_seq:
            self.last_seq, self.last_change = current["seq"], current
            self._fan_out({"type": "change", "change": current, "reloaded": True})

    @property
    def history_seen(self) -> list[dict]:
        return list(self._seen)

    def _listen(self):
        self._seen: deque = deque(maxlen=HISTORY)
        first, down_since, attempt = True, None, 0
        while not self._stop.is_set():
            pubsub = self.listen_client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.channel)  # before reading the value: nothing falls in between
                self._resync(first, down_since)
                first, down_since, attempt = False, None, 0
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    change = decode(message["data"]) if message else None
                    if change:
                        self._seen.append(change)
                        self._receive(change)
            except (redis.RedisError, OSError) as exc:
                if down_since is None:
                    down_since = time.time()
                    self._status("down", f"Redis at {redact(self.url)} is unreachable ({type(exc).__name__}); "
                                 "reconnecting — changes made meanwhile are counted when it is back")
                self._stop.wait(RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)])
                attempt += 1
            finally:
                with contextlib.suppress(redis.RedisError, OSError):
                    pubsub.close()


class EmbeddedBus(LiveBus):
    mode = "embedded"

    def __init__(self, settings: Settings, store: Store, **kwargs):
        super().__init__(settings, store, **kwargs)
        self.directory = Path(settings.data_dir) / "livebus"
        self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sender.setblocking(False)
        self.path: Path | None = None

    def _prepare_dir(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)

    def _publish(self, body):
        with self.store.lock(self.key, ttl=5, wait=3):
            previous = self.current()
            seq = self.store.incr(f"{self.key}:seq")
            if previous and previous["seq"] >= seq:  # the counter was lost: never go backwards
                seq = previous["seq"] + 1
                self.store.set(f"{self.key}:seq", str(seq).encode())
            change = {"seq": seq, **body, "at": time.time()}  # stored and sent now: the delay counts from here
            raw = encode(change)
            self.store.set(f"{self.key}:current", raw)
            self.store.set(f"{self.key}:history", json.dumps([change, *self.history()][:HISTORY]).encode())
            self._send_all(raw)  # still under the lock: every worker receives the changes in seq order
        return change

    def _send_all(self, raw: bytes) -> None:
        self._prepare_dir()
        for entry in os.scandir(self.directory):
            if not entry.name.endswith(".sock"):
                continue
            try:
                self._sender.sendto(raw, entry.path)
            except (ConnectionRefusedError, FileNotFoundError):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)  # its worker is gone
            except BlockingIOError:
                pass  # that worker's buffer is full: it sees the gap in seq and reloads
            except OSError as exc:
                if exc.errno not in (errno.ENOTSOCK, errno.EPROTOTYPE):
                    raise StoreUnavailable(f"the live bus could not reach {entry.name}: {exc.strerror}") from exc

    def current(self):
        return decode(self.store.get(f"{self.key}:current"))

    def history(self):
        raw = self.store.get(f"{self.key}:history")
        try:
            items = json.loads(raw) if raw else []
        except ValueError:
            return []
        return [c for c in (decode(encode(i)) if isinstance(i, dict) else None for i in items) if c]

    def _bind(self) -> socket.socket:
        self._prepare_dir()
        path = self.directory / f"{os.getpid()}-{secrets.token_hex(4)}.sock"
        if len(os.fsencode(path)) > SOCKET_PATH_MAX:
            raise StoreUnavailable(f"the data directory's path is too long for a Unix socket ({len(os.fsencode(path))} "
                                   f"bytes > {SOCKET_PATH_MAX}): use a shorter STATELAB_DATA_DIR")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(path))
        os.chmod(path, 0o600)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.settimeout(1.0)  # wake once a second to notice stop()
        self.path = path
        return sock

    def _listen(self):
        try:
            sock = self._bind()
        except (OSError, StoreError) as exc:
            self._status("down", f"the live bus cannot listen: {exc}")
            return
        try:
            with contextlib.suppress(StoreError):
                current = self.current()
                if current and current["seq"] > self.last_seq:
                    self.last_seq, self.last_change = current["seq"], current
            self.state = "up"
            while not self._stop.is_set():
                try:
                    raw = sock.recv(MAX_MESSAGE_BYTES + 1)
                except TimeoutError:
                    continue
                change = decode(raw)
                if change:
                    self._receive(change)
        finally:
            sock.close()
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            self.state = "idle"


_buses: dict[tuple, LiveBus] = {}
_buses_lock = threading.Lock()


def bus(settings: Settings, store: Store, topic: str = "shared") -> LiveBus:
    """This process's bus for topic (one listener per worker, however many tabs)."""
    key = (topic, settings.redis_url, str(settings.data_dir))
    with _buses_lock:
        if key not in _buses:
            kind = RedisBus if settings.redis_url else EmbeddedBus
            _buses[key] = kind(settings, store, topic=topic)
        return _buses[key]


def _forget_after_fork() -> None:
    # A forked child has no listener thread: it builds its own bus on first use.
    global _buses_lock
    _buses.clear()
    _buses_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
