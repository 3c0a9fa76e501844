"""Run the benchmark: sessions x rounds x strategies x row counts against running servers.

Each session is a thread with its own Browser (cookies, connections) and its own page
state; sessions of one strategy run at the same time. Strategies run one after
another so the server counters read before and after a step belong to that step.
"""

from __future__ import annotations

import contextlib
import platform
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import dash

import workload
from stores.telemetry import strategy_of

from . import SCHEMA, metrics, report
from .dashclient import Browser, DashClientError, Graph, Interaction, Page, dumps, parse
from .specs import CLICK, PEER, Ctx, Spec, spec_for
from .specs import SPECS as DECLARED

PROBE_OUTPUT = "benchmark__probe.data"
PROBE_INPUT = "benchmark__probe-ask"
STAMPEDE_SESSIONS = 16
STAMPEDE_DEFAULT = ("cache-signal", "serverside")


class Cancelled(RuntimeError):
    """The run was cancelled (Ctrl-C, or Cancel on the page)."""


@dataclass
class Target:
    """Where to run: the site's URL(s) (several = scale-out), and an optional peer app."""

    urls: list[str]
    workers: int | None = None
    backend: str = "unknown"
    peer_url: str | None = None
    peer_spec: Spec | None = None
    peer_problem: str | None = None  # why the peer is not measured, when it should have been


@dataclass
class RunConfig:
    rows: list[int] = field(default_factory=lambda: [1_000, 100_000])
    sessions: int = 4
    rounds: int = 3
    strategies: list[str] | None = None  # None: every strategy the site lists
    scenario: str = "standard"  # "standard" or "stampede"
    timeout: float = 120.0
    compute_delay: float | None = None
    headers: dict[str, str] = field(default_factory=dict)  # sent with every request (the page job's signed pass)


@dataclass
class RoundRecord:
    session: int
    round: int
    interaction: Interaction | None  # None: the round changed nothing, so nothing was sent
    checks: list[tuple]  # (expected, got) per read


@dataclass
class StepData:
    """Everything measured for one strategy at one row count."""

    spec: Spec
    rows: int
    records: list[RoundRecord] = field(default_factory=list)
    loads: list[Interaction] = field(default_factory=list)
    written: dict[int, set] = field(default_factory=dict)  # session -> tokens it wrote
    browser_bytes: list[int] = field(default_factory=list)
    before: dict | None = None
    after: dict | None = None
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    scenario: str = "standard"
    repetition: int | None = None
    candidates: list = field(default_factory=list)
    cold_value: dict | None = None


# --------------------------------------------------------------------------- the server's own readings


class Probe:
    """Server counters and bytes held, read through the benchmark page's read-only probe callback."""

    def __init__(self, urls: list[str], timeout: float = 30.0, headers: dict[str, str] | None = None):
        self.browser = Browser(urls, timeout=timeout, headers=headers)
        self.available: bool | None = None

    def read(self, spec: Spec) -> dict | None:
        dirs = list(spec.server_dirs) + (["flask-cache"] if spec.flask_cache else [])
        ask = {"slugs": [spec.slug], "dirs": dirs, "t": time.time()}
        payload = {
            "output": PROBE_OUTPUT,
            "outputs": {"id": "benchmark__probe", "property": "data"},
            "inputs": [{"id": PROBE_INPUT, "property": "data", "value": ask}],
            "changedPropIds": [f"{PROBE_INPUT}.data"],
            "parsedChangedPropsIds": [f"{PROBE_INPUT}.data"],
        }
        url = self.browser.next_url() + "/_dash-update-component"
        try:
            response = self.browser.http.post(url, data=dumps(payload), headers={"Content-Type": "application/json"},
                                              timeout=self.browser.timeout)
            if response.status_code != 200:
                self.available = False
                return None
            answer = parse(response.content)["response"]["benchmark__probe"]["data"]
        except (OSError, ValueError, KeyError, TypeError):
            self.available = False
            return None
        self.available = "error" not in answer
        return answer if self.available else None

    def close(self) -> None:
        self.browser.close()


class PeerProbe(Probe):
    """The peer app's own stats endpoint (GET /peer/stats): computations and cache bytes."""

    def read(self, spec: Spec) -> dict | None:
        try:
            response = self.browser.http.get(self.browser.urls[0] + "/peer/stats", timeout=self.browser.timeout)
            stats = response.json() if response.status_code == 200 else None
        except (OSError, ValueError):
            stats = None
        if not stats:
            self.available = False
            return None
        self.available = True
        return {"counters": {"compute": {spec.slug: stats.get("computations", 0)}}, "server_bytes": stats.get("cache_bytes")}


