"""The /benchmark page's job: run the harness against this very site, keep the latest report.

The page's Run button hands a request (rows, sessions, rounds, strategies and this
server's own address, taken from the socket the click arrived on) to a background
callback; the job first checks that the address answers with this site's own store
token — it benchmarks itself, never another host — then runs
bench.runner.Runner and saves the report under "benchmark:latest", where every worker,
every browser and a reload find it.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from urllib.parse import urlsplit

import pandas as pd

import stores
from bench import report as reports
from bench.runner import Probe, RunConfig, Runner, Target
from bench.specs import BASELINE
from components import bench_probe
from stores import codec, telemetry

LATEST = "benchmark:latest"
WINDOWS = "benchmark:windows"  # when page-started runs were going: their requests are not "visitors"
ROW_CHOICES = (1_000, 10_000, 100_000)
MAX_SESSIONS = 16
MAX_ROUNDS = 10
MAX_ROWS_VALUES = 3
KEEP_WINDOWS = 50
SLACK = 3.0  # seconds after a run's last beat during which its requests may still be finishing


class JobRefused(ValueError):
    """A run request the page will not start (bad numbers, or a URL that is not this site)."""


def check_request(rows, sessions, rounds, strategies, known: list[str]) -> dict:
    """A validated run request from the page's controls; JobRefused with what to fix."""
    try:
        rows = sorted({int(r) for r in (rows or [])})
    except (TypeError, ValueError):
        raise JobRefused("rows must be whole numbers") from None
    if not rows or len(rows) > MAX_ROWS_VALUES or any(r not in ROW_CHOICES for r in rows):
        raise JobRefused(f"pick one to {MAX_ROWS_VALUES} row counts among {', '.join(f'{r:,}' for r in ROW_CHOICES)}")
    try:
        sessions, rounds = int(sessions), int(rounds)
    except (TypeError, ValueError):
        raise JobRefused("sessions and rounds must be whole numbers") from None
    if not 1 <= sessions <= MAX_SESSIONS:
        raise JobRefused(f"sessions must be between 1 and {MAX_SESSIONS}")
    if not 1 <= rounds <= MAX_ROUNDS:
        raise JobRefused(f"rounds must be between 1 and {MAX_ROUNDS}")
    chosen = [s for s in (strategies or []) if s in known]
    if not chosen:
        raise JobRefused("pick at least one strategy")
    return {"rows": rows, "sessions": sessions, "rounds": rounds, "strategies": chosen}


def own_url(environ: dict, host_url: str) -> str:
    """Where this very server listens, from the socket the request arrived on (gunicorn), not from the
    Host header a client chose; the browser's host_url only when no socket is known (a dev server)."""
    sock = environ.get("gunicorn.socket")
    if sock is not None:
        try:
            host, port = sock.getsockname()[:2]
        except (OSError, ValueError, TypeError):
            host = None
        if host:
            scheme = environ.get("wsgi.url_scheme", "http")
            return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"
    parts = urlsplit(host_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise JobRefused(f"cannot benchmark {host_url!r}: not an http URL")
    return f"{parts.scheme}://{parts.netloc}"


def verify_self(lab: stores.Lab, url: str) -> None:
    """Refuse unless url answers the probe with this store's site token (no benchmarking other hosts)."""
    probe = Probe([url], timeout=15)
    try:
        answer = probe.read(BASELINE)
    finally:
        probe.close()
    if not answer or answer.get("site") != bench_probe.site_token(lab):
        raise JobRefused(f"{url} did not answer as this site: the benchmark only runs against the server it is started from")


def run(lab: stores.Lab, request: dict, set_progress=None) -> dict:
    """Run the harness against this site (from a background job) and keep the report as the latest."""
    url = request["url"]
    verify_self(lab, url)
    started = time.time()
    _open_window(lab, started)
    cfg = RunConfig(rows=request["rows"], sessions=request["sessions"], rounds=request["rounds"],
                    strategies=request["strategies"], compute_delay=lab.settings.compute_delay, timeout=60)
    target = Target([url], workers=None, backend=lab.settings.mode)
    last = [0.0]

    def progress(done, total, label):
        now = time.monotonic()
        if set_progress and (now - last[0] > 0.5 or done >= total):
            last[0] = now
            share = round(100 * done / max(total, 1))
            set_progress((share, f"{share}%", f"now: {label}"))

    # A cancelled job is killed outright: its window must end at its last heartbeat, not stay open.
    finished = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(lab, started, finished), daemon=True)
    beat.start()
    try:
        result = Runner(cfg, target, progress=progress).run()
    finally:
        finished.set()
        beat.join(5)
        _close_window(lab, started)
    result["config"]["source"] = "page"
    save(lab, result)
    return result


def save(lab: stores.Lab, result: dict) -> None:
    reports.check(result)
    lab.store.set(LATEST, reports.to_json(result).encode())


def latest(lab: stores.Lab) -> dict | None:
    """The latest report kept in the store, or None (none yet, or unreadable)."""
    raw = lab.store.get(LATEST)
    if raw is None:
        return None
    try:
        return reports.check(json.loads(raw))
    except (ValueError, reports.ReportError):
        return None


def _windows(lab: stores.Lab) -> list[list]:
    raw = lab.store.get(WINDOWS)
    try:
        return [w for w in codec.loads(raw) if isinstance(w, list) and len(w) == 2] if raw else []
    except (stores.CorruptValue, TypeError):
        return []


def _heartbeat(lab: stores.Lab, started: float, finished: threading.Event, every: float = 0.5) -> None:
    while not finished.wait(every):
        with contextlib.suppress(stores.StoreError):  # a missed beat only narrows the run's window
            _close_window(lab, started)


def _open_window(lab: stores.Lab, started: float) -> None:
    with lab.store.lock("benchmark-windows", ttl=10, wait=5):
        lab.store.set(WINDOWS, codec.dumps((_windows(lab) + [[started, started]])[-KEEP_WINDOWS:]))


def _close_window(lab: stores.Lab, started: float) -> None:
    """Extend this run's window to now (called as the run goes, and once at its end)."""
    with lab.store.lock("benchmark-windows", ttl=10, wait=5):
        windows = [[s, e if s != started else time.time()] for s, e in _windows(lab)]
        lab.store.set(WINDOWS, codec.dumps(windows))


def visitors(lab: stores.Lab) -> pd.DataFrame:
    """What real visitors' callbacks cost, per strategy (requests of page-started benchmark runs left out)."""
    frame = telemetry.requests_frame(lab.store)
    frame = frame[~frame["strategy"].isin(["", telemetry.LAB, "benchmark"])]
    for start, end in _windows(lab):
        frame = frame[~frame["time"].between(start, (end or start) + SLACK)]
    columns = ["strategy", "requests", "workers hit", "p50 server ms", "p95 server ms", "mean up B", "mean down B", "errors", "last seen"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    grouped = frame.groupby("strategy")
    out = pd.DataFrame({
        "requests": grouped.size(),
        "workers hit": grouped["pid"].nunique(),
        "p50 server ms": grouped["server_ms"].median().round(1),
        "p95 server ms": grouped["server_ms"].quantile(0.95).round(1),
        "mean up B": grouped["request_bytes"].mean().round(0).astype(int),
        "mean down B": grouped["response_bytes"].mean().round(0).astype(int),
        "errors": grouped["status"].apply(lambda s: int((s >= 400).sum())),
        "last seen": grouped["time"].max().map(lambda t: time.strftime("%H:%M:%S", time.localtime(t))),
    }).reset_index()
    return out.sort_values("requests", ascending=False)[columns]
