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

and after each the growth of the data directory (bytes) and of Redis' used_memory. Each measurement
is made --repeat times (default 3; the attacks take turns, so a slow minute of the machine does not
land on one attack) and the table gives the medians. Every request a page would send (the visitor's
no-op, the synchronous demo, the job starts, the flood's accepted half) goes through the project's
headless renderer (bench.dashclient): each attacker opens the page and clicks, so the bodies are the
page's own; only the flood's deliberately malformed half is written by hand. Every attack is bounded
in time and requests, talks only to the site it started on 127.0.0.1, and stops by itself.
Writes attacks.json and prints the table (also attacks.md).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import redis
import requests

from bench.dashclient import Browser, Graph, Page
from config import load_settings
from reports.fmt import human_bytes
from serve import Site, free_port, stop

ROOT = Path(__file__).resolve().parents[1]

CALLBACK = "/_dash-update-component"
NOOP_PAGE, NOOP = "/benchmark", "baseline-noop__"
JOBS_PAGE, JOBS = "/background", "background__"


# --- the normal visitor -----------------------------------------------------------------------


def open_page(url: str, path: str, outputs: tuple[str, ...], timeout: float = 60.0, graph: Graph | None = None) -> Page:
    """A visitor's tab on `path`, firing only the callbacks whose output starts with one of `outputs`
    (the other panels of the page are not what is measured)."""
    page = Page(Browser(url, timeout=timeout), path, scope=lambda cb: cb.output.lstrip(".").startswith(outputs), graph=graph)
    page.open()
    return page


def click(page: Page, ident: str, n_clicks: int) -> tuple[str, float, str]:
    """Click `ident` as the renderer would: (status of its first request, ms, error or "")."""
    interaction = page.set_props([(ident, "n_clicks", n_clicks)])
    first = interaction.calls[0] if interaction.calls else None
    status = str(first.status) if first else "none"
    errors = interaction.all_errors
    return status, interaction.ms, errors[0] if errors else ""


def measure_noop(url: str, seconds: float, until: threading.Event | None = None, timeout: float = 60.0) -> dict:
    """A visitor clicking the no-op for `seconds` (or until `until` is set): latencies in ms, and failures."""
    latencies, failures = [], []
    page = open_page(url, NOOP_PAGE, (NOOP,), timeout)
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline and not (until is not None and until.is_set()):
        n += 1
        status, ms, error = click(page, NOOP + "ping", n)
        if error or page.get(NOOP + "pong", "children") != f"pong {n}":
            failures.append(f"HTTP {status}: {error[:100]}" if error else f"HTTP {status}: no pong {n}")
        latencies.append(ms)
        # A visitor clicking, not a flood of our own: 5 a second stays inside the per-address rate
        # limit (150 per 10 s), which on loopback the visitor shares with the attacker.
        time.sleep(0.2)
    page.browser.close()
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
        statuses, errors, texts = [], [], []
        timeout = self.site.settings.worker_timeout + 60

        def post(i):  # four visitors, each with the page open, press the synchronous demo's button at once
            try:
                page = open_page(self.url, JOBS_PAGE, (JOBS + "sync-result",), timeout)
            except Exception as exc:  # a page that did not load is the attack's outcome, not ours to raise
                statuses.append(type(exc).__name__)
                return
            status, _ms, error = click(page, JOBS + "sync-run", 1)
            statuses.append(status)
            errors.append(error)
            texts.append(json.dumps(page.get(JOBS + "sync-result", "children")))
            page.browser.close()

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
            try:
                page = open_page(self.url, NOOP_PAGE, (NOOP,), 30)
            except Exception as exc:  # refused at the door (429 on the page load) counts as an answer
                with lock:
                    counts[type(exc).__name__] = counts.get(type(exc).__name__, 0) + 1
                return
            i = 0
            while time.monotonic() < deadline:
                i += 1
                if i % 2:  # accepted: the page's own no-op request
                    status = click(page, NOOP + "ping", 10_000 + i)[0]
                else:  # rejected: an output no page has, written by hand on purpose
                    try:
                        status = str(page.browser.http.post(self.url + CALLBACK, json=rejected_body(i), timeout=30).status_code)
                    except requests.RequestException as exc:
                        status = type(exc).__name__
                with lock:
                    counts[status] = counts.get(status, 0) + 1
            page.browser.close()

        threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(self.seconds + 40)
        done.set()
        return {"requests": sum(counts.values()), "by_status": counts}

    def jobs(self, done):
        """50 visitors, one every 0.2 s, each loading the page and starting example 1 at its largest row count;
        an admitted job is polled by its visitor as the renderer would, until its result."""
        counts: dict[str, int] = {}
        reasons: set[str] = set()
        lock = threading.Lock()
        graph = open_page(self.url, JOBS_PAGE, (JOBS + "ex1-result",)).graph  # one GET of the graph for all

        def start(i):
            try:
                page = open_page(self.url, JOBS_PAGE, (JOBS + "ex1-result",), 120, graph=graph)
                rows = max(option["value"] for option in page.get(JOBS + "rows", "options"))
                page.set_props([(JOBS + "rows", "value", rows)])
                status, _ms, error = click(page, JOBS + "ex1-run", 1)
                page.browser.close()
            except Exception as exc:  # e.g. the page load refused by the rate limit: counted, not raised
                status, error = type(exc).__name__, str(exc)
            with lock:
                counts[status] = counts.get(status, 0) + 1
                if error:
                    reasons.add(re.sub(r"\d+ s\b", "N s", error.split(": ", 1)[-1])[:120])

        started = time.monotonic()
        threads = []
        for i in range(50):
            time.sleep(max(0.0, started + i * 0.2 - time.monotonic()))
            threads.append(threading.Thread(target=start, args=(i,), daemon=True))
            threads[-1].start()
        for thread in threads:
            thread.join(max(1.0, self.seconds + 60 - (time.monotonic() - started)))
        time.sleep(max(0.0, self.seconds - (time.monotonic() - started)))  # the jobs run on meanwhile
        done.set()
        return {"starts": 50, "by_status": counts, "refused_with": sorted(reasons)[:4]}


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


MEDIAN_FIELDS = ("seconds", "noop_requests", "noop_failures", "noop_rate_limited", "noop_p50_ms", "noop_p95_ms",
                 "noop_max_ms", "data_dir_growth_bytes", "redis_used_memory_growth_bytes", "peak_site_processes")


def medians(runs: list[dict]) -> list[dict]:
    """One row per attack, in the order first run: the median of each figure over its runs (all runs kept)."""
    by_attack: dict[str, list[dict]] = {}
    for run in runs:
        by_attack.setdefault(run["attack"], []).append(run)
    rows = []
    for name, group in by_attack.items():
        row = {"attack": name, "runs": len(group)}
        for field in MEDIAN_FIELDS:
            values = [r[field] for r in group if r[field] is not None]
            row[field] = _round(statistics.median(values)) if values else None
        row["each_run"] = group
        rows.append(row)
    return rows


def table(rows: list[dict], mode: str) -> str:
    runs = max((r["runs"] for r in rows), default=1)
    lines = [f"Medians of {runs} run(s) per attack.", "",
             f"| attack ({mode}) | no-op p50 ms | no-op p95 ms | failed (of which 429) / requests | data dir growth | "
             "Redis memory growth | peak site processes |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['attack']} | {r['noop_p50_ms']} | {r['noop_p95_ms']} | {r['noop_failures']:g} "
                     f"({r['noop_rate_limited']:g}) / {r['noop_requests']:g} | {human_bytes(r['data_dir_growth_bytes'])} | "
                     f"{human_bytes(r['redis_used_memory_growth_bytes'])} | {r['peak_site_processes']:g} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python3 scripts/attacks.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="where attacks.json and attacks.md go")
    parser.add_argument("--redis", action="store_true", help="Redis mode: start a private redis-server and a Celery worker")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the idle and flood attacks last (default 30)")
    parser.add_argument("--only", default="none,idle,sync,flood,jobs", help="comma-separated attacks to run")
    parser.add_argument("--log-dir", help="keep the site's logs here (default: removed with the temporary data)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the table gives medians (default 3)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="statelab-attacks-"))
    redis_process = redis_url = None
    try:
        if args.redis:
            redis_process, redis_url = start_redis(tmp)
        settings = load_settings(env={}, data_dir=tmp / "data").replace(secret=os.urandom(16).hex(), redis_url=redis_url)
        with Site(settings, workers=4, log_dir=Path(args.log_dir) if args.log_dir else tmp / "logs") as site:
            print(f"site on {site.url} ({settings.mode}); attacks: {args.only}", flush=True)
            attacks = Attacks(site, args.seconds, redis_url)
            runs = []
            for turn in range(max(1, args.repeat)):  # the attacks take turns: drift of the machine is spread over all
                print(f"run {turn + 1} of {max(1, args.repeat)}", flush=True)
                runs += [attacks.run(name, getattr(attacks, name)) for name in args.only.split(",")]
            rows = medians(runs)
    finally:
        stop(redis_process, 5)
        shutil.rmtree(tmp, ignore_errors=True)
    mode = "redis" if args.redis else "embedded"
    report = {"mode": mode, "workers": 4, "seconds": args.seconds, "cpus": os.cpu_count(), "repeat": args.repeat,
              "results": rows}
    (out / "attacks.json").write_text(json.dumps(report, indent=2))
    text = table(rows, mode)
    (out / "attacks.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
