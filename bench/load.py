"""The load scenario: many sessions for a fixed time over every strategy, the memory of every
gunicorn worker and of Redis at the start and the end, and optionally Redis restarted midway.

    python -m bench --scenario load --sessions 50 --duration 60 --out DIR
    python -m bench --scenario load --redis auto --restart-redis-at 25 --out DIR

Session i drives strategy i mod n (n = the strategies the site lists plus the no-op floor) with
the same headless renderer and the same declared specs as the standard run: its own cookies,
session ids and browser-held state, one round after another with a short think time, until the
duration ends. The run is bounded three ways: no round starts after the duration; rounds still
running get DRAIN_S seconds, after which every further request of every session fails at once;
and the whole run sends at most --max-requests requests. A request already on the wire is bounded
by --timeout. An interaction still unanswered after --abandon-after seconds (a background job whose
task was lost polls for ever, as the browser would) is given up on: the session reloads its page
and goes on. Interactions given up on are counted as "unanswered", with their start time, apart
from errors. Loopback only: the harness starts the site itself (or drives --url).

Memory: the resident set (RSS) of every gunicorn worker — the children of the master process the
harness started — and Redis's INFO memory (used_memory, used_memory_rss), sampled every
SAMPLE_S seconds; the bound applies to the peak over the run minus the reading at the start.

Redis restart (--redis auto --restart-redis-at T): the harness started its own redis-server, with
no persistence (--save "" --appendonly no), on a free port. At T it stops it (SIGTERM), waits
--redis-down-for seconds and starts it again on the same port. Every error, stale read and
unanswered interaction carries its time; those whose time span overlaps [down, up + grace] are the outage's,
the others count against the strategy. Values a strategy held in Redis before the restart are gone
(no persistence): a strategy "keeps" its state through the restart if it recomputes or reports the
loss cleanly, never shows another session's data, and errs only inside the window.
"""

from __future__ import annotations

import contextlib
import html
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

import workload

from . import SCHEMA, metrics
from .dashclient import PARALLEL, Browser, DashClientError, Graph, Interaction, Page, parse
from .runner import Probe, RoundRecord, RunConfig, Runner, StepData, Target, _act, _merge, browser_held_bytes, in_namespace, plan
from .specs import Ctx, Spec, click, texts

DEFAULT_SESSIONS = 50
DEFAULT_DURATION = 60.0
DEFAULT_THINK = 0.5  # seconds between a session's rounds (×0.5..1.5, per-session random)
DEFAULT_MAX_REQUESTS = 50_000
DEFAULT_DOWN_FOR = 3.0
WORKER_RSS_BOUND_MB = 150.0
REDIS_BOUND_MB = 200.0
GRACE_S = 5.0
DRAIN_S = 15.0
ABANDON_S = 30.0
SAMPLE_S = 2.0
BIN_S = 5.0
MAX_EVENTS = 300
# Strategies that do not claim to keep one session's value apart from another's (by design).
UNSAFE = {"global-variable"}
# Pages whose state only grows with every round: reset (untimed) every N rounds so a long run stays
# within the page's limits (the patch demo stops at 50,000 rows).
RESETS = {"patch": (10, click("reset"))}
# Pages whose read shows the same value every round (the background job always reports the session's row count):
# there a read only counts as the session's own when this round's answer replaced the output.
FRESH_READS = {"background"}
NO_NEW_ANSWER = "(no new answer: the output still shows the previous round's)"
CUT = "load test ended before this request"
ABANDONED = "the load test gave up on this interaction"
BUDGET = "the load test's request budget is spent"


# --------------------------------------------------------------------------- a private Redis


def _free_port() -> int:
    from serve import free_port

    return free_port()


class PrivateRedis:
    """A redis-server of the harness's own on a free loopback port, without persistence."""

    def __init__(self, directory: Path, port: int | None = None):
        self.directory = Path(directory)
        self.port = port or _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> PrivateRedis:
        if shutil.which("redis-server") is None:
            raise RuntimeError("--redis auto needs redis-server on the PATH (apt-get install redis-server)")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"redis-server on port {self.port} exited with code {self.process.returncode}")
                with contextlib.suppress(redis.RedisError):
                    if client.ping():
                        return self
                if time.monotonic() > deadline:
                    raise TimeoutError(f"redis-server on port {self.port} did not answer within {timeout:g} s")
                time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        from serve import stop

        stop(self.process, 5)
        self.process = None


# --------------------------------------------------------------------------- bounded requests


class Guard:
    """Every session's requests pass here: refused after the hard stop, counted against the budget."""

    def __init__(self, budget: int):
        self.budget = budget
        self.sent = 0
        self.exhausted = False
        self.stop = threading.Event()
        self._lock = threading.Lock()

    def admit(self) -> None:
        with self._lock:
            if self.stop.is_set():
                raise requests.ConnectionError(BUDGET if self.exhausted else CUT)
            if self.sent >= self.budget:
                self.exhausted = True
                self.stop.set()
                raise requests.ConnectionError(BUDGET)
            self.sent += 1


class Gate:
    """One session's side of the guard: which interaction it is in, and whether the run gave up on it."""

    def __init__(self, guard: Guard):
        self.guard = guard
        self.busy: tuple[int, float] | None = None  # (interaction number, start s)
        self.abandon: int | None = None  # the interaction number the run gave up on
        self._seq = 0

    def begin(self, t: float) -> None:
        self._seq += 1
        self.abandon = None
        self.busy = (self._seq, t)

    def end(self) -> None:
        self.busy = None

    def give_up_if_older(self, now: float, limit: float) -> bool:
        busy = self.busy
        if busy is not None and now - busy[1] > limit and self.abandon != busy[0]:
            self.abandon = busy[0]
            return True
        return False

    def admit(self) -> None:
        busy = self.busy
        if busy is not None and self.abandon == busy[0]:
            raise requests.ConnectionError(ABANDONED)
        self.guard.admit()


class _GuardedSession(requests.Session):
    def __init__(self, gate: Gate):
        super().__init__()
        self.gate = gate

    def request(self, *args, **kwargs):
        self.gate.admit()
        return super().request(*args, **kwargs)


class _LoadBrowser(Browser):
    """A Browser whose every request goes through its session's Gate."""

    def __init__(self, urls, timeout: float, gate: Gate):
        super().__init__(urls, timeout=timeout)
        guarded = _GuardedSession(gate)
        guarded.headers.update(self.http.headers)
        adapter = requests.adapters.HTTPAdapter(pool_connections=len(self.urls), pool_maxsize=PARALLEL)
        guarded.mount("http://", adapter)
        guarded.mount("https://", adapter)
        self.http.close()
        self.http = guarded


def _is_cut(message: str | None) -> bool:
    return bool(message) and (CUT in message or BUDGET in message or ABANDONED in message)


def _strip_cut(interaction: Interaction) -> bool:
    """Remove the requests the gate refused (they were never sent); True when there were any."""
    before = len(interaction.calls) + len(interaction.errors)
    interaction.calls = [c for c in interaction.calls if not _is_cut(c.error)]
    interaction.errors = [e for e in interaction.errors if not _is_cut(e)]
    return len(interaction.calls) + len(interaction.errors) != before


# --------------------------------------------------------------------------- what one strategy's sessions did


class Clock:
    """Seconds since the load began (wall clock, as the calls' own start times)."""

    def __init__(self):
        self.t0 = time.time()

    def now(self) -> float:
        return time.time() - self.t0

    def of(self, wall: float) -> float:
        return wall - self.t0


