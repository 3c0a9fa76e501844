"""What the background-callbacks page shows about its jobs (the jobs themselves: runtime/background_jobs.py)."""

from __future__ import annotations

import logging
import time

import dash_bootstrap_components as dbc
from dash import html

import stores
import workload
from runtime.background_jobs import (
    QUEUED_FOR_AT_MOST,
    SYNC_KEY,
    JobError,
    TimedOut,
    Verdict,
    load,
    long_job_seconds,
    run,
    ticket,
)

log = logging.getLogger(__name__)


def alert(headline: str, *text: str, color: str, mark: str = "") -> dbc.Alert:
    """A verdict in the page: a bold headline, then what happened; `mark` is the class the page's tests find it by."""
    return dbc.Alert([html.Strong(headline), *text], color=color, className=f"py-2 mb-0 small {mark}".rstrip())


def where(record: dict) -> str:
    return f"pid {record['pid']} on host {record['host']}"


def process_line(record: dict) -> html.Div:
    """Where the job ran, said plainly: this is the point of the page."""
    parent = record.get("parent", "process")
    if parent == "gunicorn web worker":
        relation = (
            f"a process forked by the gunicorn web worker {record['ppid']} that received the click "
            "(DiskcacheManager: one new process per job)"
        )
    elif parent == "Celery worker":
        relation = f"a pool process of the Celery worker {record['ppid']} (CeleryManager: the job went through the Redis queue)"
    else:
        relation = f"a child of process {record['ppid']}"
    return html.Div(
        [
            html.Span("Ran in "),
            html.Code(f"pid {record['pid']}"),
            html.Span(" on host "),
            html.Code(record["host"]),
            html.Span(f" — {relation}. Not one of the web worker pids in the instruments."),
        ],
        className="bg-process small",
    )


def result_view(record: dict, title: str | None = None) -> html.Div:
    revenue = sum(record.get("revenue", {}).values())
    head = title or (f"Done: {record['total']} steps over {record['rows']:,} rows each in {record['seconds']:.1f} s")
    return html.Div(
        [
            html.Div([html.Span("✓ ", className="text-success fw-bold"), html.Span(head)], className="fw-semibold"),
            html.Div(f"{record.get('processed', 0):,} cleaned rows · revenue {revenue:,.0f}", className="small text-muted"),
            process_line(record),
        ],
        className="bg-result",
    )


def error_view(exc: Exception) -> dbc.Alert:
    if isinstance(exc, stores.StoreError):
        text = f"Store unavailable: {exc}"
    elif isinstance(exc, workload.WorkloadError | JobError):
        text = f"Cannot run this job: {exc}"
    else:
        text = f"The job failed: {exc}"
    return dbc.Alert(text, color="danger", className="py-2 mb-0 small")


def guarded(job):
    """Run job(); a failure becomes an alert in the page, never a traceback or a 500."""
    try:
        return job()
    except (stores.StoreError, workload.WorkloadError, JobError) as exc:
        return error_view(exc)
    except Exception as exc:  # noqa: BLE001 - inside a job anything must become a message
        log.exception("background job failed")
        return error_view(exc)


def progress_label(done: int, total: int, record: dict | None = None) -> str:
    if record is not None and record.get("state") == "queued":
        return f"queued: #{record.get('position', 1)} in line"
    return f"{done}/{total}"


def watch_view(verdict: Verdict):
    """The status line under the progress bar."""
    record = verdict.record
    if verdict.state == "queued":
        queue = verdict.queue
        if record is not None and record.get("position"):
            return html.Span(
                f"Queued: number {record['position']} in line for a compute slot. At most {record.get('slots', 1)} "
                "background job(s) compute at once on this server (one per core); the others wait their turn.",
                className="small text-muted bg-queued",
            )
        if queue is not None:
            return html.Span(
                f"Queued {verdict.idle:.0f} s: {queue.waiting} job(s) wait in the queue and {queue.workers} Celery "
                "worker(s) are busy serving it; this one starts when a pool process is free "
                f"(declared lost only if the queue stalls for {QUEUED_FOR_AT_MOST * verdict.limit:.0f} s).",
                className="small text-muted bg-queued",
            )
        return html.Span(
            f"Queued {verdict.idle:.0f} s: waiting for a worker to pick the job up "
            f"(declared lost after {verdict.limit:.0f} s without progress).",
            className="small text-muted",
        )
    if verdict.state == "running":
        return html.Span(
            f"Step {record['step']}/{record['total']} in {where(record)} · last progress {verdict.idle:.1f} s ago.",
            className="small text-muted",
        )
    if verdict.state == "lost":
        if record and "pid" in record:
            heard = f"last heard from {where(record)} at step {record['step']}/{record['total']}"
        elif (verdict.queue is not None and not verdict.queue.workers) or (record or {}).get("workers") == 0:
            heard = "no worker ever started it: no Celery worker answered a ping — start one with `celery -A app:celery_app worker`"
        else:
            heard = "no worker ever started it"
        return alert(
            "Job lost. ",
            f"No progress for {verdict.limit:.0f} s ({heard}). The process running it died, or no worker is up. "
            "The page cancelled it, so the browser stopped polling; run it again.",
            color="danger",
            mark="bg-lost",
        )
    if verdict.state == "vanished":
        return alert(
            "The job stopped without a result. ",
            f"Its process ({where(record)}) is gone, so Dash ended the polling with no update. Run it again.",
            color="warning",
        )
    if verdict.state == "cancelled":
        step = f" at step {record['step']}/{record['total']}" if record and "step" in record else ""
        return html.Span(
            f"Cancelled{step}: the job's process was terminated; no result will arrive.", className="small text-muted"
        )
    if verdict.state == "done":
        return html.Span(f"Finished in {record.get('seconds', 0):.1f} s.", className="small text-muted")
    return ""


