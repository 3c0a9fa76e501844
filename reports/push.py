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

from pathlib import Path

import jinja2

from .fmt import DASH, human_bytes, number
from .output import csv_text, write_files
from .schema import check

TEMPLATES = Path(__file__).resolve().parent / "templates"
_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, keep_trailing_newline=True,
                          undefined=jinja2.StrictUndefined)
FIELDS = ["strategy", "kind", "scenario", "transport", "propagation_ms_p50", "propagation_ms_p95", "propagation_ms_max",
          "samples", "missed", "requests_per_tab_minute", "frames_per_tab_minute", "bytes_down_per_tab_minute", "tabs",
          "workers_hit", "worker_pids", "polls_per_interaction", "requests_per_interaction", "first_progress_ms_p50",
          "latency_ms_p50", "frames_per_interaction", "request_bytes", "response_bytes", "interactions", "errors"]
SHARED_COLUMNS = [("kind", "how"), ("transport", "transport"), ("propagation_ms_p50", "propagation p50 ms"),
                  ("propagation_ms_p95", "p95 ms"), ("propagation_ms_max", "max ms"), ("samples", "samples"),
                  ("missed", "missed"), ("requests_per_tab_minute", "HTTP requests / tab / min"),
                  ("bytes_down_per_tab_minute", "bytes down / tab / min"), ("workers_hit", "worker pids"), ("errors", "errors")]
PROGRESS_COLUMNS = [("kind", "how"), ("transport", "transport"), ("polls_per_interaction", "polls / job"),
                    ("requests_per_interaction", "HTTP requests / job"), ("frames_per_interaction", "frames down / job"),
                    ("first_progress_ms_p50", "click → first progress ms"), ("latency_ms_p50", "click → result ms"),
                    ("request_bytes", "bytes up"), ("response_bytes", "bytes down"), ("interactions", "jobs"), ("errors", "errors")]
BYTES = {"request_bytes", "response_bytes", "bytes_down_per_tab_minute"}
TARGET_P95_MS = 100.0
TARGET_RATIO = 0.2

_TEMPLATE = """{% extends "base.html.j2" %}
{% block title %}Dash State Lab — push against polling{% endblock %}
{% block body %}
<h1>Dash State Lab — push against polling</h1>
<div class="meta">{{ cfg.tabs }} tabs · {{ cfg.changes }} changes, one every {{ cfg.change_every_s }} s · polling every {{ cfg.poll_every_s }} s · backend {{ cfg.backend }} · {{ cfg.workers or "?" }} workers · dash {{ cfg.dash_version }} · {{ created }} · took {{ took }} s</div>
<h2>Live shared state: one value, every tab</h2>
<p class="meta">From the publishing worker's stamp to a tab holding the change (or a newer one), every tab but the writer's; both transports ran at once on the same tabs.</p>
<div class="card" style="overflow-x:auto"><table class="results"><thead><tr>{% for _, label in shared_columns %}<th>{{ label }}</th>{% endfor %}</tr></thead><tbody>
{%- for row in shared %}<tr>{% for c in row %}<td>{{ c }}</td>{% endfor %}</tr>{% endfor -%}
</tbody></table></div>
<h2>Progress of a job: pushed and polled</h2>
<div class="card" style="overflow-x:auto"><table class="results"><thead><tr>{% for _, label in progress_columns %}<th>{{ label }}</th>{% endfor %}</tr></thead><tbody>
{%- for row in progress %}<tr>{% for c in row %}<td>{{ c }}</td>{% endfor %}</tr>{% endfor -%}
</tbody></table></div>
<h2>Targets</h2>
<div class="card"><ul>{% for x in targets %}<li>{{ x }}</li>{% endfor %}</ul></div>
<p class="meta">Schema <code>{{ schema }}</code>, scenario <code>push</code>.</p>
{% endblock %}
"""


def cell(key: str, value) -> str:
    if value is None:
        return DASH
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if key in BYTES:
        return human_bytes(value)
    return number(value)


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


def target_lines(report: dict) -> list[str]:
    t = report.get("targets") or targets(report)
    ok = lambda b: "met" if b else "NOT met"  # noqa: E731
    return [f"push propagation p95 {cell('', t['push_p95_ms'])} ms ≤ {TARGET_P95_MS:g} ms: {ok(t['p95_within_100ms'])}",
            f"push p95 / polling p95 = {DASH if t['ratio'] is None else format(t['ratio'], '.3f')} ≤ {TARGET_RATIO:g}: {ok(t['ratio_within_0_2'])} "
            f"(polling p95 {cell('', t['poll_p95_ms'])} ms)"]


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


def push_html(report: dict) -> str:
    results = report["results"]
    return _ENV.from_string(_TEMPLATE).render(
        css=(TEMPLATES / "report.css").read_text(), cfg=report["config"], schema=report.get("schema", ""),
        created=str(report.get("created", "")), took=report.get("seconds"),
        shared_columns=SHARED_COLUMNS, progress_columns=PROGRESS_COLUMNS,
        shared=[[cell(k, r.get(k)) for k, _ in SHARED_COLUMNS] for r in rows(results, "live-shared")],
        progress=[[cell(k, r.get(k)) for k, _ in PROGRESS_COLUMNS] for r in rows(results, "live-progress")],
        targets=target_lines(report),
    )


def to_csv(report: dict) -> str:
    return csv_text(report["results"], FIELDS)


def write(report: dict, out: Path | str) -> dict[str, Path]:
    """DIR/report.json, report.csv, report.html of a push report; the paths written."""
    check(report)
    return write_files(out, report, to_csv(report), push_html(report))
