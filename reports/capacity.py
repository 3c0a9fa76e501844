"""The capacity report (scenario "capacity"): its fields, targets, terminal summary, CSV rows and HTML page.

report.json = the envelope (schema statelab.bench/1) with
- results: one row per (server, strategy, step): sessions, interactions, interactions_per_s, latency_ms_p50/p95/p99,
  errors (interactions that failed, were given up on, or whose page did not open), error_rate, stale_reads, leaks,
  server_cpu_pct (sum over the site's workers, % of one core), server_cpu_pct_per_worker, worker_rss_mb (peak),
  generator_cpu_pct (Locust's master and workers), within_limits and why, locust_interactions (Locust's own count
  for the step, aggregated by its master from the workers' request events);
- capacity: one entry per (server, strategy): capacity_sessions (the last step of the unbroken run within the
  limits), ended_by, interactions_per_s_at_capacity;
- targets: serverside ≥ 2 × the dash-extensions peer and ≥ 0.5 × the no-op floor, per server kind.
"""

from __future__ import annotations

import time

import plotly.io as pio

import i18n
from i18n import N_, _

from . import charts, l10n
from .fmt import number, target_verdict
from .run_words import shown_ended_by, shown_why
from .schema import envelope
from .tables import labels
from .templating import render

STORE_KEY = "benchmark:capacity"  # the site's latest capacity report (python -m bench --scenario capacity --publish)
SERVERSIDE, PEER, FLOOR = "serverside", "peer-dash-extensions", "baseline-noop"
COLUMNS = [("server", N_("server")), ("strategy", N_("strategy")), ("sessions", N_("sessions")),
           ("interactions", N_("interactions")), ("interactions_per_s", N_("per s")), ("latency_ms_p50", N_("p50 ms")),
           ("latency_ms_p95", N_("p95 ms")), ("latency_ms_p99", N_("p99 ms")), ("errors", N_("errors")),
           ("stale_reads", N_("stale")), ("leaks", N_("leaks")), ("server_cpu_pct", N_("server CPU %")),
           ("generator_cpu_pct", N_("generator CPU %")), ("rss", N_("RSS MB per worker")), ("within_limits", N_("within"))]


def _cap(capacities: list[dict], strategy: str, server: str) -> int | None:
    found = next((c for c in capacities if c["strategy"] == strategy and c["server"] == server), None)
    return None if found is None else found["capacity_sessions"]


def _target_name(other: str, server: str) -> str:
    if other == PEER:
        return _("serverside capacity ≥ 2 × the dash-extensions peer's (%(server)s)", server=server)
    return _("serverside capacity ≥ 0.5 × the no-op floor's (%(server)s)", server=server)


def targets(report: dict) -> list[dict]:
    """Per server kind: serverside's capacity against the peer's (≥ 2×) and the no-op floor's (≥ 0.5×). In the
    reader's language: `assemble` (outside any language) stores English ones; the HTML page computes its own."""
    caps = report.get("capacity") or []
    out = []
    for server in dict.fromkeys(c["server"] for c in caps):
        ours = _cap(caps, SERVERSIDE, server)
        for other, factor in ((PEER, 2.0), (FLOOR, 0.5)):
            theirs = _cap(caps, other, server)
            ratio = None if ours is None or not theirs else round(ours / theirs, 2)
            met = None if ours is None or theirs is None else (ours >= factor * theirs if theirs else ours > 0)
            out.append({"target": _target_name(other, server), "limit": f"≥ {factor:g}×", "ratio": ratio, "met": met,
                        "detail": _("serverside %(ours)s sessions, %(other)s %(theirs)s sessions", ours=l10n.number(ours),
                                    other=other, theirs=l10n.number(theirs))})
    return out


def assemble(began: float, config: dict, results: list[dict], capacities: list[dict]) -> dict:
    report = envelope(began, config, results)
    report["capacity"] = capacities
    with i18n.speaking("en"):  # report.json's words are English (report.html computes its own)
        report["targets"] = targets(report)
    isolating = [c for c in capacities if c["claims_isolation"]]
    report["isolation"] = {"stale_reads": sum(c["stale_reads"] for c in isolating), "leaks": sum(c["leaks"] for c in isolating),
                           "strategies": [c["strategy"] for c in isolating]}
    report["passed"] = all(t["met"] is not False for t in report["targets"]) and not (
        report["isolation"]["stale_reads"] or report["isolation"]["leaks"])
    return report


