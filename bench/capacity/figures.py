"""Per step of the ramp, from the master's records and the CPU samples: sessions, interactions, interactions/s,
p50/p95/p99, errors, stale reads, leaks, the server's CPU and RSS per worker and the load generator's CPU. Pure."""

from __future__ import annotations

from reports.fmt import rounded

from ..load.analysis import claims_isolation, judged_records
from ..load.collect import Collected
from ..load.driver import LoadStep
from ..load.ramp import OPEN_FAILED, capacity, step_type, within
from ..metrics import percentile


def windows(got: Collected, steps: list[int], step_s: float) -> list[tuple[int, int, float, float]]:
    """(k, sessions, start, end) of every step the master ran (seconds since the load began)."""
    ramp = sorted((r for r in got.ramp if r["k"] >= 0), key=lambda r: r["k"])  # the warm-up (-1) is not a step
    out = []
    for i, r in enumerate(ramp):
        end = ramp[i + 1]["t"] if i + 1 < len(ramp) else min(r["t"] + step_s, got.end if got.end is not None else r["t"] + step_s)
        out.append((r["k"], r["users"], r["t"], max(end, r["t"] + 1e-3)))
    return out


def cpu_window(samples: list[dict], t0: float, a: float, b: float) -> dict:
    """CPU % (of one core) and peak RSS per server worker, and the generator's CPU %, over [a, b] s since t0."""
    inside = [s for s in samples if t0 + a - 0.5 <= s["t"] <= t0 + b + 0.5]
    if len(inside) < 2:
        return {"server_cpu_pct": None, "server_cpu_pct_per_worker": {}, "worker_rss_mb": {}, "generator_cpu_pct": None}
    first, last = inside[0], inside[-1]
    dt = last["t"] - first["t"]
    per_worker = {pid: round(100 * (last["server"][pid][0] - v[0]) / dt, 1)
                  for pid, v in first["server"].items() if pid in last["server"]}
    rss: dict[str, float] = {}
    for s in inside:
        for pid, (_cpu, mb) in s["server"].items():
            rss[pid] = max(rss.get(pid, 0.0), mb)
    generator = sum(last["generator"][pid] - v for pid, v in first["generator"].items() if pid in last["generator"])
    return {"server_cpu_pct": round(sum(per_worker.values()), 1), "server_cpu_pct_per_worker": per_worker,
            "worker_rss_mb": rss, "generator_cpu_pct": round(100 * generator / dt, 1)}


def _tagged(ls: LoadStep, got: Collected, k: int) -> dict:
    records = [(r, t0, t1) for r, t0, t1 in ls.timed if got.tags.get(id(r)) == k]
    sent = [r.interaction for r, _, _ in records if r.interaction is not None]
    errors = [e for e in ls.errors if e.get("step") == k]
    unanswered = [u for u in ls.unanswered if u.get("step") == k]
    open_failed = [e for e in errors if OPEN_FAILED in e["message"]]
    failed = sum(1 for i in sent if i.all_errors) + len(unanswered) + len(open_failed)
    attempts = len(sent) + len(unanswered) + len(open_failed)
    kinds = [kind for r, _, _, bad in judged_records(ls) if got.tags.get(id(r)) == k for kind, _, _ in bad]
    return {"sent": sent, "errors": errors, "unanswered": unanswered, "failed": failed, "attempts": attempts,
            "stale": kinds.count("stale"), "leaks": kinds.count("leak"), "unverified": kinds.count("unverified"),
            "reads": sum(len(r.checks) for r, _, _ in records)}


def step_rows(ls: LoadStep, got: Collected, locust: dict, cpu: list[dict], cfg: dict, server: str) -> list[dict]:
    """One report row per step the master ran for this strategy on this server."""
    rows = []
    for k, sessions, a, b in windows(got, cfg["steps"], cfg["step_s"]):
        part = _tagged(ls, got, k)
        ms = [i.ms for i in part["sent"] if i.calls]
        rate = part["failed"] / part["attempts"] if part["attempts"] else 0.0
        p95 = percentile(ms, 95)
        ok, why = within(p95, rate, part["attempts"], cfg["p95_limit_ms"], cfg["error_limit"])
        counted = locust.get((step_type(k), ls.spec.slug)) or {}
        master = next((v for v in got.verdicts if v.get("k") == k), None)
        rows.append({
            "strategy": ls.spec.slug, "kind": ls.spec.kind, "scenario": "capacity", "server": server, "rows": cfg["rows"],
            "step": k, "sessions": sessions, "step_start_s": rounded(a, 2), "seconds": rounded(b - a, 2),
            "interactions": len(part["sent"]), "interactions_per_s": rounded(len(part["sent"]) / (b - a), 2),
            "latency_ms_p50": rounded(percentile(ms, 50), 1), "latency_ms_p95": rounded(p95, 1),
            "latency_ms_p99": rounded(percentile(ms, 99), 1),
            "errors": part["failed"], "error_rate": round(rate, 4), "error_samples": [e["message"] for e in part["errors"][:3]],
            "unanswered": len(part["unanswered"]), "reads": part["reads"], "stale_reads": part["stale"],
            "leaks": part["leaks"], "unverified_reads": part["unverified"],
            "claims_isolation": claims_isolation(ls.spec.slug),
            "within_limits": ok, "why": why,
            "master_verdict": None if master is None else {"within": master["within"], "why": master["why"]},
            "locust_interactions": counted.get("requests", 0), "locust_failures": counted.get("failures", 0),
            "locust_workers": len(got.nodes.get(k) or ()),  # Locust worker processes whose sessions ran in the step
            **cpu_window(cpu, got.t0 or 0.0, a, b),
        })
    return rows


def summary(rows: list[dict], ls: LoadStep, server: str, cfg: dict, problem: str | None = None) -> dict:
    """The strategy's capacity on this server: the last step within the limits."""
    sessions, ended = capacity(rows)
    if problem:
        ended = problem
    best = max((r["interactions_per_s"] or 0 for r in rows if r["within_limits"]), default=None)
    return {"strategy": ls.spec.slug, "kind": ls.spec.kind, "server": server, "capacity_sessions": sessions,
            "ended_by": ended, "steps_run": len(rows), "max_steps": len(cfg["steps"]),
            "interactions_per_s_at_capacity": best,
            "session_bound_reached": bool(rows) and all(r["within_limits"] for r in rows) and len(rows) == len(cfg["steps"]),
            "stale_reads": sum(r["stale_reads"] for r in rows), "leaks": sum(r["leaks"] for r in rows),
            "claims_isolation": claims_isolation(ls.spec.slug)}