@dataclass
class LoadStep:
    """Everything the sessions of one strategy did, with times."""

    step: StepData
    sessions: list[int] = field(default_factory=list)
    timed: list[tuple] = field(default_factory=list)  # (RoundRecord, start s, end s)
    errors: list[dict] = field(default_factory=list)  # {"t0", "t1", "session", "message"}
    unanswered: list[dict] = field(default_factory=list)  # interactions given up on: {"t0", "session", "why"}
    resets: int = 0
    reloads: int = 0
    shown: dict = field(default_factory=dict)  # id(RoundRecord) -> what its wrong or unrecognised reads showed
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def spec(self) -> Spec:
        return self.step.spec

    def error(self, t0: float, t1: float, session: int, message: str) -> None:
        with self.lock:
            self.errors.append({"t0": round(t0, 3), "t1": round(t1, 3), "session": session, "message": message[:300]})

    def gave_up(self, t0: float, session: int, why: str) -> None:
        with self.lock:
            self.unanswered.append({"t0": round(t0, 3), "session": session, "why": why})

    def interaction_errors(self, interaction: Interaction, clock: Clock, started: float, ended: float, session: int) -> None:
        for call in interaction.calls:
            if call.error:
                t0 = clock.of(call.started)
                self.error(t0, t0 + call.ms / 1000, session, call.error)
        for message in interaction.errors:
            self.error(started, ended, session, message)


class _LoadSession(threading.Thread):
    def __init__(self, index: int, rank: int, ls: LoadStep, urls: list[str], graph: Graph, rows: int, run_id: str,
                 clock: Clock, guard: Guard, ended: threading.Event, think: float, timeout: float, tick):
        super().__init__(name=f"load-session-{index}", daemon=True)
        self.index, self.rank, self.ls, self.urls, self.graph, self.rows = index, rank, ls, urls, graph, rows
        self.run_id, self.clock, self.guard, self.ended = run_id, clock, guard, ended
        self.think, self.timeout, self.tick = think, timeout, tick
        self.gate = Gate(guard)
        self.rng = random.Random(index)
        self.r = self.n = 0  # r: rounds since the page (re)loaded or reset, what its own counter shows; n: all rounds

    def _region(self, n: int) -> str:
        """The session's k-th rank among its strategy's sessions picks region k+n+1 in its n-th round: sessions of
        one strategy ask for different values at any round, so a read of another's value differs from its own."""
        return workload.REGIONS[(self.rank + n + 1) % len(workload.REGIONS)]

    def _why(self) -> str:
        return "the run ended (hard stop)" if self.guard.stop.is_set() else "given up after --abandon-after seconds"

    def run(self) -> None:
        browser = _LoadBrowser(self.urls, self.timeout, self.gate)
        page = None
        try:
            page = self._open(browser)
            while page is not None and not self.ended.is_set() and not self.guard.stop.is_set():
                if not self._round(page):
                    if self.guard.stop.is_set() or self.ended.is_set():
                        break
                    with self.ls.lock:
                        self.ls.reloads += 1
                    page = self._open(browser)  # as a user does with a page that hangs: reload it
                    continue
                self.tick()
                if self.ended.wait(self.rng.uniform(0.5, 1.5) * self.think):
                    break
            if page is not None:
                self.ls.step.browser_bytes.append(browser_held_bytes(page, self.ls.spec))
        except Exception as exc:  # noqa: BLE001 - one broken session must not stop the others
            self.ls.error(self.clock.now(), self.clock.now(), self.index, f"session {self.index}: {type(exc).__name__}: {exc}")
        finally:
            self.gate.end()
            browser.close()

    def _open(self, browser) -> Page | None:
        ls, spec = self.ls, self.ls.spec
        started = self.clock.now()
        self.gate.begin(started)
        try:
            page = Page(browser, spec.page_path, scope=in_namespace(spec), clientside=spec.clientside, graph=self.graph)
            load = page.open()
            ctx = Ctx(self.index, -1, self.rows, self._region(-1), "", page)
            for act in spec.setup:
                part = _act(page, spec, act, ctx)
                if part is not None:
                    load.calls.extend(part.calls)
                    load.errors.extend(part.errors)
        except Exception as exc:  # noqa: BLE001
            if _is_cut(str(exc)):
                ls.gave_up(started, self.index, self._why() + " (page load)")
            else:
                ls.error(started, self.clock.now(), self.index,
                         f"session {self.index} could not open {spec.page_path}: {type(exc).__name__}: {exc}")
            return None
        finally:
            self.gate.end()
        cut = _strip_cut(load)
        ls.interaction_errors(load, self.clock, started, self.clock.now(), self.index)
        if cut:
            ls.gave_up(started, self.index, self._why() + " (page load)")
            return None
        ls.step.loads.append(load)
        self.r = 0
        return page

    def _timed(self, fn) -> tuple[Interaction | None, float, float, bool]:
        """Run one user action between gate.begin and gate.end: (interaction, start, end, answered)."""
        t0 = self.clock.now()
        self.gate.begin(t0)
        try:
            interaction = fn()
        finally:
            self.gate.end()
        t1 = self.clock.now()
        if interaction is not None and _strip_cut(interaction):
            polls = sum(1 for c in interaction.calls if c.poll)
            statuses = sorted({c.status for c in interaction.calls})
            self.ls.gave_up(t0, self.index, f"{self._why()}: {len(interaction.calls)} request(s) answered before, "
                                            f"{polls} of them background polls, statuses {statuses}")
            self.ls.interaction_errors(interaction, self.clock, t0, t1, self.index)
            return interaction, t0, t1, False
        return interaction, t0, t1, True

    def _round(self, page: Page) -> bool:
        """One timed round; False when it was given up on (the page must be reloaded)."""
        ls, spec, step = self.ls, self.ls.spec, self.ls.step
        reset = RESETS.get(spec.slug)
        if reset and self.r >= reset[0]:
            ctx = Ctx(self.index, self.r, self.rows, "", "", page)
            part, t0, t1, answered = self._timed(lambda: _act(page, spec, reset[1], ctx))
            if not answered:
                return False
            if part is not None:
                ls.interaction_errors(part, self.clock, t0, t1, self.index)
            with ls.lock:
                ls.resets += 1
            self.r = 0
        token = f"{self.run_id}-s{self.index}n{self.n}"
        ctx = Ctx(self.index, self.r, self.rows, self._region(self.n), token, page)

        def act():
            parts = [part for a in spec.round if (part := _act(page, spec, a, ctx)) is not None]
            return _merge(parts) if parts else None

        held = {read.name: page.get(spec.cid(read.name), read.prop) for read in spec.reads} if spec.slug in FRESH_READS else {}
        interaction, t0, t1, answered = self._timed(act)
        if not answered:
            return False
        expected = spec.expected(ctx)
        checks, shown = [], []
        for read in spec.reads:
            value = page.get(spec.cid(read.name), read.prop)
            got = read.identify(value, ctx, step.candidates)
            if read.name in held and interaction is not None and value is held[read.name]:
                got = NO_NEW_ANSWER  # the page was not updated: what it shows is an earlier round's answer
            checks.append((expected, got))
            if got is None or got != expected:  # keep what the page showed instead, for the report's events
                shown.append(_prose(value))
        record = RoundRecord(self.index, self.n, interaction, checks)
        with ls.lock:
            step.written.setdefault(self.index, set()).add(expected)
            step.records.append(record)
            ls.timed.append((record, t0, t1))
            if shown:
                ls.shown[id(record)] = shown
        if interaction is not None:
            ls.interaction_errors(interaction, self.clock, t0, t1, self.index)
        self.r += 1
        self.n += 1
        return True


def _prose(value) -> str:
    """The readable words of an output (alert text, titles), without colours, fonts and component names."""
    words = [t for t in texts(value) if " " in t.strip() and not t.startswith("#") and "system-ui" not in t]
    return " | ".join(words)[:200]


# --------------------------------------------------------------------------- memory


