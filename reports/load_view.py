"""The load report's words and extra rows: the terminal summary, the memory and outage lines, the memory CSV rows."""

from __future__ import annotations

from .fmt import number


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
                 number(r["latency_ms_p50"]).rjust(8), number(r["latency_ms_p95"]).rjust(8), str(r["errors"]).rjust(6)]
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
        lines.append(f"  [{verdict}] {t['target']} ({t['limit']}): {number(t['ratio'])} — {t['detail']}")
    lines.append("PASSED" if report.get("passed") else "FAILED: see the targets above")
    return "\n".join(lines)


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
