"""The push report (scenario "push", bench/push.py): server push against polling on the two live pages.

Rows of strategy "live-shared" (one value every tab shows), kind "push" (WebSocket, set_props per change)
and "poll" (HTTP every second, dcc.Interval):
- propagation_ms_p50 / _p95 / _max: from the publishing worker's stamp to the tab holding that change (or
  a newer one), over every (tab, change) pair but the writer's; samples, missed (a pair never seen);
- requests_per_tab_minute: HTTP requests a tab made per minute while changes ran (push: only a reconnect's
  handshake would count); frames_per_tab_minute, bytes_down_per_tab_minute; tabs, worker_pids (tabs per
  worker pid), workers_hit.
Rows of strategy "live-progress", kind "push" (WebSocket callback) and "poll" (background callback,
progress=): polls_per_interaction, requests_per_interaction, first_progress_ms_p50 (click → first
progress), latency_ms_p50 (click → result), frames_per_interaction, request_bytes, response_bytes
(frames' payload bytes for push, request bodies and decoded answers for poll), medians over the jobs.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import i18n
from i18n import N_, _, gettext

from . import l10n
from .fmt import DASH
from .output import csv_text, write_files
from .schema import check
from .tables import labels
from .templating import render

FIELDS = ["strategy", "kind", "scenario", "transport", "propagation_ms_p50", "propagation_ms_p95", "propagation_ms_max",
          "samples", "missed", "requests_per_tab_minute", "frames_per_tab_minute", "bytes_down_per_tab_minute", "tabs",
          "workers_hit", "worker_pids", "polls_per_interaction", "requests_per_interaction", "first_progress_ms_p50",
          "latency_ms_p50", "frames_per_interaction", "request_bytes", "response_bytes", "interactions", "errors"]
SHARED_COLUMNS = [("kind", N_("how")), ("transport", N_("transport")), ("propagation_ms_p50", N_("propagation p50 ms")),
                  ("propagation_ms_p95", N_("p95 ms")), ("propagation_ms_max", N_("max ms")), ("samples", N_("samples")),
                  ("missed", N_("never seen")), ("requests_per_tab_minute", N_("HTTP requests / tab / min")),
                  ("bytes_down_per_tab_minute", N_("bytes down / tab / min")), ("workers_hit", N_("worker pids")),
                  ("errors", N_("errors"))]
PROGRESS_COLUMNS = [("kind", N_("how")), ("transport", N_("transport")), ("polls_per_interaction", N_("polls / job")),
                    ("requests_per_interaction", N_("HTTP requests / job")), ("frames_per_interaction", N_("frames down / job")),
                    ("first_progress_ms_p50", N_("click → first progress ms")), ("latency_ms_p50", N_("click → result ms")),
                    ("request_bytes", N_("bytes up")), ("response_bytes", N_("bytes down")), ("interactions", N_("jobs")),
                    ("errors", N_("errors"))]
BYTES = {"request_bytes", "response_bytes", "bytes_down_per_tab_minute"}
# A row's kind (report.json's word) as the table shows it.
KINDS = {"push": N_("push"), "poll": N_("poll")}
TARGET_P95_MS = 100.0
TARGET_RATIO = 0.2



def cell(key: str, value) -> str:
    """A cell in the reader's digits (in English as reports.fmt writes it)."""
    if value is None:
        return DASH
    if key == "kind" and value in KINDS:
        return gettext(KINDS[value])
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if key in BYTES:
        return l10n.size(value)
    return l10n.number(value)


def transport(strategy: str, kind: str, poll_every_s=None) -> str:
    """How a push result's updates travel, in the language being written (bench/push.py stores it in English)."""
    if strategy == "live-progress":
        return _("WebSocket callback, set_props per step") if kind == "push" else _("background callback, progress=, poll every 500 ms")
    if kind == "push":
        return _("WebSocket (set_props per change)")
    return _("HTTP poll every %(seconds)s s (dcc.Interval)", seconds=f"{poll_every_s:g}")


def _said(r: dict, cfg: dict) -> dict:
    """The row with its transport in the reader's language when its stored English is what `transport` writes; else
    (an older report's wording) as recorded."""
    args = (r.get("strategy"), r.get("kind"), cfg.get("poll_every_s"))
    try:
        with i18n.speaking("en"):
            english = transport(*args)
    except (TypeError, ValueError):
        return r
    return {**r, "transport": transport(*args)} if english == r.get("transport") else r