def worker_rss(master_pid: int) -> dict[str, float]:
    """RSS in MB of every child of the gunicorn master (its workers)."""
    import psutil

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
    import redis

    client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
    try:
        info = client.info("memory")
    except redis.RedisError:
        return None
    finally:
        client.close()
    return {"used_memory_mb": round(info["used_memory"] / 2**20, 2), "used_memory_rss_mb": round(info["used_memory_rss"] / 2**20, 2)}


class MemoryWatch(threading.Thread):
    def __init__(self, clock: Clock, master_pid: int | None, redis_url: str | None, every: float = SAMPLE_S):
        super().__init__(name="load-memory", daemon=True)
        self.clock, self.master_pid, self.redis_url, self.every = clock, master_pid, redis_url, every
        self.samples: list[dict] = []
        self.halt = threading.Event()

    def sample(self) -> dict:
        s = {"t": round(self.clock.now(), 2)}
        if self.master_pid is not None:
            s["workers"] = worker_rss(self.master_pid)
        if self.redis_url:
            s["redis"] = redis_memory(self.redis_url)
        self.samples.append(s)
        return s

    def run(self) -> None:
        while not self.halt.wait(self.every):
            self.sample()

    def finish(self) -> None:
        self.halt.set()
        self.join(10)
        self.sample()


def summarize_memory(samples: list[dict], rss_bound: float, redis_bound: float, workers_note: str | None,
                     redis_note: str | None) -> dict:
    """Start, end, peak and growth of every worker and of Redis, against the bounds."""
    out: dict = {"bounds": {"worker_rss_growth_mb": rss_bound, "redis_rss_growth_mb": redis_bound},
                 "rule": "growth = peak over the run − the reading at the start (end − start is shown too)",
                 "samples": len(samples), "every_s": SAMPLE_S}
    first = samples[0] if samples else {}
    last = samples[-1] if samples else {}
    if "workers" in first:
        pids = list(dict.fromkeys(pid for s in samples for pid in (s.get("workers") or {})))
        rows = []
        for pid in pids:
            seen = [(s["t"], s["workers"][pid]) for s in samples if pid in (s.get("workers") or {})]
            start, end, peak = seen[0][1], seen[-1][1], max(v for _, v in seen)
            rows.append({"pid": pid, "rss_start_mb": start, "rss_end_mb": end, "rss_peak_mb": peak,
                         "growth_mb": round(end - start, 1), "peak_growth_mb": round(peak - start, 1),
                         "from_start": pid in first["workers"], "to_end": pid in (last.get("workers") or {}),
                         "met": peak - start <= rss_bound})
        out["workers"] = rows
        out["workers_replaced"] = [r["pid"] for r in rows if not r["to_end"] or not r["from_start"]]
        out["workers_met"] = bool(rows) and all(r["met"] for r in rows)
    else:
        out["workers"] = None
        out["workers_met"] = None
        out["workers_note"] = workers_note
    if "redis" in first or "redis" in last:
        readings = [(s["t"], s["redis"]) for s in samples if s.get("redis")]
        if readings and first.get("redis") and last.get("redis"):
            start, end = first["redis"], last["redis"]
            peak_rss = max(r["used_memory_rss_mb"] for _, r in readings)
            peak_used = max(r["used_memory_mb"] for _, r in readings)
            out["redis"] = {
                "used_memory_start_mb": start["used_memory_mb"], "used_memory_end_mb": end["used_memory_mb"],
                "used_memory_peak_mb": peak_used, "used_memory_rss_start_mb": start["used_memory_rss_mb"],
                "used_memory_rss_end_mb": end["used_memory_rss_mb"], "used_memory_rss_peak_mb": peak_rss,
                "growth_mb": round(end["used_memory_rss_mb"] - start["used_memory_rss_mb"], 2),
                "peak_growth_mb": round(peak_rss - start["used_memory_rss_mb"], 2),
                "unanswered_samples": sum(1 for s in samples if "redis" in s and not s["redis"]),
                "met": peak_rss - start["used_memory_rss_mb"] <= redis_bound,
            }
            if redis_note:
                out["redis"]["note"] = redis_note
        else:
            out["redis"] = {"met": None, "note": "Redis did not answer INFO at the start or the end"}
    else:
        out["redis"] = None
        out["redis_note"] = redis_note or "no Redis to read (embedded mode, or --url without --redis)"
    checks = [out["workers_met"], (out["redis"] or {}).get("met")]
    out["met"] = None if all(c is None for c in checks) else all(c is not False for c in checks)
    out["timeline"] = [
        {"t": s["t"], **({"workers": s["workers"]} if "workers" in s else {}),
         **({"redis_rss_mb": (s["redis"] or {}).get("used_memory_rss_mb"),
             "redis_used_mb": (s["redis"] or {}).get("used_memory_mb")} if "redis" in s else {})}
        for s in samples
    ]
    return out


# --------------------------------------------------------------------------- Redis restarted midway


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


def _overlaps(t0: float, t1: float, window: tuple[float, float] | None) -> bool:
    return window is not None and t1 >= window[0] and t0 <= window[1]


# --------------------------------------------------------------------------- the run


@dataclass
class LoadConfig:
    sessions: int = DEFAULT_SESSIONS
    duration: float = DEFAULT_DURATION
    rows: int = 1_000
    think: float = DEFAULT_THINK
    timeout: float = 120.0
    max_requests: int = DEFAULT_MAX_REQUESTS
    strategies: list[str] | None = None
    restart_at: float | None = None
    down_for: float = DEFAULT_DOWN_FOR
    grace: float = GRACE_S
    rss_bound: float = WORKER_RSS_BOUND_MB
    redis_bound: float = REDIS_BOUND_MB
    drain: float = DRAIN_S
    abandon_after: float = ABANDON_S
    compute_delay: float | None = None


def _graph(url: str, timeout: float) -> Graph:
    browser = Browser(url, timeout=timeout)
    try:
        response = browser.http.get(url.rstrip("/") + "/_dash-dependencies", timeout=timeout)
        if response.status_code != 200:
            raise DashClientError(f"{url}/_dash-dependencies answered HTTP {response.status_code}")
        return Graph(parse(response.content))
    finally:
        browser.close()