def sync_survived(record: dict, timeout: int) -> dbc.Alert:
    return alert(
        "It survived. ",
        f"The synchronous job finished in {record['seconds']:.1f} s inside web worker {record['pid']}: "
        f"gunicorn's heartbeat check (timeout {timeout} s) did not catch it this time.",
        color="warning",
    )


def run_sync(lab, token, n_clicks, rows):
    """The synchronous demo: inside this request, at most one site-wide, cut at the request timeout.

    Threaded gunicorn workers are not killed by --timeout (their main loop still reports), so the
    site enforces the limit a sync worker would have died of, and answers instead of dying: no
    killed worker, no traceback in the log, and the same lesson (the result never comes)."""
    name = ticket(token, "sync", n_clicks)
    timeout, seconds = lab.settings.worker_timeout, long_job_seconds(lab.settings)
    if not lab.store.add(SYNC_KEY, name.encode(), ttl=timeout + 15):
        return sync_busy(lab)
    try:
        record = run(lab, name, rows, 4, step_delay=seconds / 4, queue=False, deadline=time.time() + timeout)
        return sync_survived(record, timeout)
    except TimedOut as exc:
        return sync_timed_out(exc.record, timeout, seconds)
    finally:
        lab.store.compare_delete(SYNC_KEY, name.encode())


def sync_busy(lab) -> dbc.Alert:
    """Told to a visitor while someone else's synchronous demo runs: what it is doing now."""
    running = lab.store.get(SYNC_KEY)
    record = load(lab, running.decode()) if running else None
    now = f" — step {record['step']}/{record['total']} in {where(record)}, started {time.time() - record['started']:.0f} s ago" \
        if record and "pid" in record else ""
    return alert(
        "Another visitor's synchronous demo is running",
        f"{now}. At most one runs at a time on this site, so it never ties up the threads other visitors "
        "need. Click again to see how far it got, or run the background twin below meanwhile.",
        color="info",
        mark="bg-sync-busy",
    )


def sync_timed_out(record: dict, timeout: int, needs: int) -> dbc.Alert:
    return alert(
        f"Stopped after {timeout} s, at step {record['step']}/{record['total']}: no result. ",
        f"A request may take at most {timeout} s here and this job needs {needs} s. With gunicorn's sync "
        "workers this is where gunicorn kills the web worker mid-request; this site's threaded workers "
        "cannot be killed that way, so the site enforces the limit itself — and the result is lost all the "
        f"same. It ran in web worker pid {record['pid']} on host {record['host']}.",
        color="danger",
        mark="bg-killed",
    )


def sync_autopsy(failure: dict, record: dict | None, timeout: int, needs: int) -> dbc.Alert:
    """What happened to the synchronous request gunicorn killed."""
    elapsed = float(failure.get("elapsed") or 0)
    error = str(failure.get("error") or "no response")[:200]
    answer = f"answered a bare {error} in its place" if error.startswith("HTTP") else f"closed the connection ({error})"
    parts = [
        f"gunicorn's worker timeout is {timeout} s and this job needs {needs} s: a busy sync worker cannot send "
        f"gunicorn its heartbeat, so gunicorn killed it mid-request and {answer} — no result.",
    ]
    if record is not None:
        parts.append(
            f" It was pid {record['pid']} on host {record['host']}, at step {record['step']}/{record['total']}; "
            "gunicorn started a fresh worker in its place."
        )
    return alert(f"The web worker was killed after {elapsed:.0f} s. ", *parts, color="danger", mark="bg-killed")
