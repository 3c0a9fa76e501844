"""Attack the site as a hostile visitor would, on loopback, and measure what a normal visitor pays.

    python3 scripts/attacks.py --out out/attacks            # embedded mode
    python3 scripts/attacks.py --out out/attacks --redis    # Redis mode: a private redis-server + Celery

It starts its own site (serve.Site, 4 workers, a temporary data directory) and, with --redis, its
own redis-server on a free port; it stops both when done. For each attack it measures the no-op
callback (the benchmark's floor, `baseline-noop__pong`) from one sequential client: p50/p95 with no
attack, then while each attack runs:

  idle      64 idle TCP connections + 16 connections dribbling header lines, reopened when dropped
  sync      four concurrent POSTs of the background page's synchronous demo (`background__sync-run`)
  flood     20 clients POSTing callbacks as fast as they can, accepted and rejected ones alternating
  jobs      50 background-job starts (example 1, largest rows offered) in 10 s, each from its own page load

and after each the growth of the data directory (bytes) and of Redis' used_memory. Every attack is
bounded in time and requests, talks only to the site it started on 127.0.0.1, and stops by itself.
Writes attacks.json and prints the table (also attacks.md).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config import load_settings  # noqa: E402
from serve import Site, free_port, stop  # noqa: E402

CALLBACK = "/_dash-update-component"


# --- the normal visitor -----------------------------------------------------------------------


def noop_body(n_clicks: int) -> dict:
    return {
        "output": "baseline-noop__pong.children",
        "outputs": {"id": "baseline-noop__pong", "property": "children"},
        "inputs": [{"id": "baseline-noop__ping", "property": "n_clicks", "value": n_clicks}],
        "changedPropIds": ["baseline-noop__ping.n_clicks"],
        "state": [],
    }


def measure_noop(url: str, seconds: float, until: threading.Event | None = None, timeout: float = 60.0) -> dict:
    """Sequential no-op callbacks for `seconds` (or until `until` is set): latencies in ms, and failures."""
    latencies, failures = [], []
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline and not (until is not None and until.is_set()):
        n += 1
        started = time.perf_counter()
        try:
            response = requests.post(url + CALLBACK, json=noop_body(n), timeout=timeout)
            ok = response.status_code == 200 and f"pong {n}" in response.text
            if not ok:
                failures.append(f"HTTP {response.status_code}: {response.text[:100]}")
        except requests.RequestException as exc:
            failures.append(type(exc).__name__)
        latencies.append((time.perf_counter() - started) * 1000)
        # A visitor clicking, not a flood of our own: 5 a second stays inside the per-address rate
        # limit (150 per 10 s), which on loopback the visitor shares with the attacker.
        time.sleep(0.2)
    return {"latencies_ms": latencies, "failures": failures}


def percentile(samples: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None without samples."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil
    return ordered[int(rank) - 1]


# --- slow and idle clients ---------------------------------------------------------------------


class SlowClients:
    """`idle` connections that never send a byte and `dribbling` ones that send one header line a
    second and never finish; any the server drops is opened again, until stop()."""

    def __init__(self, host: str, port: int, idle: int = 64, dribbling: int = 16, interval: float = 1.0):
        self.address = (host, port)
        self.idle, self.dribbling, self.interval = idle, dribbling, interval
        self.opened = 0
        self.dropped = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _connect(self, dribble: bool) -> socket.socket | None:
        try:
            sock = socket.create_connection(self.address, timeout=5)
        except OSError:
            return None
        self.opened += 1
        if dribble:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: attacker\r\n")
        sock.setblocking(False)
        return sock

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        kinds: dict[socket.socket, bool] = {}

        def fill():
            want = {False: self.idle, True: self.dribbling}
            for dribble in (False, True):
                while sum(1 for k in kinds.values() if k == dribble) < want[dribble] and not self._stop.is_set():
                    sock = self._connect(dribble)
                    if sock is None:
                        return
                    kinds[sock] = dribble
                    selector.register(sock, selectors.EVENT_READ)

        fill()
        line = 0
        next_beat = time.monotonic() + self.interval
        while not self._stop.is_set():
            for key, _ in selector.select(timeout=0.2):
                sock = key.fileobj
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:  # dropped by the server (or answered: a dribbler never finishes)
                    self.dropped += 1
                    selector.unregister(sock)
                    kinds.pop(sock, None)
                    sock.close()
            if time.monotonic() >= next_beat:
                line += 1
                next_beat += self.interval
                for sock, dribble in list(kinds.items()):
                    if dribble:
                        with contextlib.suppress(OSError):  # a dropped one is noticed on the next select
                            sock.send(f"X-Slow-{line}: {'a' * 8}\r\n".encode())
            fill()
        for sock in kinds:
            sock.close()
        selector.close()

    def start(self) -> SlowClients:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def __enter__(self) -> SlowClients:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# --- the other attacks --------------------------------------------------------------------------


def page_token(secret: str) -> str:
    """What a page load of /background hands the browser: a job token this server signed."""
    from stores import sessions

    return sessions.mint(secret.encode())


def sync_body(token: str, rows: int, n_clicks: int = 1) -> dict:
    return {
        "output": "background__sync-result.children",
        "outputs": {"id": "background__sync-result", "property": "children"},
        "inputs": [{"id": "background__sync-run", "property": "n_clicks", "value": n_clicks}],
        "changedPropIds": ["background__sync-run.n_clicks"],
        "state": [{"id": "background__rows", "property": "value", "value": rows},
                  {"id": "background__token", "property": "data", "value": token}],
    }


def job_body(token: str, rows: int, steps: int, n_clicks: int = 1) -> dict:
    return {
        "output": "background__ex1-result.children",
        "outputs": {"id": "background__ex1-result", "property": "children"},
        "inputs": [{"id": "background__ex1-run", "property": "n_clicks", "value": n_clicks}],
        "changedPropIds": ["background__ex1-run.n_clicks"],
        "state": [{"id": "background__rows", "property": "value", "value": rows},
                  {"id": "background__steps", "property": "value", "value": steps},
                  {"id": "background__token", "property": "data", "value": token}],
    }


def rejected_body(i: int) -> dict:
    return {"output": f"nothing-{i}.children", "outputs": {"id": f"nothing-{i}", "property": "children"},
            "inputs": [], "changedPropIds": [], "state": []}


def tree_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                continue
    return total


def process_count(site: Site) -> int:
    import psutil

    try:
        return len(psutil.Process(site.web.pid).children(recursive=True))
    except psutil.Error:
        return 0


class Attacks:
    def __init__(self, site: Site, seconds: float, redis_url: str | None):
        self.site, self.seconds, self.redis_url = site, seconds, redis_url
        self.url = site.url

    def redis_memory(self) -> int | None:
        if not self.redis_url:
            return None
        import redis

        return int(redis.Redis.from_url(self.redis_url).info("memory")["used_memory"])

    def run(self, name: str, attack) -> dict:
        """Measure the no-op while `attack(done)` runs in a thread; it sets `done` when it ends by itself."""
        before_disk, before_redis = tree_size(self.site.settings.data_dir), self.redis_memory()
        done, detail, peak = threading.Event(), {}, [process_count(self.site)]
        worker = threading.Thread(target=lambda: detail.update(attack(done) or {}), daemon=True)
        started = time.monotonic()
        worker.start()
        sampler_stop = threading.Event()

        def sample():
            while not sampler_stop.wait(0.5):
                peak[0] = max(peak[0], process_count(self.site))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        time.sleep(0.5)  # let the attack take hold before the visitor arrives
        noop = measure_noop(self.url, self.seconds + 60, until=done)
        worker.join(120)
        sampler_stop.set()
        sampler.join(5)
        after_redis = self.redis_memory()
        row = {
            "attack": name,
            "seconds": round(time.monotonic() - started, 1),
            "noop_requests": len(noop["latencies_ms"]),
            "noop_failures": len(noop["failures"]),
            "noop_rate_limited": sum(f.startswith("HTTP 429") for f in noop["failures"]),
            "noop_failure_examples": sorted({f[:160] for f in noop["failures"]})[:3],
            "noop_p50_ms": _round(percentile(noop["latencies_ms"], 50)),
            "noop_p95_ms": _round(percentile(noop["latencies_ms"], 95)),
            "noop_max_ms": _round(max(noop["latencies_ms"], default=None)),
            "data_dir_growth_bytes": tree_size(self.site.settings.data_dir) - before_disk,
            "redis_used_memory_growth_bytes": None if after_redis is None else after_redis - before_redis,
            "peak_site_processes": peak[0],
            "detail": detail,
        }
        print(f"  {name}: p50 {row['noop_p50_ms']} ms, p95 {row['noop_p95_ms']} ms, "
              f"{row['noop_failures']} failed, detail {json.dumps(detail)[:300]}", flush=True)
        return row

    def none(self, done):
        time.sleep(min(self.seconds, 15))
        done.set()

    def idle(self, done):
        with SlowClients(self.site.host, self.site.port, idle=64, dribbling=16) as clients:
            time.sleep(self.seconds)
        done.set()
        return {"connections_opened": clients.opened, "dropped_by_server": clients.dropped}

    def sync(self, done):
        import workload

        statuses, texts = [], []
        secret = self.site.settings.secret

        def post(i):
            try:
                response = requests.post(self.url + CALLBACK, json=sync_body(page_token(secret), workload.DEFAULT_ROWS, 1),
                                         timeout=self.site.settings.worker_timeout + 60)
                statuses.append(response.status_code)
                texts.append(response.text)
            except requests.RequestException as exc:
                statuses.append(type(exc).__name__)

        threads = [threading.Thread(target=post, args=(i,), daemon=True) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(self.site.settings.worker_timeout + 90)
        done.set()
        return {"statuses": statuses, "answered_busy": sum("Another visitor" in t for t in texts)}

    def flood(self, done):
        counts: dict[str, int] = {}
        lock = threading.Lock()
        deadline = time.monotonic() + self.seconds

        def client(c):
            session, i = requests.Session(), 0
            while time.monotonic() < deadline:
                i += 1
                body = noop_body(10_000 + i) if i % 2 else rejected_body(i)
                try:
                    status = str(session.post(self.url + CALLBACK, json=body, timeout=30).status_code)
                except requests.RequestException as exc:
                    status = type(exc).__name__
                with lock:
                    counts[status] = counts.get(status, 0) + 1

        threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(self.seconds + 40)
        done.set()
        return {"requests": sum(counts.values()), "by_status": counts}

    def jobs(self, done):
        import workload

        counts: dict[str, int] = {}
        rows, secret = max(workload.ROW_CHOICES), self.site.settings.secret
        started = time.monotonic()
        for i in range(50):
            time.sleep(max(0.0, started + i * 0.2 - time.monotonic()))
            try:
                response = requests.post(self.url + CALLBACK, json=job_body(page_token(secret), rows, 4), timeout=30)
                status = str(response.status_code)
            except requests.RequestException as exc:
                status = type(exc).__name__
            counts[status] = counts.get(status, 0) + 1
        time.sleep(max(0.0, self.seconds - (time.monotonic() - started)))  # the jobs run on meanwhile
        done.set()
        return {"starts": 50, "by_status": counts}


def _round(value):
    return None if value is None else round(value, 1)


def start_redis(directory: Path) -> tuple[subprocess.Popen, str]:
    if shutil.which("redis-server") is None:
        raise SystemExit("--redis needs redis-server (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    import redis

    client = redis.Redis(port=port, socket_connect_timeout=0.5)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if client.ping():
                return process, f"redis://127.0.0.1:{port}/0"
        except redis.RedisError:
            time.sleep(0.1)
    stop(process, 5)
    raise SystemExit("the private redis-server did not answer within 20 s")


def table(rows: list[dict], mode: str) -> str:
    lines = [f"| attack ({mode}) | no-op p50 ms | no-op p95 ms | failed (of which 429) / requests | data dir growth | "
             "Redis memory growth | peak site processes |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        redis_growth = "–" if r["redis_used_memory_growth_bytes"] is None else f"{r['redis_used_memory_growth_bytes']:,} B"
        lines.append(f"| {r['attack']} | {r['noop_p50_ms']} | {r['noop_p95_ms']} | {r['noop_failures']} "
                     f"({r['noop_rate_limited']}) / {r['noop_requests']} | {r['data_dir_growth_bytes']:,} B | "
                     f"{redis_growth} | {r['peak_site_processes']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python3 scripts/attacks.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="where attacks.json and attacks.md go")
    parser.add_argument("--redis", action="store_true", help="Redis mode: start a private redis-server and a Celery worker")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the idle and flood attacks last (default 30)")
    parser.add_argument("--only", default="none,idle,sync,flood,jobs", help="comma-separated attacks to run")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="statelab-attacks-"))
    redis_process = redis_url = None
    try:
        if args.redis:
            redis_process, redis_url = start_redis(tmp)
        settings = load_settings(env={}, data_dir=tmp / "data").replace(secret=os.urandom(16).hex(), redis_url=redis_url)
        with Site(settings, workers=4, log_dir=tmp / "logs") as site:
            print(f"site on {site.url} ({settings.mode}); attacks: {args.only}", flush=True)
            attacks = Attacks(site, args.seconds, redis_url)
            rows = [attacks.run(name, getattr(attacks, name)) for name in args.only.split(",")]
    finally:
        stop(redis_process, 5)
        shutil.rmtree(tmp, ignore_errors=True)
    mode = "redis" if args.redis else "embedded"
    report = {"mode": mode, "workers": 4, "seconds": args.seconds, "cpus": os.cpu_count(), "results": rows}
    (out / "attacks.json").write_text(json.dumps(report, indent=2))
    text = table(rows, mode)
    (out / "attacks.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
