"""The load's analysis: pure functions from what the sessions and monitors recorded to the report's rows,
memory summary, events, timeline and bounds. No I/O, no clock: tests/unit/test_load_analysis.py feeds them by hand."""

from __future__ import annotations

import i18n
import strategies
from reports.fmt import rounded
from reports.load_targets import load_targets as shown_load_targets
from reports.run_words import load_problems, load_verdict, read_event

from ..metrics import percentile
from .driver import LoadStep

# Strategies that do not claim to keep one session's value apart from another's (by design): their records say so.
UNSAFE = {r.slug for r in strategies.records() if not r.claims_isolation}


def claims_isolation(slug: str) -> bool:
    """Whether the strategy claims no session reads another's value (its record; the no-op floor, the peer and a
    strategy without a record must)."""
    return strategies.isolated(slug)
BIN_S = 5.0


def summarize_memory(samples: list[dict], rss_bound: float, redis_bound: float, workers_note: str | None,
                     redis_note: str | None, every_s: float) -> dict:
    """Start, end, peak and growth of every worker and of Redis, against the bounds."""
    out: dict = {"bounds": {"worker_rss_growth_mb": rss_bound, "redis_rss_growth_mb": redis_bound},
                 "rule": "growth = peak over the run − the reading at the start (end − start is shown too)",
                 "samples": len(samples), "every_s": every_s}
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


def overlaps(t0: float, t1: float, window: tuple[float, float] | None) -> bool:
    return window is not None and t1 >= window[0] and t0 <= window[1]


def judged(ls: LoadStep) -> list[tuple]:
    """Per timed round: (start, end, session, [(kind, expected, got)]) for its stale, leaked and unrecognised reads."""
    return [(t0, t1, record.session, bad, ls.shown.get(id(record)) or []) for record, t0, t1, bad in judged_records(ls)]


def judged_records(ls: LoadStep) -> list[tuple]:
    """Per timed round with a wrong or unrecognised read: (record, start, end, [(kind, expected, got)])."""
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
            out.append((record, t0, t1, bad))
    return out


def load_fields(ls: LoadStep, window, load_end: float) -> dict:
    claims = claims_isolation(ls.spec.slug)
    bad_rounds = judged(ls)
    stale_times = [(t0, t1) for t0, t1, _, bad, _ in bad_rounds for k, _, _ in bad if k in ("stale", "leak")]
    unverified_times = [(t0, t1) for t0, t1, _, bad, _ in bad_rounds for k, _, _ in bad if k == "unverified"]
    leak_times = [(t0, t1) for t0, t1, _, bad, _ in bad_rounds for k, _, _ in bad if k == "leak"]
    outside = lambda spans: sum(1 for a, b in spans if not overlaps(a, b, window))  # noqa: E731
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
    inside = len(error_spans) - fields["errors_outside_window"] + len(stale_times) - fields["stale_outside_window"]
    with i18n.speaking("en"):  # report.json's words: English (report.html says them again in its language)
        fields["passed"] = not load_problems(fields, window is not None, len(leak_times))
        fields["verdict"] = load_verdict(fields, window is not None, len(leak_times), inside, bool(ls.spec.reads))
    return fields


def events(steps, window) -> list[dict]:
    out = []
    for ls in steps:
        slug = ls.spec.slug
        for e in ls.errors:
            out.append({"t": e["t0"], "t_end": e["t1"], "strategy": slug, "session": e["session"], "kind": "error",
                        "in_window": overlaps(e["t0"], e["t1"], window), "message": e["message"]})
        for t0, t1, session, bad, shown in judged(ls):
            for i, (kind, expected, got) in enumerate(bad):
                if not claims_isolation(slug) and kind != "unverified":
                    continue  # the unsafe strategy's stale reads are its lesson: counted in its row, not listed
                with i18n.speaking("en"):
                    text = read_event(expected, got, shown[i] if i < len(shown) else None)
                out.append({"t": round(t0, 3), "t_end": round(t1, 3), "strategy": slug, "session": session, "kind": kind,
                            "in_window": overlaps(t0, t1, window), "message": text[:400]})
        for u in ls.unanswered:
            out.append({"t": u["t0"], "t_end": None, "strategy": slug, "session": u["session"], "kind": "unanswered",
                        "in_window": overlaps(u["t0"], u["t0"], window), "message": u["why"]})
    out.sort(key=lambda e: e["t"])
    return out


def timeline(steps, load_end: float) -> dict:
    """Interactions, errors and latency per BIN_S-second bin (by the interaction's start)."""
    bins = max(1, int(load_end // BIN_S) + 1)
    by = [{"t": round(i * BIN_S, 1), "interactions": 0, "errors": 0, "stale": 0, "unanswered": 0, "ms": [], "by_strategy": {}} for i in range(bins)]
    for ls in steps:
        stale_starts = {round(t0, 3) for t0, _, _, bad, _ in judged(ls) if any(k in ("stale", "leak") for k, _, _ in bad)}
        for record, t0, _t1 in ls.timed:
            if record.interaction is None:
                continue
            b = by[min(bins - 1, max(0, int(t0 // BIN_S)))]
            b["interactions"] += 1
            b["by_strategy"][ls.spec.slug] = b["by_strategy"].get(ls.spec.slug, 0) + 1
            if record.interaction.calls:
                b["ms"].append(record.interaction.ms)
            if round(t0, 3) in stale_starts and claims_isolation(ls.spec.slug):
                b["stale"] += 1
        for e in ls.errors:
            by[min(bins - 1, max(0, int(e["t0"] // BIN_S)))]["errors"] += 1
        for u in ls.unanswered:
            by[min(bins - 1, max(0, int(u["t0"] // BIN_S)))]["unanswered"] += 1
    for b in by:
        ms = b.pop("ms")
        b["p50_ms"] = rounded(percentile(ms, 50), 1)
        b["p95_ms"] = rounded(percentile(ms, 95), 1)
    return {"bin_s": BIN_S, "bins": by}


def outage_totals(results: list[dict]) -> dict:
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
    """The load's bounds, pass or fail, in the shape of the standard report's targets (in English: report.json's)."""
    with i18n.speaking("en"):
        return shown_load_targets(report)
