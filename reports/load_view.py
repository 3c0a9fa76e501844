"""The load report's words and extra rows: the terminal summary, the memory and outage lines, the memory CSV rows.

The memory and outage lines are in the reader's language (report.html); the CLI prints them, with its summary,
outside any language: in English."""

from __future__ import annotations

from i18n import _

from .fmt import number
from .l10n import fixed, general


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


def _ok(met) -> str:
    return _("within bound") if met else _("OVER")


def _worker_line(w: dict, bound) -> str:
    return _("worker pid %(pid)s: RSS %(start)s → %(end)s MB (peak %(peak)s, growth %(growth)s MB, bound %(bound)s) %(verdict)s",
             pid=w["pid"], start=fixed(w["rss_start_mb"]), end=fixed(w["rss_end_mb"]), peak=fixed(w["rss_peak_mb"]),
             growth=("+" if w["peak_growth_mb"] >= 0 else "") + fixed(w["peak_growth_mb"]), bound=general(bound),
             verdict=_ok(w["met"]))


def _redis_line(redis: dict, bound) -> str:
    line = _("Redis: used_memory %(start)s → %(end)s MB, used_memory_rss %(rss_start)s → %(rss_end)s MB (peak %(peak)s, "
             "bound +%(bound)s) %(verdict)s", start=fixed(redis["used_memory_start_mb"], 2), end=fixed(redis["used_memory_end_mb"], 2),
             rss_start=fixed(redis["used_memory_rss_start_mb"], 2), rss_end=fixed(redis["used_memory_rss_end_mb"], 2),
             peak=fixed(redis["used_memory_rss_peak_mb"], 2), bound=general(bound), verdict=_ok(redis["met"]))
    # The note is the run's own words (report.json).
    return line + (f" — {redis['note']}" if redis.get("note") else "")


def memory_lines(report: dict) -> list[str]:
    memory = report["memory"]
    lines = []
    if memory.get("workers"):
        for w in memory["workers"]:
            lines.append(_worker_line(w, memory["bounds"]["worker_rss_growth_mb"]))
    else:
        lines.append(_("workers: %(note)s", note=memory.get("workers_note")))
    redis = memory.get("redis")
    if redis and redis.get("met") is not None:
        lines.append(_redis_line(redis, memory["bounds"]["redis_rss_growth_mb"]))
    elif redis is not None:
        lines.append(_("Redis: %(note)s", note=redis.get("note")))
    else:
        lines.append(_("Redis: %(note)s", note=memory.get("redis_note")))
    return lines


def outage_line(report: dict) -> str:
    o = report["outage"]
    if not o.get("window_s"):
        return _("Redis restart: did not happen (%(problem)s)", problem=o.get("problem"))
    return _("Redis down at %(down)s s, answering again at %(up)s s; window with %(grace)s s grace %(start)s–%(end)s s; "
             "errors %(errors)s (%(inside)s inside, %(outside)s outside; first %(first)s s, last %(last)s s); stale reads of "
             "isolating strategies %(stale_inside)s inside, %(stale_outside)s outside; leaks %(leaks)s; interactions never "
             "answered %(unanswered_inside)s inside, %(unanswered_outside)s outside; HTTP 500: %(http_500)s",
             down=o["down_at_s"], up=o["up_at_s"], grace=general(o["grace_s"]), start=o["window_s"][0], end=o["window_s"][1],
             errors=o["errors"], inside=o["errors_inside"], outside=o["errors_outside"], first=o["first_error_s"],
             last=o["last_error_s"], stale_inside=o["stale_inside"], stale_outside=o["stale_outside"], leaks=o["leaks"],
             unanswered_inside=o["unanswered_inside"], unanswered_outside=o["unanswered_outside"], http_500=o["http_500"])


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