def table_text(report: dict, head: str = "strategy") -> str:
    """The capacity table: one line per strategy, one column per server kind (`head`: the first column's title)."""
    caps = report.get("capacity") or []
    servers = list(dict.fromkeys(c["server"] for c in caps))
    lines = [head.ljust(24) + "".join(s.rjust(12) for s in servers)]
    for strategy in dict.fromkeys(c["strategy"] for c in caps):
        cells = []
        for s in servers:
            c = next((x for x in caps if x["strategy"] == strategy and x["server"] == s), None)
            cells.append(("–" if c is None else f"{c['capacity_sessions']}{'+' if c['session_bound_reached'] else ''}").rjust(12))
        lines.append(strategy.ljust(24) + "".join(cells))
    return "\n".join(lines)


def summary_text(report: dict) -> str:
    cfg = report["config"]
    lines = [f"capacity: sessions within p95 ≤ {cfg['p95_limit_ms']:g} ms and errors ≤ {100 * cfg['error_limit']:g} % "
             f"(steps {cfg['steps']}, {cfg['step_s']:g} s each; + = the session bound ended the ramp)", table_text(report), ""]
    for r in report["results"]:
        lines.append(f"  {r['server']:<8} {r['strategy']:<22} {r['sessions']:>4} sessions  {r['interactions']:>5} int. "
                     f"{number(r['interactions_per_s']):>7}/s  p95 {number(r['latency_ms_p95']):>8} ms  errors {r['errors']:>3}  "
                     f"server CPU {number(r['server_cpu_pct'])} %  generator CPU {number(r['generator_cpu_pct'])} %  "
                     f"{'ok' if r['within_limits'] else r['why']}")
    for c in report.get("capacity") or []:
        lines.append(f"{c['server']} {c['strategy']}: {c['capacity_sessions']} sessions — {c['ended_by']}")
    for t in report["targets"]:
        lines.append(f"  [{target_verdict(t['met'], missed='MISSED')}] {t['target']}: {number(t['ratio'])} — {t['detail']}")
    load = cfg.get("load_average")
    if load:
        lines.append(f"machine load average {load['start'][0]} at the start, {load['end'][0]} at the end "
                     f"({(cfg.get('machine') or {}).get('cpus')} CPUs)")
    iso = report["isolation"]
    lines.append(f"isolating strategies: {iso['stale_reads']} stale read(s), {iso['leaks']} leak(s)")
    lines.append("PASSED" if report.get("passed") else "FAILED: see the targets above")
    return "\n".join(lines)


def _cell(key: str, r: dict, cfg: dict) -> str:
    if key == "within_limits":
        return "✓" if r["within_limits"] else f"✗ {shown_why(r, cfg)}"  # why: report.json's, in the reader's language
    if key == "rss":
        return ", ".join(l10n.fixed(v, 0) for v in (r.get("worker_rss_mb") or {}).values()) or "–"
    value = r.get(key)
    return value if isinstance(value, str) else l10n.number(value)


def capacity_html(report: dict) -> str:
    cfg = report["config"]
    figures = {"bars": charts.capacity_bars(report)}
    for server in cfg.get("servers") or []:
        figures[f"latency-{server}"] = charts.capacity_latency(report, server)
    inlined, first = {}, True
    for name, fig in figures.items():
        inlined[name] = pio.to_html(fig, include_plotlyjs=first, full_html=False, div_id=f"chart-{name}",
                                    config={"displaylogo": False, "responsive": True})
        first = False
    return render(
        "capacity.html.j2", cfg=cfg, schema=report.get("schema", ""), passed=report.get("passed"),
        created=str(report.get("created", "")), took=report.get("seconds"), cpus=(cfg.get("machine") or {}).get("cpus"),
        skipped=cfg.get("skipped") or {}, table_text=table_text(report, _("strategy")),
        capacity=[{**c, "ended_by": shown_ended_by(c, report["results"], cfg)} for c in report.get("capacity") or []],
        columns=labels(COLUMNS), table=[{"ok": r["within_limits"], "cells": [_cell(k, r, cfg) for k, _label in COLUMNS]}
                                        for r in report["results"]],
        charts=inlined, isolation=report["isolation"],
        targets=[{**t, "measured": l10n.number(t["ratio"]), "verdict": l10n.verdict(t["met"], missed=N_("MISSED"))}
                 for t in targets(report)],
    )


def is_capacity(report: dict | None) -> bool:
    return bool(report) and (report.get("config") or {}).get("scenario") == "capacity"


def age(report: dict) -> str:
    """When the run was made, as the report says (for the benchmark page)."""
    return str(report.get("created") or time.strftime("%Y-%m-%d"))