def run(cfg: LoadConfig, target: Target, master_pid: int | None = None, redis_url: str | None = None,
        redis: PrivateRedis | None = None, progress=None, cancel: threading.Event | None = None) -> dict:
    """Run the load and return the report (schema statelab.bench/1, scenario "load")."""
    began = time.time()
    progress = progress or (lambda done, total, label: None)
    run_cfg = RunConfig(rows=[cfg.rows], sessions=cfg.sessions, rounds=1, strategies=cfg.strategies, scenario="load",
                        timeout=cfg.timeout, compute_delay=cfg.compute_delay)
    target = Target(target.urls, workers=target.workers, backend=target.backend)  # the load is on the site: no peer
    graph = _graph(target.urls[0], cfg.timeout)
    specs, skipped = plan(run_cfg, target, graph)
    if not specs:
        raise RuntimeError("no strategy to drive: the server lists none")
    if cfg.sessions < len(specs):
        for spec in specs[cfg.sessions:]:
            skipped[spec.slug] = f"no session left for it (--sessions {cfg.sessions} < {len(specs)} strategies)"
        specs = specs[: cfg.sessions]
    runner = Runner(run_cfg, target)
    runner.rows_seen.append(cfg.rows)  # the candidates a read is recognised among: this row count's values
    steps = {}
    for spec in specs:
        step = StepData(spec, cfg.rows, scenario="load")
        step.candidates = runner._candidates(spec)
        steps[spec.slug] = LoadStep(step)

    probe = Probe(target.urls)
    before = {slug: probe.read(ls.spec) for slug, ls in steps.items()}

    guard = Guard(cfg.max_requests)
    ended = threading.Event()
    clock = Clock()
    watch = MemoryWatch(clock, master_pid, redis_url)
    watch.sample()  # the start: before the first session sends anything
    done = [0]
    lock = threading.Lock()

    def tick():
        with lock:
            done[0] += 1

    sessions = []
    for i in range(cfg.sessions):
        spec = specs[i % len(specs)]
        ls = steps[spec.slug]
        ls.sessions.append(i)
        urls = target.urls[i % len(target.urls):] + target.urls[: i % len(target.urls)]
        sessions.append(_LoadSession(i, i // len(specs), ls, urls, graph, cfg.rows, runner.run_id, clock, guard, ended,
                                     cfg.think, cfg.timeout, tick))
    restart = RedisRestart(redis, clock, cfg.restart_at, cfg.down_for) if redis is not None and cfg.restart_at is not None else None
    clock.t0 = time.time()
    watch.samples[0]["t"] = 0.0
    watch.start()
    if restart:
        restart.start()
    for s in sessions:
        s.start()
    cancelled = False
    try:
        deadline = cfg.duration
        while clock.now() < deadline:
            if cancel is not None and cancel.is_set():
                cancelled = True
                break
            time.sleep(min(0.5, max(0.0, deadline - clock.now())))
            now = clock.now()
            for s in sessions:
                s.gate.give_up_if_older(now, cfg.abandon_after)
            errors = sum(len(ls.errors) for ls in steps.values())
            state = ""
            if restart and restart.down_at is not None:
                state = " · Redis down" if restart.up_at is None else " · Redis back"
            progress(min(int(clock.now()), int(cfg.duration)), int(cfg.duration),
                     f"load · {done[0]:,} interactions · {errors} errors · {guard.sent:,} requests{state}")
            if guard.stop.is_set():
                break
    except KeyboardInterrupt:
        ended.set()
        guard.stop.set()
        raise
    finally:
        ended.set()
    load_end = clock.now()
    drain_until = time.monotonic() + cfg.drain
    for s in sessions:
        s.join(max(0.0, drain_until - time.monotonic()))
    guard.stop.set()  # the hard stop: whatever is still polling or chaining is cut off now
    hard_stop = clock.now()
    last_call = time.monotonic() + cfg.timeout + 5  # a request already on the wire ends within its timeout
    for s in sessions:
        s.join(max(0.0, last_call - time.monotonic()))
    stuck = [s.index for s in sessions if s.is_alive()]
    if restart:
        restart.cancel.set()
        restart.join(30)
    watch.finish()
    stopped = clock.now()
    after = {slug: probe.read(ls.spec) for slug, ls in steps.items()}
    probe.close()

    window = None
    outage = None
    if restart is not None:
        outage = {"planned_at_s": cfg.restart_at, "down_for_s": cfg.down_for, "grace_s": cfg.grace,
                  "down_at_s": _r(restart.down_at), "up_at_s": _r(restart.up_at), "problem": restart.problem,
                  "persistence": "none (redis-server --save '' --appendonly no): every value held in Redis before the "
                                 "restart — server-side frames, caches, counters, Celery's queue and results — is gone after it"}
        if restart.down_at is not None:
            end = restart.up_at if restart.up_at is not None else stopped
            window = (restart.down_at, end + cfg.grace)
            outage["window_s"] = [_r(window[0]), _r(window[1])]

    results = []
    for ls in steps.values():
        step = ls.step
        step.before, step.after = before[ls.spec.slug], after[ls.spec.slug]
        step.seconds = load_end
        row = metrics.summarize(step, target, run_cfg)
        row["scenario"] = "load"  # also with several hosts
        row.update(_load_fields(ls, window, cfg, load_end))
        if restart is not None:
            for key in ("computations", "cache_hits", "cache_misses", "cache_hit_rate"):
                row[key] = None  # the counters live in Redis: the restart reset them
        results.append(row)

    redis_note = None
    if restart is not None:
        redis_note = (f"restarted at {outage.get('down_at_s')} s: the end reading is of a fresh server; the bound "
                      "applies to the peak over the whole run")
    memory = summarize_memory(
        watch.samples, cfg.rss_bound, cfg.redis_bound,
        workers_note="not measured: --url (the harness did not start the site, so it knows no worker processes)",
        redis_note=redis_note)
    config = runner._config(skipped, specs)
    config.update({
        "rows": [cfg.rows], "rounds": None, "duration_s": cfg.duration, "think_s": cfg.think, "drain_s": cfg.drain,
        "timeout": cfg.timeout, "max_requests": cfg.max_requests, "requests_sent": guard.sent,
        "budget_exhausted": guard.exhausted, "cancelled": cancelled,
        "sessions_per_strategy": {slug: len(ls.sessions) for slug, ls in steps.items()},
        "assignment": "session i drives strategy i mod n, in the order of 'strategies'",
        "redis_url": redis_url, "redis_started_here": redis is not None, "loopback": all("127.0.0.1" in u or "localhost" in u
                                                                                         for u in target.urls),
        "load_end_s": _r(load_end), "hard_stop_s": _r(hard_stop), "stopped_s": _r(stopped),
        "time_bound_s": cfg.duration + cfg.drain + cfg.timeout + 5, "sessions_stuck": stuck, "abandon_after_s": cfg.abandon_after,
        "claims_isolation": [s.slug for s in specs if s.slug not in UNSAFE],
        "bounds": {"worker_rss_growth_mb": cfg.rss_bound, "redis_rss_growth_mb": cfg.redis_bound, "grace_s": cfg.grace},
        "workers_observed": max((r["workers_hit"] or 0 for r in results), default=0),
    })
    if not config["loopback"]:
        config["skipped"]["loopback"] = "a --url that is not loopback: the load went over the network"
    events = _events(steps.values(), window)
    report = {
        "schema": SCHEMA,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seconds": round(time.time() - began, 1),
        "config": config,
        "results": results,
        "memory": memory,
        "outage": outage,
        "timeline": _timeline(steps.values(), load_end),
        "events_total": len(events),
        "events": events[:MAX_EVENTS],
    }
    if outage is not None:
        outage.update(_outage_totals(results))
    report["targets"] = load_targets(report)
    report["passed"] = all(t["met"] is not False for t in report["targets"])
    return report


def _r(value, digits: int = 2):
    return None if value is None else round(value, digits)


def _judged(ls: LoadStep) -> list[tuple]:
    """Per timed round: (start, end, session, [(kind, expected, got)]) for its stale, leaked and unrecognised reads."""
    written = ls.step.written
    others = {s: set().union(*(w for o, w in written.items() if o != s)) for s in written}
    out = []
    for record, t0, t1 in ls.timed:
        mine = written.get(record.session, set())
        bad = []
        for expected, got in record.checks:
            if got is None:
                bad.append(("unverified", expected, got))
            elif got != expected:
                leak = got not in mine and got in others.get(record.session, set())
                bad.append(("leak" if leak else "stale", expected, got))
        if bad:
            out.append((t0, t1, record.session, bad, ls.shown.get(id(record)) or []))
    return out