# --------------------------------------------------------------------------- discovering strategies


def listed_strategies(url: str, timeout: float = 30.0) -> list[str]:
    """The strategy slugs the site's sidebar lists, in its order (read from /_dash-layout)."""
    browser = Browser(url, timeout=timeout)
    try:
        response = browser.http.get(url.rstrip("/") + "/_dash-layout", timeout=timeout)
        if response.status_code != 200:
            raise DashClientError(f"{url}/_dash-layout answered HTTP {response.status_code}")
        layout = parse(response.content)
    finally:
        browser.close()
    slugs: list[str] = []
    stack = [layout]
    while stack:
        item = stack.pop(0)
        if isinstance(item, dict):
            props = item.get("props") if "namespace" in item else None
            if props and item.get("type") == "NavLink" and isinstance(props.get("href"), str):
                slug = props["href"].strip("/").split("/")[-1]
                if slug and slug != "benchmark" and slug not in slugs:
                    slugs.append(slug)
            stack.extend(v for v in (props or item).values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend(item)
    return slugs


def in_namespace(spec: Spec) -> Callable:
    """The callbacks of one strategy: those whose outputs carry its id prefix (or, with no output, its inputs)."""
    ns = spec.ns

    def scope(cb) -> bool:
        if cb.no_output:
            return any(strategy_of(d.id if isinstance(d.id, str) else dumps(d.id).decode()) == ns for d in cb.inputs)
        return strategy_of(cb.output) == ns

    return scope


def has_page(graph: Graph, spec: Spec) -> bool:
    scope = in_namespace(spec)
    return any(scope(cb) for cb in graph.callbacks)


def plan(cfg: RunConfig, target: Target, graph: Graph) -> tuple[list[Spec], dict[str, str]]:
    """Which specs run, and why the others do not (missing pages are simply absent)."""
    listed = listed_strategies(target.urls[0])
    skipped: dict[str, str] = {}
    specs: list[Spec] = []
    wanted = cfg.strategies
    for slug in listed + [s for s in DECLARED if s not in listed and DECLARED[s].kind == "strategy"]:
        spec = spec_for(slug)
        if wanted is not None and slug not in wanted:
            continue
        if not has_page(graph, spec):
            if wanted is not None or slug in listed:
                skipped[slug] = "no callbacks of this strategy on the server (page not built yet)"
            continue
        if spec.slug not in DECLARED and not any(spec.cid("region") == i.id for cb in graph.callbacks for i in cb.inputs):
            skipped[slug] = "no declared benchmark spec and no region input to drive"
            continue
        specs.append(spec)
    if cfg.scenario == "stampede":
        specs = [s for s in specs if s.stampede and (wanted is not None or s.slug in STAMPEDE_DEFAULT)]
    baseline = DECLARED["baseline-noop"]
    if cfg.scenario != "stampede":  # the floor is in every report
        if has_page(graph, baseline):
            specs.insert(0, baseline)
        else:
            skipped["baseline-noop"] = "the server has no /benchmark page"
    if target.peer_problem and (wanted is None or PEER.slug in wanted):
        skipped[PEER.slug] = target.peer_problem
    peer = target.peer_spec
    if peer is not None and (wanted is None or peer.slug in wanted) and (cfg.scenario != "stampede" or peer.stampede):
        specs.append(peer)
    for slug in wanted or []:
        if slug not in {s.slug for s in specs} and slug not in skipped:
            if slug == PEER.slug:
                skipped[slug] = "the peer is not running here (the CLI starts it; with --url pass --peer-url)"
            else:
                skipped[slug] = "unknown strategy" if slug not in DECLARED else "not available in this scenario"
    return specs, skipped


# --------------------------------------------------------------------------- one session


def _pick_region(page: Page, spec: Spec, session: int, round_: int) -> str:
    """Session s asks for region s+r+1 in round r: no two of (up to) four sessions ask for the same
    value in the same round, and each round asks for a value the session does not already show
    (except, in round 0, the one session whose pick is the page's default: it sends nothing)."""
    regions = workload.REGIONS
    return regions[(session + round_ + 1) % len(regions)]


def _act(page: Page, spec: Spec, act, ctx: Ctx) -> Interaction | None:
    ident = spec.cid(act.name)
    value = act.value(ctx) if callable(act.value) else act.value
    if act.value == CLICK:
        value = (page.get(ident, act.prop) or 0) + 1
    if act.changed_only and page.get(ident, act.prop) == value:
        return None
    return page.set_props([(ident, act.prop, value)])


def _merge(parts: list[Interaction]) -> Interaction:
    merged = Interaction()
    for part in parts:
        merged.calls.extend(part.calls)
        merged.ms += part.ms
        merged.skipped_clientside += part.skipped_clientside
        merged.errors.extend(part.errors)
    return merged


def browser_held_bytes(page: Page, spec: Spec) -> int:
    """Bytes of the data this tab holds for the strategy: its stores and hidden divs (as JSON)."""
    total = 0
    if spec.browser_held is not None:
        for name, prop in spec.browser_held:
            value = page.get(spec.cid(name), prop)
            total += len(dumps(value)) if value is not None else 0
        return total
    scope_prefix = spec.ns + "__"
    for comp in page.components():
        ident = comp["props"].get("id")
        mine = (isinstance(ident, str) and ident.startswith(scope_prefix)) or (isinstance(ident, dict) and ident.get("ns") == spec.ns)
        if not mine:
            continue
        props = comp["props"]
        if comp["type"] == "Store" and props.get("data") is not None:
            total += len(dumps(props["data"]))
        elif (comp["type"] == "Div" and props.get("children") is not None
              and (props.get("hidden") or (props.get("style") or {}).get("display") == "none")):
            total += len(dumps(props["children"]))
    return total


class _Session(threading.Thread):
    def __init__(self, index: int, step: StepData, urls: list[str], graph: Graph, cfg: RunConfig, sync: dict,
                 run_id: str, rounds: int, progress: Callable, cancel: threading.Event, stampede_rows: int | None = None,
                 stampede_region: str | None = None):
        super().__init__(name=f"bench-session-{index}", daemon=True)
        self.index, self.step, self.urls, self.graph, self.cfg = index, step, urls, graph, cfg
        self.ready, self.go, self.lockstep, self.first_loaded = sync["ready"], sync["go"], sync["lockstep"], sync["first"]
        self.run_id, self.rounds = run_id, rounds
        self.progress, self.cancel = progress, cancel
        self.stampede_rows, self.stampede_region = stampede_rows, stampede_region

    def run(self) -> None:
        spec, step = self.step.spec, self.step
        browser = Browser(self.urls, timeout=self.cfg.timeout, headers=self.cfg.headers)
        try:
            # The first visitor arrives alone (and warms what a page load computes); the rest
            # follow together. Every round then starts at the same moment for every session.
            if self.index > 0:
                self.first_loaded.wait(self.cfg.timeout)
            page = Page(browser, spec.page_path, scope=in_namespace(spec), clientside=spec.clientside, graph=self.graph)
            load = page.open()
            setup_ctx = Ctx(self.index, -1, step.rows, _pick_region(page, spec, self.index, -1), "", page)
            for act in spec.setup:
                part = _act(page, spec, act, setup_ctx)
                if part is not None:
                    load.calls.extend(part.calls)
                    load.errors.extend(part.errors)
            step.loads.append(load)  # list.append is atomic: sessions share the step's lists
            self.progress(1)
        except Exception as exc:  # noqa: BLE001 - one broken session must not stop the others
            self._fail(f"session {self.index} could not open {spec.page_path}: {type(exc).__name__}: {exc}")
            browser.close()
            return
        finally:
            if self.index == 0:
                self.first_loaded.set()
        try:
            self.ready.wait()
            self.go.wait()
        except threading.BrokenBarrierError:
            browser.close()
            return
        try:
            if self.stampede_rows is not None:
                self._stampede(page)
            else:
                self._rounds(page)
            step.browser_bytes.append(browser_held_bytes(page, spec))
        except Exception as exc:  # noqa: BLE001
            self._fail(f"session {self.index}: {type(exc).__name__}: {exc}")
        finally:
            browser.close()

    def _fail(self, message: str) -> None:
        self.step.errors.append(message)
        for barrier in (self.ready, self.go, self.lockstep):
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.abort()

    def _together(self) -> None:
        """Wait for every session to finish its round (lock-step rounds); carry on alone if one died."""
        with contextlib.suppress(threading.BrokenBarrierError):
            self.lockstep.wait(self.cfg.timeout)

    def _rounds(self, page: Page) -> None:
        spec, step = self.step.spec, self.step
        for round_ in range(self.rounds):
            if self.cancel.is_set():
                return
            token = f"{self.run_id}-s{self.index}r{round_}"
            ctx = Ctx(self.index, round_, step.rows, _pick_region(page, spec, self.index, round_), token, page)
            parts = [part for act in spec.round if (part := _act(page, spec, act, ctx)) is not None]
            # A round whose value was already shown sends nothing (as a browser): no interaction to time.
            interaction = _merge(parts) if parts else None
            expected = spec.expected(ctx)
            step.written.setdefault(self.index, set()).add(expected)
            checks = []
            for read in spec.reads:
                got = read.identify(page.get(spec.cid(read.name), read.prop), ctx, step.candidates)
                checks.append((expected, got))
            step.records.append(RoundRecord(self.index, round_, interaction, checks))
            self.progress(1)
            self._together()

    def _stampede(self, page: Page) -> None:
        spec, step = self.step.spec, self.step
        region = self.stampede_region or page.get(spec.cid("region"), "value")
        ctx = Ctx(self.index, 0, self.stampede_rows, region, "", page)
        parts = [page.set_props([(spec.cid(a.name), a.prop, a.value(ctx) if callable(a.value) else a.value)]) for a in spec.stampede]
        expected = (region, spec.effective_rows(self.stampede_rows))
        step.written.setdefault(self.index, set()).add(expected)
        checks = [(expected, r.identify(page.get(spec.cid(r.name), r.prop), ctx, step.candidates)) for r in spec.reads]
        step.records.append(RoundRecord(self.index, 0, _merge(parts), checks))
        self.progress(1)


# --------------------------------------------------------------------------- the run


class Runner:
    def __init__(self, cfg: RunConfig, target: Target, progress: Callable[[int, int, str], None] | None = None,
                 cancel: threading.Event | None = None):
        self.cfg, self.target = cfg, target
        self.report_progress = progress or (lambda done, total, label: None)
        self.cancel = cancel or threading.Event()
        self.run_id = secrets.token_hex(3)
        self.done = 0
        self.total = 1
        self.label = ""
        self._lock = threading.Lock()
        self.rows_seen: list[int] = []

    def _tick(self, n: int = 1) -> None:
        with self._lock:
            self.done += n
            done, total, label = self.done, self.total, self.label
        self.report_progress(min(done, total), total, label)

    def _graph(self, url: str) -> Graph:
        browser = Browser(url, timeout=self.cfg.timeout, headers=self.cfg.headers)
        try:
            response = browser.http.get(url.rstrip("/") + "/_dash-dependencies", timeout=self.cfg.timeout)
            if response.status_code != 200:
                raise DashClientError(f"{url}/_dash-dependencies answered HTTP {response.status_code}")
            return Graph(parse(response.content))
        finally:
            browser.close()

    def run(self) -> dict:
        started = time.time()
        cfg, target = self.cfg, self.target
        graph = self._graph(target.urls[0])
        specs, skipped = plan(cfg, target, graph)
        peer_graph = self._graph(target.peer_url) if target.peer_url and any(s.kind == "peer" for s in specs) else None
        probe = Probe(target.urls, headers=cfg.headers)
        peer_probe = PeerProbe([target.peer_url]) if peer_graph is not None else None
        steps: list[StepData] = []
        try:
            if cfg.scenario == "stampede":
                sessions = cfg.sessions
                reps = cfg.rounds
                self.total = max(1, len(specs) * reps * sessions * 2)
                for spec in specs:
                    for rep in range(reps):
                        self._check_cancel()
                        step = self._stampede_step(spec, rep, graph if spec.kind != "peer" else peer_graph,
                                                   probe if spec.kind != "peer" else peer_probe)
                        if step is not None:
                            steps.append(step)
            else:
                self.total = max(1, len(specs) * len(cfg.rows) * cfg.sessions * (1 + cfg.rounds))
                for rows in cfg.rows:
                    self.rows_seen.append(rows)
                    for spec in specs:
                        self._check_cancel()
                        if spec.allowed_rows and rows not in spec.allowed_rows:
                            skipped[f"{spec.slug}@{rows}"] = (f"the page loads only {', '.join(f'{n:,}' for n in spec.allowed_rows)} rows")
                            self._tick(cfg.sessions * (1 + cfg.rounds))
                            continue
                        peer = spec.kind == "peer"
                        steps.append(self._step(spec, rows, peer_graph if peer else graph, peer_probe if peer else probe))
        finally:
            probe.close()
            if peer_probe:
                peer_probe.close()
        results = [metrics.summarize(step, self.target, self.cfg) for step in steps]
        config = self._config(skipped, specs)
        config["workers_observed"] = max((r["workers_hit"] or 0 for r in results if r["kind"] != "peer"), default=0)
        result = {
            "schema": SCHEMA,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "seconds": round(time.time() - started, 1),
            "config": config,
            "results": results,
        }
        result["targets"] = report.targets(result)
        return result

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled("the benchmark was cancelled")

    def _config(self, skipped: dict, specs: list[Spec]) -> dict:
        cfg, target = self.cfg, self.target
        return {
            "rows": list(cfg.rows),
            "sessions": cfg.sessions,
            "rounds": cfg.rounds,
            "scenario": cfg.scenario,
            "strategies": [s.slug for s in specs],
            "skipped": skipped,
            "workers": target.workers,
            "hosts": len(target.urls),
            "urls": list(target.urls),
            "backend": target.backend,
            "distinct_values": len(workload.REGIONS),
            "compute_delay": cfg.compute_delay,
            "dash_version": dash.__version__,
            "machine": {
                "python": platform.python_version(),
                "platform": platform.platform(),
                "processor": platform.machine(),
                "cpus": _cpus(),
            },
            "peer_url": target.peer_url,
        }

    def _candidates(self, spec: Spec, extra_rows: list[int] = ()) -> list[tuple]:
        rows = sorted(({spec.effective_rows(r) for r in [*self.rows_seen, *extra_rows]} - {None}) | {workload.DEFAULT_ROWS})
        return [(region, r) for r in rows for region in workload.REGIONS]

    def _read(self, probe: Probe | None, spec: Spec) -> dict | None:
        return probe.read(spec) if probe is not None else None

    def _step(self, spec: Spec, rows: int, graph: Graph, probe: Probe | None) -> StepData:
        cfg = self.cfg
        step = StepData(spec, rows)
        step.candidates = self._candidates(spec)
        self.label = f"{spec.slug} · {rows:,} rows"
        step.before = self._read(probe, spec)
        urls = [self.target.peer_url] if spec.kind == "peer" else self.target.urls
        sync = _sync(cfg.sessions)
        sessions = [
            _Session(i, step, _rotate(urls, i), graph, cfg, sync, self.run_id, cfg.rounds, self._tick, self.cancel)
            for i in range(cfg.sessions)
        ]
        began = time.perf_counter()
        for s in sessions:
            s.start()
        with contextlib.suppress(threading.BrokenBarrierError):
            sync["ready"].wait()
            sync["go"].wait()
        for s in sessions:
            s.join()
        step.seconds = time.perf_counter() - began
        step.after = self._read(probe, spec)
        return step

    def _stampede_step(self, spec: Spec, rep: int, graph: Graph, probe: Probe | None) -> StepData | None:
        """N sessions ask for one cold value at the same moment; how often did the step run?"""
        cfg = self.cfg
        base = cfg.rows[0]
        if spec.takes_rows:
            # A row count no one asked for yet: cold in every cache and store.
            offset = 1 + rep + int(self.run_id, 16) % 997 * 8
            rows = base + offset if base + offset <= workload.MAX_ROWS else base - offset
            region = None
        else:
            rows = spec.effective_rows(base)
            cold = [r for r in workload.REGIONS if r != workload.REGIONS[0]]
            if rep >= len(cold):
                return None
            region = cold[rep]
        step = StepData(spec, base, scenario="stampede", repetition=rep)
        step.candidates = self._candidates(spec, [rows])
        self.label = f"stampede · {spec.slug} · repetition {rep + 1}"
        urls = [self.target.peer_url] if spec.kind == "peer" else self.target.urls
        sync = _sync(cfg.sessions)
        sessions = [
            _Session(i, step, _rotate(urls, i), graph, cfg, sync, self.run_id, 1, self._tick, self.cancel,
                     stampede_rows=rows, stampede_region=region)
            for i in range(cfg.sessions)
        ]
        for s in sessions:
            s.start()
        began = time.perf_counter()
        with contextlib.suppress(threading.BrokenBarrierError):
            sync["ready"].wait()
            step.before = self._read(probe, spec)  # after every page load: only the stampede counts
            sync["go"].wait()
        for s in sessions:
            s.join()
        step.seconds = time.perf_counter() - began
        step.after = self._read(probe, spec)
        step.cold_value = {"rows": spec.effective_rows(rows), "region": region or "the page's default"}
        return step


def _sync(sessions: int) -> dict:
    return {
        "ready": threading.Barrier(sessions + 1),  # every page loaded (the runner reads counters here)
        "go": threading.Barrier(sessions + 1),
        "lockstep": threading.Barrier(sessions),  # between rounds
        "first": threading.Event(),  # session 0 has loaded its page
    }


def _rotate(urls: list[str], i: int) -> list[str]:
    """Session i loads its page from host i mod n; its callbacks then go round-robin over all."""
    k = i % len(urls)
    return urls[k:] + urls[:k]


def _cpus() -> int | None:
    import os

    return os.cpu_count()
