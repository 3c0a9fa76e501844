"""What the load watches beside the sessions: the RSS of every gunicorn worker and Redis's memory (sampled),
and the Redis restart midway (--restart-redis-at)."""

from __future__ import annotations

import contextlib
import threading
import time

import psutil
import redis

from ..servers import PrivateRedis
from .driver import Clock

SAMPLE_S = 2.0


def worker_rss(master_pid: int) -> dict[str, float]:
    """RSS in MB of every child of the gunicorn master (its workers)."""
    out: dict[str, float] = {}
    try:
        children = psutil.Process(master_pid).children()
    except psutil.Error:
        return out
    for child in children:
        with contextlib.suppress(psutil.Error):
            out[str(child.pid)] = round(child.memory_info().rss / 2**20, 1)
    return out


def redis_memory(url: str) -> dict | None:
    """INFO memory: used_memory and used_memory_rss in MB; None when Redis does not answer."""
    client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
    try:
        info = client.info("memory")
    except redis.RedisError:
        return None
    finally:
        client.close()
    return {"used_memory_mb": round(info["used_memory"] / 2**20, 2), "used_memory_rss_mb": round(info["used_memory_rss"] / 2**20, 2)}


class Sampler(threading.Thread):
    """Calls sample() every `every` seconds until finish(), which takes one last sample."""

    def __init__(self, name: str, every: float):
        super().__init__(name=name, daemon=True)
        self.every = every
        self.samples: list[dict] = []
        self.halt = threading.Event()

    def sample(self) -> dict:
        raise NotImplementedError

    def run(self) -> None:
        while not self.halt.wait(self.every):
            self.sample()

    def finish(self) -> None:
        self.halt.set()
        self.join(10)
        self.sample()


class MemoryWatch(Sampler):
    def __init__(self, clock: Clock, master_pid: int | None, redis_url: str | None, every: float = SAMPLE_S):
        super().__init__("load-memory", every)
        self.clock, self.master_pid, self.redis_url = clock, master_pid, redis_url

    def sample(self) -> dict:
        s = {"t": round(self.clock.now(), 2)}
        if self.master_pid is not None:
            s["workers"] = worker_rss(self.master_pid)
        if self.redis_url:
            s["redis"] = redis_memory(self.redis_url)
        self.samples.append(s)
        return s


class RedisRestart(threading.Thread):
    def __init__(self, redis: PrivateRedis, clock: Clock, at: float, down_for: float):
        super().__init__(name="load-redis-restart", daemon=True)
        self.redis, self.clock, self.at, self.down_for = redis, clock, at, down_for
        self.down_at: float | None = None
        self.up_at: float | None = None
        self.problem: str | None = None
        self.cancel = threading.Event()

    def run(self) -> None:
        if self.cancel.wait(max(0.0, self.at - self.clock.now())):
            return
        self.down_at = self.clock.now()
        self.redis.stop()
        time.sleep(self.down_for)
        try:
            self.redis.start()
        except (RuntimeError, TimeoutError, OSError) as exc:
            self.problem = f"Redis did not come back: {exc}"
            return
        self.up_at = self.clock.now()


def _cpu_rss(pid: int) -> tuple[float, float] | None:
    try:
        proc = psutil.Process(pid)
        times = proc.cpu_times()
        return round(times.user + times.system, 3), round(proc.memory_info().rss / 2**20, 1)
    except psutil.Error:
        return None


class CpuWatch(Sampler):
    """CPU seconds and RSS of the server's workers (the children of each gunicorn master) and of the load generator's
    processes (Locust's master and workers), every `every` seconds, with the wall time: a saturated client is told
    from a saturated server by these (the capacity report puts the generator's CPU beside the server's)."""

    def __init__(self, server_masters: list[int], every: float = 1.0):
        super().__init__("capacity-cpu", every)
        self.server_masters = list(server_masters)
        self.generator: list[int] = []

    def sample(self) -> dict:
        server: dict[str, list] = {}
        for master in self.server_masters:
            with contextlib.suppress(psutil.Error):
                for child in psutil.Process(master).children():
                    got = _cpu_rss(child.pid)
                    if got is not None:
                        server[str(child.pid)] = list(got)
        generator = {}
        for pid in list(self.generator):
            got = _cpu_rss(pid)
            if got is not None:
                generator[str(pid)] = got[0]
        s = {"t": time.time(), "server": server, "generator": generator}
        self.samples.append(s)
        return s

    def finish(self) -> None:
        # No last sample: by now the run's processes may be gone, which would read as a drop in their CPU.
        self.halt.set()
        self.join(10)
