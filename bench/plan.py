"""What a run covers: where it runs (Target), how (RunConfig), which strategies the server has and which
specs drive them (plan), and the `config` record every report carries."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from dataclasses import dataclass, field

import dash

import strategies
import workload
from stores.telemetry import strategy_of

from .dashclient import Browser, DashClientError, Graph, dumps, parse
from .specs import PEER, Spec, spec_for
from .specs import SPECS as DECLARED


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


def fetch_graph(url: str, timeout: float, headers: dict[str, str] | None = None) -> Graph:
    """The server's callback graph (/_dash-dependencies), as the renderer reads it on start."""
    browser = Browser(url, timeout=timeout, headers=headers)
    try:
        response = browser.http.get(url.rstrip("/") + "/_dash-dependencies", timeout=timeout)
        if response.status_code != 200:
            raise DashClientError(f"{url}/_dash-dependencies answered HTTP {response.status_code}")
        return Graph(parse(response.content))
    finally:
        browser.close()


def _slug_of(href: str) -> str:
    """The strategy a navigation link opens: the record whose page path it is (a live page's is /live/...), else its last part."""
    path = "/" + href.split("?", 1)[0].strip("/")
    record = next((r for r in strategies.records() if r.page_path == path), None)
    return record.slug if record else path.split("/")[-1]


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
                slug = _slug_of(props["href"])
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
        record = strategies.by_slug(slug)
        if record is not None and record.spec is None:
            skipped[slug] = "its record declares no spec for this benchmark (strategies/: spec=None)"
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
        specs = [s for s in specs if s.stampede and (wanted is not None or s.stampede_by_default)]
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


def config_record(cfg: RunConfig, target: Target, skipped: dict, specs: list[Spec]) -> dict:
    """The report's `config`: what was asked, where it ran, on what."""
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
            "cpus": os.cpu_count(),
        },
        "peer_url": target.peer_url,
    }