def _load_fields(ls: LoadStep, window, cfg: LoadConfig, load_end: float) -> dict:
    claims = ls.spec.slug not in UNSAFE
    judged = _judged(ls)
    stale_times = [(t0, t1) for t0, t1, _, bad, _ in judged for k, _, _ in bad if k in ("stale", "leak")]
    unverified_times = [(t0, t1) for t0, t1, _, bad, _ in judged for k, _, _ in bad if k == "unverified"]
    leak_times = [(t0, t1) for t0, t1, _, bad, _ in judged for k, _, _ in bad if k == "leak"]
    outside = lambda spans: sum(1 for a, b in spans if not _overlaps(a, b, window))  # noqa: E731
    error_spans = [(e["t0"], e["t1"]) for e in ls.errors]
    gave_up = [(u["t0"], u["t0"]) for u in ls.unanswered]
    after = [(expected, got) for record, t0, _ in ls.timed if window is not None and t0 > window[1] for expected, got in record.checks]
    fields = {
        "sessions": len(ls.sessions),
        # Recovery: reads of rounds that began after the outage window, and how many showed the session's own value.
        "reads_after_window": len(after) if window is not None else None,
        "correct_reads_after_window": sum(1 for e, g in after if e == g) if window is not None else None,
        "interactions_per_s": round(len([1 for r, _, _ in ls.timed if r.interaction is not None]) / load_end, 2) if load_end else None,
        "error_times_s": sorted(round(e["t0"], 1) for e in ls.errors)[:100],
        "errors_outside_window": outside(error_spans),
        "stale_outside_window": outside(stale_times),
        "unverified_outside_window": outside(unverified_times),
        "leaks_outside_window": outside(leak_times),
        "http_500": sum(1 for e in ls.errors if e["message"].startswith("HTTP 500")),
        "unanswered": len(ls.unanswered),
        "unanswered_outside_window": outside(gave_up),
        "unanswered_times_s": sorted(round(u["t0"], 1) for u in ls.unanswered),
        "reloads": ls.reloads,
        "resets": ls.resets,
        "claims_isolation": claims,
    }
    problems = []
    if fields["errors_outside_window"]:
        problems.append(f"{fields['errors_outside_window']} error(s)" + (" outside the outage window" if window else ""))
    if claims:
        if fields["stale_outside_window"]:
            problems.append(f"{fields['stale_outside_window']} stale read(s)" + (" outside the window" if window else ""))
        if fields["unverified_outside_window"]:
            problems.append(f"{fields['unverified_outside_window']} unrecognisable read(s)" + (" outside the window" if window else ""))
    if leak_times and claims:
        problems.append(f"{len(leak_times)} leak(s) (another session's value)")
    if fields["unanswered_outside_window"]:
        problems.append(f"{fields['unanswered_outside_window']} interaction(s) never answered")
    fields["passed"] = not problems
    if problems:
        fields["verdict"] = "FAIL: " + "; ".join(problems)
    elif not claims:
        fields["verdict"] = "pass (no errors; isolation not claimed: stale reads and leaks are this strategy's lesson)"
    else:
        inside = len(error_spans) - fields["errors_outside_window"] + len(stale_times) - fields["stale_outside_window"]
        fields["verdict"] = "pass" + (f" ({inside} error(s)/stale read(s), all inside the outage window)" if inside else "")
    if window is not None and claims and ls.spec.reads:
        fields["verdict"] += (f"; after the window {fields['correct_reads_after_window']} of {fields['reads_after_window']} "
                              "reads showed the session's own value")
    if window is not None and fields["unanswered"] - fields["unanswered_outside_window"]:
        fields["verdict"] += (f"; {fields['unanswered'] - fields['unanswered_outside_window']} interaction(s) started in the "
                              "outage were never answered (given up on)")
    if fields["http_500"]:
        fields["verdict"] += f"; {fields['http_500']} HTTP 500"
    return fields


def _events(steps, window) -> list[dict]:
    out = []
    for ls in steps:
        slug = ls.spec.slug
        for e in ls.errors:
            out.append({"t": e["t0"], "t_end": e["t1"], "strategy": slug, "session": e["session"], "kind": "error",
                        "in_window": _overlaps(e["t0"], e["t1"], window), "message": e["message"]})
        for t0, t1, session, bad, shown in _judged(ls):
            for i, (kind, expected, got) in enumerate(bad):
                if slug in UNSAFE and kind != "unverified":
                    continue  # the unsafe strategy's stale reads are its lesson: counted in its row, not listed
                text = f"expected {expected!r}, read {got!r}"
                if i < len(shown) and shown[i]:
                    text += f"; the page showed: {shown[i]}"
                out.append({"t": round(t0, 3), "t_end": round(t1, 3), "strategy": slug, "session": session, "kind": kind,
                            "in_window": _overlaps(t0, t1, window), "message": text[:400]})
        for u in ls.unanswered:
            out.append({"t": u["t0"], "t_end": None, "strategy": slug, "session": u["session"], "kind": "unanswered",
                        "in_window": _overlaps(u["t0"], u["t0"], window), "message": u["why"]})
    out.sort(key=lambda e: e["t"])
    return out


