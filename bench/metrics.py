"""From what was measured in one step (a strategy at a row count) to one report row."""

from __future__ import annotations

import math
from collections import Counter

from reports.fmt import rounded


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    k = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(k), math.ceil(k)
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo))


def judge_reads(records, written: dict[int, set]) -> dict:
    """Stale reads (a read that is not the session's own last write) and leaks (another session's value).

    A read nobody can recognise (the output showed an error or nothing) is counted as
    unverified, not as stale.
    """
    reads = unverified = stale = leaks = 0
    for record in records:
        mine = written.get(record.session, set())
        others = set().union(*(w for s, w in written.items() if s != record.session)) if len(written) > 1 else set()
        for expected, got in record.checks:
            reads += 1
            if got is None:
                unverified += 1
                continue
            if got != expected:
                stale += 1
                if got not in mine and got in others:
                    leaks += 1
    return {"reads": reads, "unverified_reads": unverified, "stale_reads": stale, "leaks": leaks}


def counter_delta(before: dict | None, after: dict | None, kind: str, slug: str) -> int | None:
    if not before or not after:
        return None
    get = lambda snap: int(((snap.get("counters") or {}).get(kind) or {}).get(slug, 0))  # noqa: E731
    return max(0, get(after) - get(before))


def server_bytes(after: dict | None, spec) -> int | None:
    if not after:
        return None
    if after.get("server_bytes") is not None:  # a peer reports its own total
        return int(after["server_bytes"])
    total = sum(int(v) for p, v in (after.get("bytes") or {}).items() if p in spec.prefixes())
    total += sum(int((after.get("dirs") or {}).get(d, 0)) for d in spec.server_dirs)
    if spec.flask_cache:
        total += int(after.get("flask_cache_bytes") or 0)
    return total


def compression_ratio(interactions) -> float | None:
    """Decoded bytes down per byte on the wire (1.0: nothing was compressed); None without answers."""
    wire = sum(i.down_wire for i in interactions)
    return rounded(sum(i.down for i in interactions) / wire, 2) if wire else None


def _encoding(calls) -> str | None:
    """How the answers came: the Content-Encoding of most of them ("identity" when none was compressed)."""
    seen = Counter(c.encoding or "identity" for c in calls if c.status == 200 and c.down)
    return seen.most_common(1)[0][0] if seen else None


def summarize(step, target=None, cfg=None) -> dict:
    """One report row from a StepData."""
    spec = step.spec
    interactions = [r.interaction for r in step.records if r.interaction is not None]
    # An interaction that ran entirely in the browser (clientside) has no request to time.
    latencies = [i.ms for i in interactions if i.calls]
    calls = [c for i in interactions for c in i.calls]
    producers = [c.ms for c in calls if c.depth == 0 and not c.poll]
    consumers = [c.ms for c in calls if c.depth > 0 and not c.poll]
    per_worker = Counter(c.pid for c in calls if c.pid != "?")
    per_host: dict[str, dict[str, int]] = {}
    for c in calls:
        if c.pid != "?":
            per_host.setdefault(c.host, Counter())[c.pid] += 1
    n = len(interactions)
    judged = judge_reads(step.records, step.written)
    computations = counter_delta(step.before, step.after, "compute", spec.slug)
    hits = counter_delta(step.before, step.after, "hit", spec.slug)
    misses = counter_delta(step.before, step.after, "miss", spec.slug)
    lookups = (hits or 0) + (misses or 0)
    problems = step.errors + [e for i in interactions + step.loads for e in i.all_errors]
    row = {
        "strategy": spec.slug,
        "label": spec.label or spec.slug,
        "kind": spec.kind,
        "scenario": step.scenario,
        "rows": step.rows,
        "effective_rows": spec.effective_rows(step.rows),
        "latency_ms_p50": rounded(percentile(latencies, 50), 1),
        "latency_ms_p95": rounded(percentile(latencies, 95), 1),
        "producer_ms_p50": rounded(percentile(producers, 50), 1),
        "consumer_ms_p50": rounded(percentile(consumers, 50), 1),
        "request_bytes": round(sum(i.up for i in interactions) / n) if n else None,
        "response_bytes": round(sum(i.down for i in interactions) / n) if n else None,
        # As deployed: answers compressed on the wire (Content-Encoding), requests raw (browsers never compress them).
        "response_bytes_wire": round(sum(i.down_wire for i in interactions) / n) if n else None,
        "compression_down": compression_ratio(interactions),
        "content_encoding": _encoding(calls),
        "requests_per_interaction": rounded(len(calls) / n, 2) if n else None,
        "polls_per_interaction": rounded(sum(1 for c in calls if c.poll) / n, 2) if n else None,
        "clientside_per_interaction": rounded(sum(i.skipped_clientside for i in interactions) / n, 2) if n else None,
        # None when the server does not say which worker answered (no X-Worker-PID header).
        "workers_hit": len(per_worker) if per_worker or not calls else None,
        "requests_per_worker": dict(sorted(per_worker.items())),
        "requests_per_host": {h: dict(sorted(c.items())) for h, c in sorted(per_host.items())},
        "computations": computations,
        "cache_hits": hits,
        "cache_misses": misses,
        "cache_hit_rate": rounded(hits / lookups, 3) if lookups else None,
        "interactions": n,
        **judged,
        "server_bytes": server_bytes(step.after, spec),
        "browser_bytes": round(sum(step.browser_bytes) / len(step.browser_bytes)) if step.browser_bytes else None,
        "errors": len(problems),
        "error_samples": problems[:5],
        "seconds": rounded(step.seconds, 2),
        "sessions": len({r.session for r in step.records}),
    }
    if step.scenario == "stampede":
        row["repetition"] = step.repetition
        row["cold_value"] = step.cold_value
    if target is not None and len(target.urls) > 1 and spec.kind != "peer":
        row["scenario"] = "scale-out" if step.scenario == "standard" else step.scenario
    return row
