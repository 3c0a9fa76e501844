"""The live bus (stores/livebus.py) across real processes: a change published by one process reaches
the subscribers of every other, in both modes; dead workers' sockets are dropped; a Redis restart
is reported, the value survives it, and changes a listener missed are counted; the bounds refuse
with a message.

Each subscriber is a real Python process with its own bus (one listener thread), printing every
event it receives as a JSON line; the test publishes from its own process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis

from bench.servers import PrivateRedis
from config import PROJECT_DIR, load_settings
from stores import livebus, open_store
from tests.support import wait_until

SUBSCRIBER = r"""
import json, os, sys, time
from pathlib import Path
from config import load_settings
from stores import livebus, open_store
settings = load_settings(env={}, data_dir=Path(sys.argv[1]), redis_url=sys.argv[2] or None)
bus = livebus.bus(settings, open_store(settings))
sub = bus.subscribe()
while bus.state != "up":
    time.sleep(0.02)
print(json.dumps({"type": "ready", "pid": os.getpid(), "last_seq": bus.last_seq}), flush=True)
while True:
    for event in sub.get(1.0):
        print(json.dumps({**event, "received": time.time()}), flush=True)
"""


class Subscriber:
    """A real process subscribed to the bus; `events` fills as it prints them."""

    def __init__(self, data_dir: Path, redis_url: str | None):
        self.events: list[dict] = []
        self.process = subprocess.Popen(
            [sys.executable, "-c", SUBSCRIBER, str(data_dir), redis_url or ""],
            cwd=PROJECT_DIR, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.events.append(json.loads(line))

    @property
    def ready(self) -> bool:
        return any(e["type"] == "ready" for e in self.events)

    def changes(self) -> list[dict]:
        return [e["change"] for e in self.events if e["type"] == "change"]

    def statuses(self) -> list[dict]:
        return [e for e in self.events if e["type"] == "status"]

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self.process.stdout.close()


@pytest.fixture
def subscribers():
    started: list[Subscriber] = []

    def start(n: int, data_dir: Path, redis_url: str | None) -> list[Subscriber]:
        new = [Subscriber(data_dir, redis_url) for _ in range(n)]
        started.extend(new)
        wait_until(lambda: all(s.ready or s.process.poll() is not None for s in new), 60, message="subscribers ready")
        assert all(s.ready for s in new), "a subscriber process exited before it was ready"
        return new

    yield start
    for sub in started:
        sub.stop()


def _settings(tmp_path: Path, redis_url: str | None = None):
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700, exist_ok=True)
    return load_settings(env={}, data_dir=data_dir, redis_url=redis_url)


def _publisher(settings):
    # A bus of its own, like another worker's (not the process singleton, which the subscribers share
    # only within their own processes).
    kind = livebus.RedisBus if settings.redis_url else livebus.EmbeddedBus
    return kind(settings, open_store(settings))


def test_a_change_reaches_every_subscriber_process_in_order(tmp_path, backend, subscribers):
    settings = _settings(tmp_path, backend.changes(database=7).get("redis_url"))
    if settings.redis_url:
        redis.Redis.from_url(settings.redis_url).flushdb()
    subs = subscribers(3, settings.data_dir, settings.redis_url)
    assert len({s.events[0]["pid"] for s in subs}) == 3
    bus = _publisher(settings)
    published = [bus.publish(f"note {i} — ünïcode ✓", "tester", client=f"c{i}") for i in range(5)]
    assert [c["seq"] for c in published] == sorted(c["seq"] for c in published)
    for sub in subs:
        wait_until(lambda sub=sub: len(sub.changes()) >= 5, 30, message="5 changes at every subscriber")
        assert [c["value"] for c in sub.changes()] == [c["value"] for c in published]
        assert [c["seq"] for c in sub.changes()] == [c["seq"] for c in published]
        assert not sub.statuses(), sub.statuses()
    delays = sorted(e["received"] - e["change"]["at"] for s in subs for e in s.events if e["type"] == "change")
    print(f"\n{backend}: publish -> subscriber process, p50 {1000 * delays[len(delays) // 2]:.1f} ms, "
          f"max {1000 * delays[-1]:.1f} ms over {len(delays)} deliveries")
    assert bus.current() == published[-1]
    assert [c["seq"] for c in bus.history()][:5] == [c["seq"] for c in reversed(published)]


def test_embedded_drops_the_socket_of_a_dead_worker(tmp_path, subscribers):
    settings = _settings(tmp_path)
    alive, dead = subscribers(2, settings.data_dir, None)
    sockets = lambda: sorted(p.name for p in (settings.data_dir / "livebus").glob("*.sock"))  # noqa: E731
    assert len(sockets()) == 2
    directory = settings.data_dir / "livebus"
    assert directory.stat().st_mode & 0o777 == 0o700
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in directory.glob("*.sock"))
    os.killpg(dead.process.pid, signal.SIGKILL)  # no clean-up: its socket file stays behind
    dead.process.wait(10)
    assert len(sockets()) == 2
    bus = _publisher(settings)
    bus.publish("after the kill", "tester", client="c")
    wait_until(lambda: alive.changes(), 30, message="the live subscriber's change")
    assert len(sockets()) == 1 and sockets()[0].startswith(f"{alive.events[0]['pid']}-")


def test_redis_restart_is_reported_and_the_value_survives(tmp_path, subscribers):
    server = PrivateRedis(tmp_path / "redis").start()
    try:
        settings = _settings(tmp_path, server.url)
        subs = subscribers(3, settings.data_dir, settings.redis_url)
        bus = _publisher(settings)
        before = bus.publish("before the restart", "tester", client="c")
        for sub in subs:
            wait_until(lambda sub=sub: sub.changes(), 30, message="the first change")
        server.stop()  # no persistence: it comes back empty
        for sub in subs:
            wait_until(lambda sub=sub: any(s["state"] == "down" for s in sub.statuses()), 30, message="'down' reported")
        with pytest.raises(livebus.StoreUnavailable, match="not saved"):
            bus.publish("while Redis is down", "tester", client="c")
        server = PrivateRedis(tmp_path / "redis", port=server.port).start()
        for sub in subs:
            wait_until(lambda sub=sub: any(s["state"] == "up" for s in sub.statuses()), 60, message="'up' reported")
            up = next(s for s in sub.statuses() if s["state"] == "up")
            assert "may have been missed" in up["message"] and up["missed"] == 0
        assert sum(next(s for s in sub.statuses() if s["state"] == "up")["restored"] for sub in subs) >= 1
        assert bus.current()["value"] == "before the restart"  # put back by the first listener to return
        after = bus.publish("after the restart", "tester", client="c")
        assert after["seq"] == before["seq"] + 1  # the counter was restored too: no seq is reused
        for sub in subs:
            wait_until(lambda sub=sub: sub.changes()[-1]["value"] == "after the restart", 30, message="the next change")
    finally:
        server.stop()


def test_changes_missed_while_a_listener_reconnects_are_counted(tmp_path, private_redis, subscribers):
    settings = _settings(tmp_path, private_redis.url)
    subs = subscribers(2, settings.data_dir, settings.redis_url)
    bus = _publisher(settings)
    bus.publish("first", "tester", client="c")
    for sub in subs:
        wait_until(lambda sub=sub: sub.changes(), 30, message="the first change")
    admin = redis.Redis.from_url(private_redis.url)
    admin.client_kill_filter(_type="pubsub")  # every listener's connection drops; Redis stays up
    missed = [bus.publish(f"during {i}", "tester", client=f"m{i}") for i in range(3)]
    for sub in subs:
        wait_until(lambda sub=sub: sub.changes()[-1]["seq"] == missed[-1]["seq"], 30, message="the newest value")
        got = {c["seq"] for c in sub.changes()} & {c["seq"] for c in missed}
        counted = sum(s.get("missed", 0) for s in sub.statuses() if s["state"] == "up")
        # Each change published while the listener was away was either received or counted as missed.
        assert len(got) + counted >= len(missed), (got, sub.statuses())
        assert any(s["state"] == "up" for s in sub.statuses())


def test_the_bounds_refuse_with_a_message(tmp_path):
    settings = _settings(tmp_path).replace(rate_limits="on")
    bus = livebus.EmbeddedBus(settings, open_store(settings), max_subscribers=2)
    for bad, words in [("", "empty"), ("x" * (livebus.MAX_VALUE_CHARS + 1), "at most"), ("a\x00b", "control"),
                       (12, "must be text"), ({"a": 1}, "must be text")]:
        with pytest.raises(livebus.Refused, match=words):
            bus.publish(bad, "tester", client="bounds")
    for bad_name in ("", "x" * 40, "<script>", None):
        with pytest.raises(livebus.Refused):
            bus.publish("fine", bad_name, client="bounds")
    limit = int(livebus.CLIENT_RATE.split()[0])
    for i in range(limit):
        bus.publish(f"ok {i}", "tester", client="one-connection")
    with pytest.raises(livebus.Refused, match="too many changes from this connection"):
        bus.publish("one too many", "tester", client="one-connection")
    bus.publish("another connection is not limited by the first", "tester", client="another-connection")
    first, second = bus.subscribe(), bus.subscribe()
    with pytest.raises(livebus.BusFull, match="2 tabs"):
        bus.subscribe()
    first.close()
    third = bus.subscribe()  # a closed subscription frees its place
    for sub in (second, third):
        sub.close()
    bus.stop()
    assert livebus.decode(b'{"seq": "1", "value": "x", "by": "y", "at": 1, "pid": 1}') is None
    assert livebus.decode(b"x" * (livebus.MAX_MESSAGE_BYTES + 1)) is None


def test_a_slow_subscriber_loses_its_oldest_events_not_the_worker(tmp_path):
    settings = _settings(tmp_path)
    bus = livebus.EmbeddedBus(settings, open_store(settings))
    sub = bus.subscribe()
    wait_until(lambda: bus.state == "up", 30, message="the listener")
    for i in range(livebus.QUEUE_LENGTH + 10):
        sub.deliver({"type": "change", "change": {"seq": i}})
    events = sub.get(1.0)
    assert len(events) == livebus.QUEUE_LENGTH and sub.dropped == 10
    assert events[-1]["change"]["seq"] == livebus.QUEUE_LENGTH + 9
    sub.close()
    bus.stop()
    deadline = time.monotonic() + 10
    while bus.path and bus.path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not bus.path.exists(), "a stopped listener removes its socket"