def _timeline(steps, load_end: float) -> dict:
    """Interactions, errors and latency per BIN_S-second bin (by the interaction's start)."""
    bins = max(1, int(load_end // BIN_S) + 1)
    by = [{"t": round(i * BIN_S, 1), "interactions": 0, "errors": 0, "stale": 0, "unanswered": 0, "ms": [], "by_strategy": {}} for i in range(bins)]
    for ls in steps:
        stale_starts = {round(t0, 3) for t0, _, _, bad, _ in _judged(ls) if any(k in ("stale", "leak") for k, _, _ in bad)}
        for record, t0, _t1 in ls.timed:
            if record.interaction is None:
                continue
            b = by[min(bins - 1, max(0, int(t0 // BIN_S)))]
            b["interactions"] += 1
            b["by_strategy"][ls.spec.slug] = b["by_strategy"].get(ls.spec.slug, 0) + 1
            if record.interaction.calls:
                b["ms"].append(record.interaction.ms)
            if round(t0, 3) in stale_starts and ls.spec.slug not in UNSAFE:
                b["stale"] += 1
        for e in ls.errors:
            by[min(bins - 1, max(0, int(e["t0"] // BIN_S)))]["errors"] += 1
        for u in ls.unanswered:
            by[min(bins - 1, max(0, int(u["t0"] // BIN_S)))]["unanswered"] += 1
    for b in by:
        ms = b.pop("ms")
        b["p50_ms"] = _r(metrics.percentile(ms, 50), 1)
        b["p95_ms"] = _r(metrics.percentile(ms, 95), 1)
    return {"bin_s": BIN_S, "bins": by}


def _outage_totals(results: list[dict]) -> dict:
    errors = sum(r["errors"] for r in results)
    outside = sum(r["errors_outside_window"] for r in results)
    claimed = [r for r in results if r["claims_isolation"]]
    times = sorted(t for r in results for t in r["error_times_s"])
    return {
        "errors": errors, "errors_inside": errors - outside, "errors_outside": outside,
        "first_error_s": times[0] if times else None, "last_error_s": times[-1] if times else None,
        "stale_outside": sum(r["stale_outside_window"] for r in claimed),
        "stale_inside": sum(r["stale_reads"] for r in claimed) - sum(r["stale_outside_window"] for r in claimed),
        "leaks": sum(r["leaks"] for r in claimed),
        "unanswered_inside": sum(r["unanswered"] - r["unanswered_outside_window"] for r in results),
        "unanswered_outside": sum(r["unanswered_outside_window"] for r in results),
        "http_500": sum(r["http_500"] for r in results),
        "met": outside == 0 and sum(r["stale_outside_window"] + r["leaks"] for r in claimed) == 0
        and sum(r["unanswered_outside_window"] for r in results) == 0,
    }


def load_targets(report: dict) -> list[dict]:
    """The load's bounds, pass or fail, in the shape of the standard report's targets."""
    results, memory, outage, cfg = report["results"], report["memory"], report.get("outage"), report["config"]
    claimed = [r for r in results if r["claims_isolation"]]
    out = []

    def add(name, limit, measured, met, detail):
        out.append({"target": name, "limit": limit, "ratio": measured, "met": met, "detail": detail})

    if outage is None:
        errors = sum(r["errors"] for r in results)
        add("errors, every strategy", "0", errors, errors == 0,
            "; ".join(f"{r['strategy']}: {r['errors']}" for r in results if r["errors"]) or f"{len(results)} strategies, none")
    else:
        errors = sum(r["errors_outside_window"] for r in results)
        window = outage.get("window_s")
        add(f"errors outside the Redis outage window + {cfg['bounds']['grace_s']:g} s grace", "0", errors,
            errors == 0 and window is not None,
            f"window {window} s; {outage.get('errors_inside', 0)} error(s) inside it" if window else (outage.get("problem") or "no outage"))
    stale = sum(r["stale_outside_window"] + r["unverified_outside_window"] for r in claimed)
    add("stale or unrecognisable reads, strategies that claim isolation (all but " + ", ".join(sorted(UNSAFE)) + ")"
        + (" — outside the window" if outage else ""), "0", stale, stale == 0,
        "; ".join(f"{r['strategy']}: {r['stale_outside_window']}+{r['unverified_outside_window']}" for r in claimed
                  if r["stale_outside_window"] + r["unverified_outside_window"]) or "none")
    leaks = sum(r["leaks"] for r in claimed)
    add("leaks (another session's value), strategies that claim isolation", "0", leaks, leaks == 0,
        "; ".join(f"{r['strategy']}: {r['leaks']}" for r in claimed if r["leaks"]) or "none")
    cut = sum(r["unanswered_outside_window"] for r in results)
    add("interactions never answered (given up on after --abandon-after, or at the hard stop)"
        + (" — outside the window" if outage else ""), "0", cut, cut == 0,
        "; ".join(f"{r['strategy']}: {r['unanswered']} at {r['unanswered_times_s']} s" for r in results if r["unanswered"]) or "none")
    if outage is not None:
        readers = [r for r in claimed if r["reads"]]
        slow = [r["strategy"] for r in readers if not r["reads_after_window"] or r["correct_reads_after_window"] < r["reads_after_window"]]
        add("recovery: every isolating strategy that reads a value back read its own again after the window", "all",
            len(readers) - len(slow), not slow,
            "; ".join(f"{r['strategy']}: {r['correct_reads_after_window']}/{r['reads_after_window']}" for r in readers))
    http500 = sum(r["http_500"] for r in results)
    add("no HTTP 500 reaches the browser (issue 6: not even while Redis is down)", "0", http500, http500 == 0,
        "; ".join(f"{r['strategy']}: {r['http_500']}" for r in results if r["http_500"]) or "none")
    if memory.get("workers"):
        worst = max(memory["workers"], key=lambda w: w["peak_growth_mb"])
        add(f"gunicorn worker RSS growth, each of {len(memory['workers'])} workers (peak − start)",
            f"≤ {memory['bounds']['worker_rss_growth_mb']:g} MB", worst["peak_growth_mb"], memory["workers_met"],
            ", ".join(f"pid {w['pid']}: {w['rss_start_mb']:.0f}→{w['rss_end_mb']:.0f} MB (peak {w['rss_peak_mb']:.0f})"
                      for w in memory["workers"]))
        replaced = memory.get("workers_replaced") or []
        add("no gunicorn worker replaced during the run", "0", len(replaced), not replaced,
            f"pids that came or went: {replaced}" if replaced else "the same workers from start to end")
    else:
        add("gunicorn worker RSS growth", f"≤ {memory['bounds']['worker_rss_growth_mb']:g} MB", None, None,
            memory.get("workers_note") or "not measured")
    redis = memory.get("redis")
    if redis and redis.get("met") is not None:
        add("Redis used_memory_rss growth (peak − start)", f"≤ {memory['bounds']['redis_rss_growth_mb']:g} MB",
            redis["peak_growth_mb"], redis["met"],
            f"rss {redis['used_memory_rss_start_mb']:.1f}→{redis['used_memory_rss_end_mb']:.1f} MB (peak "
            f"{redis['used_memory_rss_peak_mb']:.1f}); used_memory {redis['used_memory_start_mb']:.1f}→"
            f"{redis['used_memory_end_mb']:.1f} MB")
    elif redis is not None:
        add("Redis used_memory_rss growth", f"≤ {memory['bounds']['redis_rss_growth_mb']:g} MB", None, None, redis.get("note", ""))
    took = cfg.get("stopped_s")
    add("the run stopped by itself (duration + drain + request timeout)", f"≤ {cfg['time_bound_s']:g} s", took,
        took is not None and took <= cfg["time_bound_s"] and not cfg.get("sessions_stuck"),
        f"{cfg['requests_sent']:,} requests of a budget of {cfg['max_requests']:,}"
        + ("; the budget ran out" if cfg.get("budget_exhausted") else ""))
    return out


# --------------------------------------------------------------------------- report: terminal, CSV, HTML


def summary_text(report: dict) -> str:
    results, cfg = report["results"], report["config"]
    window = report.get("outage") is not None
    cols = [("strategy", 16), ("sessions", 8), ("interactions", 12), ("p50 ms", 8), ("p95 ms", 8), ("errors", 6)]
    if window:
        cols.append(("outside", 7))
    cols += [("stale", 5), ("leaks", 5), ("unans.", 6), ("verdict", 0)]
    lines = ["  ".join(c.ljust(w) if i in (0, len(cols) - 1) else c.rjust(w) for i, (c, w) in enumerate(cols))]
    for r in results:
        cells = [r["strategy"].ljust(16), str(r["sessions"]).rjust(8), str(r["interactions"]).rjust(12),
                 _fmt(r["latency_ms_p50"]).rjust(8), _fmt(r["latency_ms_p95"]).rjust(8), str(r["errors"]).rjust(6)]
        if window:
            cells.append(str(r["errors_outside_window"]).rjust(7))
        cells += [str(r["stale_reads"]).rjust(5), str(r["leaks"]).rjust(5), str(r["unanswered"]).rjust(6), r["verdict"]]
        lines.append("  ".join(cells))
    lines.append("")
    lines.append(f"{cfg['sessions']} sessions, {cfg['duration_s']:g} s, {cfg['workers'] or '?'} workers, backend "
                 f"{cfg['backend']}, {cfg['requests_sent']:,} requests, stopped after {cfg['stopped_s']} s")
    for line in memory_lines(report):
        lines.append(line)
    if window:
        lines.append(outage_line(report))
    for t in report["targets"]:
        verdict = "not measured" if t["met"] is None else ("PASS" if t["met"] else "FAIL")
        lines.append(f"  [{verdict}] {t['target']} ({t['limit']}): {_fmt(t['ratio'])} — {t['detail']}")
    lines.append("PASSED" if report.get("passed") else "FAILED: see the targets above")
    return "\n".join(lines)


def _fmt(value) -> str:
    if value is None:
        return "–"
    return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"


def memory_lines(report: dict) -> list[str]:
    memory = report["memory"]
    lines = []
    if memory.get("workers"):
        for w in memory["workers"]:
            lines.append(f"worker pid {w['pid']}: RSS {w['rss_start_mb']:.1f} → {w['rss_end_mb']:.1f} MB (peak {w['rss_peak_mb']:.1f}, "
                         f"growth {w['peak_growth_mb']:+.1f} MB, bound {memory['bounds']['worker_rss_growth_mb']:g}) "
                         f"{'ok' if w['met'] else 'OVER'}")
    else:
        lines.append(f"workers: {memory.get('workers_note')}")
    redis = memory.get("redis")
    if redis and redis.get("met") is not None:
        lines.append(f"Redis: used_memory {redis['used_memory_start_mb']:.2f} → {redis['used_memory_end_mb']:.2f} MB, "
                     f"used_memory_rss {redis['used_memory_rss_start_mb']:.2f} → {redis['used_memory_rss_end_mb']:.2f} MB "
                     f"(peak {redis['used_memory_rss_peak_mb']:.2f}, bound +{memory['bounds']['redis_rss_growth_mb']:g}) "
                     f"{'ok' if redis['met'] else 'OVER'}" + (f" — {redis['note']}" if redis.get("note") else ""))
    elif redis is not None:
        lines.append(f"Redis: {redis.get('note')}")
    else:
        lines.append(f"Redis: {memory.get('redis_note')}")
    return lines


def outage_line(report: dict) -> str:
    o = report["outage"]
    if not o.get("window_s"):
        return f"Redis restart: did not happen ({o.get('problem')})"
    return (f"Redis down at {o['down_at_s']} s, answering again at {o['up_at_s']} s; window with {o['grace_s']:g} s grace "
            f"{o['window_s'][0]}–{o['window_s'][1]} s; errors {o['errors']} ({o['errors_inside']} inside, {o['errors_outside']} "
            f"outside; first {o['first_error_s']} s, last {o['last_error_s']} s); stale reads of isolating strategies "
            f"{o['stale_inside']} inside, {o['stale_outside']} outside; leaks {o['leaks']}; interactions never answered "
            f"{o['unanswered_inside']} inside, {o['unanswered_outside']} outside; HTTP 500: {o['http_500']}")


MEMORY_COLUMNS = ["rss_start_mb", "rss_end_mb", "rss_peak_mb", "growth_mb", "peak_growth_mb", "bound_mb", "met"]


def memory_rows(report: dict) -> list[dict]:
    """The memory readings as extra CSV lines (kind "memory"), after the strategies' rows."""
    memory = report.get("memory") or {}
    rows = []
    bound = (memory.get("bounds") or {}).get("worker_rss_growth_mb")
    for w in memory.get("workers") or []:
        rows.append({"strategy": f"gunicorn worker {w['pid']}", "kind": "memory", "scenario": "load",
                     "rss_start_mb": w["rss_start_mb"], "rss_end_mb": w["rss_end_mb"], "rss_peak_mb": w["rss_peak_mb"],
                     "growth_mb": w["growth_mb"], "peak_growth_mb": w["peak_growth_mb"], "bound_mb": bound, "met": w["met"]})
    redis = memory.get("redis")
    if redis and redis.get("met") is not None:
        rows.append({"strategy": "redis (used_memory_rss)", "kind": "memory", "scenario": "load",
                     "rss_start_mb": redis["used_memory_rss_start_mb"], "rss_end_mb": redis["used_memory_rss_end_mb"],
                     "rss_peak_mb": redis["used_memory_rss_peak_mb"], "growth_mb": redis["growth_mb"],
                     "peak_growth_mb": redis["peak_growth_mb"], "bound_mb": memory["bounds"]["redis_rss_growth_mb"],
                     "met": redis["met"]})
    return rows


LOAD_COLUMNS = [("strategy", "strategy"), ("sessions", "sessions"), ("interactions", "interactions"),
                ("interactions_per_s", "per s"), ("latency_ms_p50", "p50 ms"), ("latency_ms_p95", "p95 ms"),
                ("errors", "errors"), ("errors_outside_window", "outside"), ("stale_reads", "stale"),
                ("leaks", "leaks"), ("unverified_reads", "unrec."), ("unanswered", "unans."),
                ("http_500", "HTTP 500"), ("workers_hit", "workers"), ("passed", "pass")]


WRAP = ' class="wrap"'


def _target_row(t: dict) -> str:
    verdict = "not measured" if t["met"] is None else ("met" if t["met"] else "MISSED")
    cells = [html.escape(t["target"]), html.escape(t["limit"]), _cell(t["ratio"]), verdict]
    return ("<tr" + ("" if t["met"] is not False else ' class="bad"') + ">" + "".join(f"<td>{c}</td>" for c in cells)
            + f"<td{WRAP}>{html.escape(str(t['detail']))}</td></tr>")


def _cell(value) -> str:
    return html.escape(_fmt(value) if not isinstance(value, str) else value)


def to_html(report: dict) -> str:
    """The load report: one file, plotly.js inlined once."""
    import plotly.io as pio

    from .report import CSS

    cfg, results = report["config"], report["results"]
    window = report.get("outage") is not None
    cols = [c for c in LOAD_COLUMNS if window or c[0] != "errors_outside_window"]
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in cols)
    bad = ' class="bad"'
    body = "".join(
        f"<tr{bad if not r['passed'] else ''}>"
        + "".join(f"<td>{_cell(r.get(k)) if k != 'passed' else ('✓' if r['passed'] else '✗')}</td>" for k, _ in cols) + "</tr>"
        for r in results
    )
    verdicts = "".join(f"<li><b>{html.escape(r['strategy'])}</b>: {html.escape(r['verdict'])}</li>" for r in results)
    figs = {"latency": latency_figure(results), "timeline": timeline_figure(report), "memory": memory_figure(report)}
    charts_html, first = {}, True
    for name, fig in figs.items():
        charts_html[name] = pio.to_html(fig, include_plotlyjs=first, full_html=False, div_id=f"chart-{name}",
                                        config={"displaylogo": False, "responsive": True})
        first = False
    targets = "".join(_target_row(t) for t in report["targets"])
    css = CSS + "td.wrap{white-space:normal!important;text-align:left!important;min-width:240px}"
    mem = "".join(f"<li>{html.escape(line)}</li>" for line in memory_lines(report))
    outage = f"<h2>Redis restart</h2><div class=\"card\"><p>{html.escape(outage_line(report))}</p><p class=\"meta\">" \
             f"{html.escape(report['outage']['persistence'])}</p></div>" if window else ""
    skipped = cfg.get("skipped") or {}
    skipped_html = ('<p class="skipped">Not driven: ' + "; ".join(f"{html.escape(k)} — {html.escape(v)}" for k, v in skipped.items())
                    + "</p>") if skipped else ""
    events = report.get("events") or []
    events_html = ""
    if events:
        rows = "".join(f"<tr><td>{e['t']:.1f}</td><td>{html.escape(e['strategy'])}</td><td>{e['session']}</td><td>{e['kind']}</td>"
                       f"<td>{'yes' if e['in_window'] else 'no'}</td><td style=\"text-align:left;white-space:normal\">"
                       f"{html.escape(e['message'])}</td></tr>" for e in events[:120])
        events_html = (f"<h2>Events ({report['events_total']}; the first {min(120, len(events))})</h2><div class=\"card\" "
                       "style=\"overflow-x:auto\"><table class=\"results\"><thead><tr><th>t s</th><th>strategy</th><th>session</th>"
                       f"<th>kind</th><th>in window</th><th>message</th></tr></thead><tbody>{rows}</tbody></table></div>")
    machine = cfg.get("machine") or {}
    meta = (f"{cfg['sessions']} sessions · {cfg['duration_s']:g} s · think {cfg['think_s']:g} s · {len(results)} strategies · "
            f"{cfg.get('workers') or '?'} workers · backend <code>{html.escape(str(cfg.get('backend')))}</code> · "
            f"{cfg['rows'][0]:,} rows · compute delay {cfg.get('compute_delay')} s · {cfg['requests_sent']:,} requests "
            f"(budget {cfg['max_requests']:,}) · stopped after {cfg['stopped_s']} s · {machine.get('cpus')} CPUs · "
            f"{html.escape(str(report.get('created', '')))}")
    verdict = "PASSED" if report.get("passed") else "FAILED"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dash State Lab load test</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{css}</style></head>
<body><main>
<h1>Dash State Lab — load test: {verdict}</h1>
<div class="meta">{meta}</div>
{skipped_html}
<h2>Bounds</h2>
<div class="card" style="overflow-x:auto"><table class="results"><thead><tr><th>target</th><th>limit</th><th>measured</th><th>verdict</th><th>detail</th></tr></thead>
<tbody>{targets}</tbody></table></div>
<h2>Per strategy</h2>
<div class="card" style="overflow-x:auto"><table class="results"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
<ul style="font-size:13px;margin-top:10px">{verdicts}</ul>
<p class="meta">outside: errors outside the outage window (+ grace) · unrec.: reads that showed nothing recognisable
(an error alert) · unans.: interactions never answered (given up on) · interactions: timed rounds (clientside ones run in the
browser and send nothing)</p></div>
<div class="card">{charts_html['latency']}</div>
<h2>Over time</h2>
<div class="card">{charts_html['timeline']}</div>
{outage}
<h2>Memory</h2>
<div class="card"><ul>{mem}</ul>{charts_html['memory']}</div>
{events_html}
<p class="meta">Schema <code>{html.escape(report.get('schema', ''))}</code>, scenario <code>load</code>. See bench/load.py for
how it runs and docs/load/README.md for every field.</p>
</main></body></html>
"""


def latency_figure(results: list[dict]):
    import plotly.graph_objects as go

    from .charts import _gap, _style, empty

    timed = [r for r in results if r.get("latency_ms_p50") is not None]
    if not timed:
        return empty("No latency measured")
    fig = go.Figure()
    fig.add_bar(x=[r["strategy"] for r in timed], y=[r["latency_ms_p50"] for r in timed], marker_color="#4d8df0", name="p50",
                error_y={"type": "data", "symmetric": False, "array": [_gap(r["latency_ms_p95"], r["latency_ms_p50"]) for r in timed],
                         "arrayminus": [0] * len(timed), "thickness": 1.2, "width": 3},
                hovertemplate="%{x}<br>p50 %{y:,.0f} ms<extra></extra>")
    fig.update_yaxes(title="ms per interaction (p50, whisker p95)", rangemode="tozero")
    return _style(fig, "Latency under load", legend=False)


def timeline_figure(report: dict):
    import plotly.graph_objects as go

    from .charts import _style

    bins = report["timeline"]["bins"]
    width = report["timeline"]["bin_s"]
    x = [b["t"] + width / 2 for b in bins]
    fig = go.Figure()
    fig.add_bar(x=x, y=[b["interactions"] / width for b in bins], name="interactions / s", marker_color="#9ec5fe", width=width * 0.9)
    fig.add_scatter(x=x, y=[b["errors"] for b in bins], name="errors", mode="lines+markers", line={"color": "#d62728"})
    fig.add_scatter(x=x, y=[b["stale"] for b in bins], name="stale reads (isolating strategies)", mode="lines+markers",
                    line={"color": "#ff7f0e", "dash": "dot"})
    if any(b["unanswered"] for b in bins):
        fig.add_scatter(x=x, y=[b["unanswered"] or None for b in bins], name="never answered (by start)", mode="markers",
                        marker={"color": "#9467bd", "size": 10, "symbol": "x"})
    fig.add_scatter(x=x, y=[b["p95_ms"] for b in bins], name="p95 ms", mode="lines+markers", yaxis="y2", line={"color": "#111827"})
    outage = report.get("outage") or {}
    if outage.get("window_s"):
        fig.add_vrect(x0=outage["down_at_s"], x1=outage["up_at_s"], fillcolor="#d62728", opacity=0.15, line_width=0,
                      annotation_text="Redis down", annotation_position="top left")
        fig.add_vrect(x0=outage["up_at_s"], x1=outage["window_s"][1], fillcolor="#f2b701", opacity=0.12, line_width=0,
                      annotation_text="grace", annotation_position="top right")
    fig.update_layout(yaxis={"title": "bars: per s · lines: per bin", "rangemode": "tozero"},
                      yaxis2={"overlaying": "y", "side": "right", "title": "p95 ms", "rangemode": "tozero"})
    fig.update_xaxes(title="seconds since the load began")
    return _style(fig, f"Interactions, errors and p95 latency per {width:g} s")


def memory_figure(report: dict):
    import plotly.graph_objects as go

    from .charts import PALETTE, _style, empty

    memory = report["memory"]
    timeline = memory.get("timeline") or []
    if not timeline:
        return empty("No memory samples")
    fig = go.Figure()
    pids = list(dict.fromkeys(pid for s in timeline for pid in (s.get("workers") or {})))
    for i, pid in enumerate(pids):
        fig.add_scatter(x=[s["t"] for s in timeline], y=[(s.get("workers") or {}).get(pid) for s in timeline], name=f"worker {pid}",
                        mode="lines", line={"color": PALETTE[(i + 1) % len(PALETTE)]})
    if any("redis_rss_mb" in s for s in timeline):
        fig.add_scatter(x=[s["t"] for s in timeline], y=[s.get("redis_rss_mb") for s in timeline], name="Redis used_memory_rss",
                        mode="lines", line={"color": "#d62728", "dash": "dash"})
    fig.update_xaxes(title="seconds since the load began")
    fig.update_yaxes(title="MB", rangemode="tozero")
    return _style(fig, "Resident memory over the run")


# --------------------------------------------------------------------------- the CLI's entry


def check_args(args) -> str | None:
    """What is wrong with the load options, or None."""
    if args.duration <= 0:
        return "--duration must be positive"
    if args.think < 0:
        return "--think must not be negative"
    if args.abandon_after <= 0 or args.redis_down_for < 0 or args.grace < 0:
        return "--abandon-after must be positive; --redis-down-for and --grace must not be negative"
    if args.restart_redis_at is not None:
        if args.redis != "auto" or args.url:
            return "--restart-redis-at needs --redis auto (a redis-server the harness starts, and may stop) and no --url"
        if not 0 < args.restart_redis_at < args.duration:
            return "--restart-redis-at must be inside the duration (0 < T < --duration)"
    return None


def main(args) -> int:
    """python -m bench --scenario load ...: start what is needed, run, write DIR/report.*, print the summary."""
    from . import report as report_module
    from .cli import Servers
    from .progress import ProgressBar

    tmp = Path(tempfile.mkdtemp(prefix="statelab-load-"))
    private = None
    servers = None
    bar = None if args.quiet else ProgressBar()
    try:
        if args.redis == "auto":
            private = PrivateRedis(tmp / "redis").start()
            args.redis = private.url
        args.no_peer = True
        servers = Servers(args)
        target = servers.start()
        master = servers.site.web.pid if servers.site is not None else None
        cfg = LoadConfig(sessions=args.sessions, duration=args.duration, rows=args.rows[0], think=args.think,
                         timeout=args.timeout, max_requests=args.max_requests, strategies=_strategies(args.strategies),
                         restart_at=args.restart_redis_at, down_for=args.redis_down_for, grace=args.grace,
                         rss_bound=args.rss_bound_mb, redis_bound=args.redis_bound_mb, abandon_after=args.abandon_after,
                         compute_delay=None if args.url else args.compute_delay)
        result = run(cfg, target, master_pid=master, redis_url=args.redis, redis=private, progress=bar)
    except KeyboardInterrupt:
        print("\ncancelled", file=sys.stderr)
        return 130
    except (RuntimeError, TimeoutError, OSError, ValueError) as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1
    finally:
        if bar:
            bar.finish()
        if servers is not None:
            servers.stop()
        if private is not None:
            private.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    paths = report_module.write(result, args.out)
    print(summary_text(result))
    for kind, path in paths.items():
        print(f"{kind:>4}: {path}")
    return 0


def _strategies(text: str | None) -> list[str] | None:
    return [s.strip() for s in text.split(",") if s.strip()] if text else None