def rows(results: list[dict], strategy: str) -> list[dict]:
    return [r for r in results if r.get("strategy") == strategy]


def _row(results: list[dict], strategy: str, kind: str) -> dict:
    return next((r for r in rows(results, strategy) if r.get("kind") == kind), {})


def targets(report: dict) -> dict:
    """The issue's target, from this one run: push p95 ≤ 100 ms and ≤ 0.2 × polling's p95."""
    results = report["results"]
    push, poll = _row(results, "live-shared", "push"), _row(results, "live-shared", "poll")
    p95, poll95 = push.get("propagation_ms_p95"), poll.get("propagation_ms_p95")
    ratio = round(p95 / poll95, 3) if p95 is not None and poll95 else None
    return {"push_p95_ms": p95, "poll_p95_ms": poll95, "ratio": ratio,
            "p95_within_100ms": p95 is not None and p95 <= TARGET_P95_MS,
            "ratio_within_0_2": ratio is not None and ratio <= TARGET_RATIO}


def _met(ok: bool) -> str:
    return _("met") if ok else _("NOT met")


def target_lines(report: dict) -> list[str]:
    """The targets as sentences in the reader's language (the terminal's: English)."""
    t = report.get("targets") or targets(report)
    return [_("push propagation p95 %(p95)s ms ≤ %(limit)s ms: %(verdict)s", p95=cell("", t["push_p95_ms"]),
              limit=l10n.general(TARGET_P95_MS), verdict=_met(t["p95_within_100ms"])),
            _("push p95 / polling p95 = %(ratio)s ≤ %(limit)s: %(verdict)s (polling p95 %(poll)s ms)",
              ratio=DASH if t["ratio"] is None else l10n.fixed(t["ratio"], 3), limit=l10n.general(TARGET_RATIO),
              verdict=_met(t["ratio_within_0_2"]), poll=cell("", t["poll_p95_ms"]))]


def summary_text(report: dict) -> str:
    results = report["results"]
    lines = ["push scenario:"]
    for r in rows(results, "live-shared"):
        lines.append(f"  live-shared {r['kind']:>4}: propagation p50 {cell('', r.get('propagation_ms_p50'))} ms, "
                     f"p95 {cell('', r.get('propagation_ms_p95'))} ms ({r.get('samples')} samples, {r.get('missed')} missed), "
                     f"{cell('', r.get('requests_per_tab_minute'))} HTTP requests per tab per minute, "
                     f"tabs on {r.get('workers_hit')} worker pids {r.get('worker_pids')}")
    for r in rows(results, "live-progress"):
        lines.append(f"  live-progress {r['kind']:>4}: {cell('', r.get('polls_per_interaction'))} polls per job, "
                     f"{cell('', r.get('requests_per_interaction'))} HTTP requests per job, first progress "
                     f"{cell('', r.get('first_progress_ms_p50'))} ms, result {cell('', r.get('latency_ms_p50'))} ms")
    lines += ["  " + line for line in target_lines(report)]
    return "\n".join(lines)


def _shown(report: dict, strategy: str) -> list[dict]:
    return [_said(r, report.get("config") or {}) for r in rows(report["results"], strategy)]


def push_html(report: dict) -> str:
    return render(
        "push.html.j2", cfg=report["config"], schema=report.get("schema", ""),
        created=str(report.get("created", "")), took=report.get("seconds"),
        shared_columns=labels(SHARED_COLUMNS), progress_columns=labels(PROGRESS_COLUMNS),
        shared=[[cell(k, r.get(k)) for k, _label in SHARED_COLUMNS] for r in _shown(report, "live-shared")],
        progress=[[cell(k, r.get(k)) for k, _label in PROGRESS_COLUMNS] for r in _shown(report, "live-progress")],
        targets=target_lines(report),
    )


def to_csv(report: dict) -> str:
    return csv_text(report["results"], FIELDS)


def write(report: dict, out: Path | str, lang: str | None = None) -> dict[str, Path]:
    """DIR/report.json, report.csv, report.html of a push report; the paths written. The HTML in language `lang`
    (i18n.speaking; None: the current one); the JSON and CSV are the same in every language."""
    check(report)
    with contextlib.nullcontext() if lang is None else i18n.speaking(lang):
        html = push_html(report)
    return write_files(out, report, to_csv(report), html)
