"""The load's bounds, pass or fail, in the shape of the standard report's targets: pure over the stored report.

The benchmark stores them in English (bench/load/analysis.py calls `load_targets` inside `i18n.speaking("en")`);
report.html says them again in the reader's language (`shown_targets`), keeping a recorded row whose English the
stored numbers do not give back (an older report's wording) as it is. The digits are written as report.json's."""

from __future__ import annotations

import i18n
import strategies
from i18n import _


def unsafe() -> set[str]:
    """Strategies that do not claim to keep one session's value apart from another's (by design): their records say
    so (read when called: strategies/ is loaded after reports/ by some of its importers)."""
    return {r.slug for r in strategies.records() if not r.claims_isolation}


def _listed(pairs: list[str], empty: str | None = None) -> str:
    return "; ".join(pairs) or (empty if empty is not None else _("none"))


def _errors(out, results, outage, cfg):
    if outage is None:
        errors = sum(r["errors"] for r in results)
        out.append((_("errors, every strategy"), "0", errors, errors == 0,
                    _listed([f"{r['strategy']}: {r['errors']}" for r in results if r["errors"]],
                            _("%(count)s strategies, none", count=len(results)))))
        return
    errors = sum(r["errors_outside_window"] for r in results)
    window = outage.get("window_s")
    detail = (_("window %(window)s s; %(inside)s error(s) inside it", window=window, inside=outage.get("errors_inside", 0))
              if window else (outage.get("problem") or _("no outage")))
    out.append((_("errors outside the Redis outage window + %(grace)s s grace", grace=f"{cfg['bounds']['grace_s']:g}"), "0",
                errors, errors == 0 and window is not None, detail))


def _reads(out, results, claimed, outage):
    outside = _(" — outside the window") if outage else ""
    stale = sum(r["stale_outside_window"] + r["unverified_outside_window"] for r in claimed)
    out.append((_("stale or unrecognisable reads, strategies that claim isolation (all but %(unsafe)s)",
                  unsafe=", ".join(sorted(unsafe()))) + outside, "0", stale, stale == 0,
                _listed([f"{r['strategy']}: {r['stale_outside_window']}+{r['unverified_outside_window']}" for r in claimed
                         if r["stale_outside_window"] + r["unverified_outside_window"]])))
    leaks = sum(r["leaks"] for r in claimed)
    out.append((_("leaks (another session's value), strategies that claim isolation"), "0", leaks, leaks == 0,
                _listed([f"{r['strategy']}: {r['leaks']}" for r in claimed if r["leaks"]])))
    cut = sum(r["unanswered_outside_window"] for r in results)
    out.append((_("interactions never answered (given up on after --abandon-after, or at the hard stop)") + outside, "0",
                cut, cut == 0,
                _listed([_("%(strategy)s: %(count)s at %(times)s s", strategy=r["strategy"], count=r["unanswered"],
                           times=r["unanswered_times_s"]) for r in results if r["unanswered"]])))
    if outage is not None:
        readers = [r for r in claimed if r["reads"]]
        slow = [r["strategy"] for r in readers if not r["reads_after_window"] or r["correct_reads_after_window"] < r["reads_after_window"]]
        out.append((_("recovery: every isolating strategy that reads a value back read its own again after the window"),
                    _("all"), len(readers) - len(slow), not slow,
                    "; ".join(f"{r['strategy']}: {r['correct_reads_after_window']}/{r['reads_after_window']}" for r in readers)))
    http500 = sum(r["http_500"] for r in results)
    out.append((_("no HTTP 500 reaches the browser (issue 6: not even while Redis is down)"), "0", http500, http500 == 0,
                _listed([f"{r['strategy']}: {r['http_500']}" for r in results if r["http_500"]])))


def _memory(out, memory):
    bound = f"≤ {memory['bounds']['worker_rss_growth_mb']:g} MB"
    if memory.get("workers"):
        worst = max(memory["workers"], key=lambda w: w["peak_growth_mb"])
        out.append((_("gunicorn worker RSS growth, each of %(count)s workers (peak − start)", count=len(memory["workers"])),
                    bound, worst["peak_growth_mb"], memory["workers_met"],
                    ", ".join(_("pid %(pid)s: %(start)s→%(end)s MB (peak %(peak)s)", pid=w["pid"], start=f"{w['rss_start_mb']:.0f}",
                                end=f"{w['rss_end_mb']:.0f}", peak=f"{w['rss_peak_mb']:.0f}") for w in memory["workers"])))
        replaced = memory.get("workers_replaced") or []
        out.append((_("no gunicorn worker replaced during the run"), "0", len(replaced), not replaced,
                    _("pids that came or went: %(pids)s", pids=replaced) if replaced
                    else _("the same workers from start to end")))
    else:
        out.append((_("gunicorn worker RSS growth"), bound, None, None, memory.get("workers_note") or _("not measured")))
    redis = memory.get("redis")
    bound = f"≤ {memory['bounds']['redis_rss_growth_mb']:g} MB"
    if redis and redis.get("met") is not None:
        out.append((_("Redis used_memory_rss growth (peak − start)"), bound, redis["peak_growth_mb"], redis["met"],
                    _("rss %(start)s→%(end)s MB (peak %(peak)s); used_memory %(used_start)s→%(used_end)s MB",
                      start=f"{redis['used_memory_rss_start_mb']:.1f}", end=f"{redis['used_memory_rss_end_mb']:.1f}",
                      peak=f"{redis['used_memory_rss_peak_mb']:.1f}", used_start=f"{redis['used_memory_start_mb']:.1f}",
                      used_end=f"{redis['used_memory_end_mb']:.1f}")))
    elif redis is not None:
        out.append((_("Redis used_memory_rss growth"), bound, None, None, redis.get("note", "")))


def load_targets(report: dict) -> list[dict]:
    """The load's bounds in the language being written (the benchmark: English)."""
    results, memory, outage, cfg = report["results"], report["memory"], report.get("outage"), report["config"]
    claimed = [r for r in results if r["claims_isolation"]]
    out: list[tuple] = []
    _errors(out, results, outage, cfg)
    _reads(out, results, claimed, outage)
    _memory(out, memory)
    took = cfg.get("stopped_s")
    out.append((_("the run stopped by itself (duration + drain + request timeout)"), f"≤ {cfg['time_bound_s']:g} s", took,
                took is not None and took <= cfg["time_bound_s"] and not cfg.get("sessions_stuck"),
                _("%(sent)s requests of a budget of %(budget)s", sent=f"{cfg['requests_sent']:,}", budget=f"{cfg['max_requests']:,}")
                + (_("; the budget ran out") if cfg.get("budget_exhausted") else "")))
    return [{"target": name, "limit": limit, "ratio": measured, "met": met, "detail": detail}
            for name, limit, measured, met, detail in out]


def shown_targets(report: dict) -> list[dict]:
    """The stored targets, their name, limit and detail in the reader's language where the stored numbers give the
    recorded English back; a row they do not (or a report they cannot be read from) as recorded."""
    recorded = report.get("targets") or []
    try:
        with i18n.speaking("en"):
            english = load_targets(report)
        said = load_targets(report)
    except (KeyError, TypeError, ValueError):
        return recorded
    out = []
    for i, t in enumerate(recorded):
        e = english[i] if i < len(english) else None
        same = e is not None and all(e[k] == t.get(k) for k in ("target", "limit", "detail"))
        out.append({**t, **{k: said[i][k] for k in ("target", "limit", "detail")}} if same else t)
    return out
