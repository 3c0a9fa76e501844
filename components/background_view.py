"""What the background-callbacks page shows about its jobs (the jobs themselves: runtime/background_jobs.py)."""

from __future__ import annotations

import contextlib
import logging
import time

import dash
import dash_bootstrap_components as dbc
import flask
from dash import html

import i18n
import stores
import workload
from i18n import _
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

from .sentence import inline

log = logging.getLogger(__name__)


@contextlib.contextmanager
def visitor_language():
    """Inside a background job, gettext in the language of the visitor whose click started it.

    A job runs in a Celery pool process (or a process forked for it), with no Flask request: i18n.current()
    would answer English. Dash captures the starting request's cookies and headers into the job's callback
    context, so the language is chosen from them as for a request (cookie, then Accept-Language), for the
    duration of the job. In a request (an ordinary callback) this changes nothing."""
    if flask.has_request_context():
        yield
        return
    try:
        cookies = dash.callback_context.cookies or {}
        headers = dash.callback_context.headers or {}
    except Exception:  # noqa: BLE001 - outside any callback: no visitor, English
        cookies, headers = {}, {}
    accept = next((v for k, v in headers.items() if str(k).lower() == "accept-language"), None)
    code = i18n.choose(None, cookies.get(i18n.COOKIE) if hasattr(cookies, "get") else None, accept)
    with i18n.speaking(code):
        yield


def _with_code(message: str, codes: dict, **variables) -> list:
    """A translated sentence as Spans, with the placeholders named in `codes` as html.Code elements.

    `message` is the translated template (not yet filled in), so a translation may move the code
    elements anywhere in its sentence; the other placeholders are filled from `variables`."""
    parts = {**{name: str(value) for name, value in variables.items()}, **{name: html.Code(code) for name, code in codes.items()}}
    return [html.Span(child) if isinstance(child, str) else child for child in inline(message, **parts)]


def alert(headline: str, *text: str, color: str, mark: str = "") -> dbc.Alert:
    """A verdict in the page: a bold headline, then what happened; `mark` is the class the page's tests find it by."""
    return dbc.Alert([html.Strong(headline), *text], color=color, className=f"py-2 mb-0 small {mark}".rstrip())


def where(record: dict) -> str:
    return _("pid %(pid)s on host %(host)s", pid=record["pid"], host=record["host"])


def process_line(record: dict) -> html.Div:
    """Where the job ran, said plainly: this is the point of the page."""
    parent = record.get("parent", "process")
    if parent == "gunicorn web worker":
        relation = _(
            "a process forked by the gunicorn web worker %(ppid)s that received the click "
            "(DiskcacheManager: one new process per job)",
            ppid=record["ppid"],
        )
    elif parent == "Celery worker":
        relation = _(
            "a pool process of the Celery worker %(ppid)s (CeleryManager: the job went through the Redis queue)",
            ppid=record["ppid"],
        )
    else:
        relation = _("a child of process %(ppid)s", ppid=record["ppid"])
    sentence = _("Ran in %(pid)s on host %(host)s — %(relation)s. Not one of the web worker pids in the instruments.")
    return html.Div(
        _with_code(sentence, {"pid": f"pid {record['pid']}", "host": record["host"]}, relation=relation),
        className="bg-process small",
    )


def result_view(record: dict, title: str | None = None) -> html.Div:
    revenue = sum(record.get("revenue", {}).values())
    head = title or _(
        "Done: %(total)s steps over %(rows)s rows each in %(seconds)s s",
        total=record["total"],
        rows=format(record["rows"], ","),
        seconds=format(record["seconds"], ".1f"),
    )
    return html.Div(
        [
            html.Div([html.Span("✓ ", className="text-success fw-bold"), html.Span(head)], className="fw-semibold"),
            html.Div(
                _(
                    "%(rows)s cleaned rows · revenue %(revenue)s",
                    rows=format(record.get("processed", 0), ","),
                    revenue=format(revenue, ",.0f"),
                ),
                className="small text-muted",
            ),
            process_line(record),
        ],
        className="bg-result",
    )


def error_view(exc: Exception) -> dbc.Alert:
    if isinstance(exc, stores.StoreError):
        text = _("Store unavailable: %(reason)s", reason=exc)
    elif isinstance(exc, workload.WorkloadError | JobError):
        text = _("Cannot run this job: %(reason)s", reason=exc)
    else:
        text = _("The job failed: %(reason)s", reason=exc)
    return dbc.Alert(text, color="danger", className="py-2 mb-0 small")


def guarded(job):
    """Run job(); a failure becomes an alert in the page, never a traceback or a 500. In the visitor's
    language, also inside a background job (visitor_language)."""
    with visitor_language():
        try:
            return job()
        except (stores.StoreError, workload.WorkloadError, JobError) as exc:
            return error_view(exc)
        except Exception as exc:  # noqa: BLE001 - inside a job anything must become a message
            log.exception("background job failed")
            return error_view(exc)


def progress_label(done: int, total: int, record: dict | None = None) -> str:
    if record is not None and record.get("state") == "queued":
        return _("queued: #%(position)s in line", position=record.get("position", 1))
    return f"{done}/{total}"


def watch_view(verdict: Verdict):
    """The status line under the progress bar."""
    record = verdict.record
    if verdict.state == "queued":
        queue = verdict.queue
        if record is not None and record.get("position"):
            return html.Span(
                _(
                    "Queued: number %(position)s in line for a compute slot. At most %(slots)s "
                    "background job(s) compute at once on this server (one per core); the others wait their turn.",
                    position=record["position"],
                    slots=record.get("slots", 1),
                ),
                className="small text-muted bg-queued",
            )
        if queue is not None:
            return html.Span(
                _(
                    "Queued %(idle)s s: %(waiting)s job(s) wait in the queue and %(workers)s Celery "
                    "worker(s) are busy serving it; this one starts when a pool process is free "
                    "(declared lost only if the queue stalls for %(stall)s s).",
                    idle=format(verdict.idle, ".0f"),
                    waiting=queue.waiting,
                    workers=queue.workers,
                    stall=format(QUEUED_FOR_AT_MOST * verdict.limit, ".0f"),
                ),
                className="small text-muted bg-queued",
            )
        return html.Span(
            _(
                "Queued %(idle)s s: waiting for a worker to pick the job up "
                "(declared lost after %(limit)s s without progress).",
                idle=format(verdict.idle, ".0f"),
                limit=format(verdict.limit, ".0f"),
            ),
            className="small text-muted",
        )
    if verdict.state == "running":
        return html.Span(
            _(
                "Step %(step)s/%(total)s in %(where)s · last progress %(idle)s s ago.",
                step=record["step"],
                total=record["total"],
                where=where(record),
                idle=format(verdict.idle, ".1f"),
            ),
            className="small text-muted",
        )
    if verdict.state == "lost":
        if record and "pid" in record:
            heard = _(
                "last heard from %(where)s at step %(step)s/%(total)s",
                where=where(record),
                step=record["step"],
                total=record["total"],
            )
        elif (verdict.queue is not None and not verdict.queue.workers) or (record or {}).get("workers") == 0:
            heard = _(
                "no worker ever started it: no Celery worker answered a ping — start one with "
                "`celery -A app:celery_app worker`"
            )
        else:
            heard = _("no worker ever started it")
        return alert(
            _("Job lost. "),
            _(
                "No progress for %(limit)s s (%(heard)s). The process running it died, or no worker is up. "
                "The page cancelled it, so the browser stopped polling; run it again.",
                limit=format(verdict.limit, ".0f"),
                heard=heard,
            ),
            color="danger",
            mark="bg-lost",
        )
    if verdict.state == "vanished":
        return alert(
            _("The job stopped without a result. "),
            _("Its process (%(where)s) is gone, so Dash ended the polling with no update. Run it again.", where=where(record)),
            color="warning",
        )
    if verdict.state == "cancelled":
        if record and "step" in record:
            text = _(
                "Cancelled at step %(step)s/%(total)s: the job's process was terminated; no result will arrive.",
                step=record["step"],
                total=record["total"],
            )
        else:
            text = _("Cancelled: the job's process was terminated; no result will arrive.")
        return html.Span(text, className="small text-muted")
    if verdict.state == "done":
        return html.Span(
            _("Finished in %(seconds)s s.", seconds=format(record.get("seconds", 0), ".1f")), className="small text-muted"
        )
    return ""


def sync_survived(record: dict, timeout: int) -> dbc.Alert:
    return alert(
        _("It survived. "),
        _(
            "The synchronous job finished in %(seconds)s s inside web worker %(pid)s: "
            "gunicorn's heartbeat check (timeout %(timeout)s s) did not catch it this time.",
            seconds=format(record["seconds"], ".1f"),
            pid=record["pid"],
            timeout=timeout,
        ),
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
    if record and "pid" in record:
        text = _(
            " — step %(step)s/%(total)s in %(where)s, started %(ago)s s ago. At most one runs at a time on this "
            "site, so it never ties up the threads other visitors need. Click again to see how far it got, or run "
            "the background twin below meanwhile.",
            step=record["step"],
            total=record["total"],
            where=where(record),
            ago=format(time.time() - record["started"], ".0f"),
        )
    else:
        text = _(
            ". At most one runs at a time on this site, so it never ties up the threads other visitors "
            "need. Click again to see how far it got, or run the background twin below meanwhile."
        )
    return alert(
        _("Another visitor's synchronous demo is running"),
        text,
        color="info",
        mark="bg-sync-busy",
    )


def sync_timed_out(record: dict, timeout: int, needs: int) -> dbc.Alert:
    return alert(
        _(
            "Stopped after %(timeout)s s, at step %(step)s/%(total)s: no result. ",
            timeout=timeout,
            step=record["step"],
            total=record["total"],
        ),
        _(
            "A request may take at most %(timeout)s s here and this job needs %(needs)s s. With gunicorn's sync "
            "workers this is where gunicorn kills the web worker mid-request; this site's threaded workers "
            "cannot be killed that way, so the site enforces the limit itself — and the result is lost all the "
            "same. It ran in web worker pid %(pid)s on host %(host)s.",
            timeout=timeout,
            needs=needs,
            pid=record["pid"],
            host=record["host"],
        ),
        color="danger",
        mark="bg-killed",
    )


def sync_autopsy(failure: dict, record: dict | None, timeout: int, needs: int) -> dbc.Alert:
    """What happened to the synchronous request gunicorn killed."""
    elapsed = float(failure.get("elapsed") or 0)
    error = str(failure.get("error") or _("no response"))[:200]
    if error.startswith("HTTP"):
        said = _(
            "gunicorn's worker timeout is %(timeout)s s and this job needs %(needs)s s: a busy sync worker cannot "
            "send gunicorn its heartbeat, so gunicorn killed it mid-request and answered a bare %(error)s in its "
            "place — no result.",
            timeout=timeout,
            needs=needs,
            error=error,
        )
    else:
        said = _(
            "gunicorn's worker timeout is %(timeout)s s and this job needs %(needs)s s: a busy sync worker cannot "
            "send gunicorn its heartbeat, so gunicorn killed it mid-request and closed the connection (%(error)s) "
            "— no result.",
            timeout=timeout,
            needs=needs,
            error=error,
        )
    parts = [said]
    if record is not None:
        parts.append(
            _(
                " It was pid %(pid)s on host %(host)s, at step %(step)s/%(total)s; "
                "gunicorn started a fresh worker in its place.",
                pid=record["pid"],
                host=record["host"],
                step=record["step"],
                total=record["total"],
            )
        )
    return alert(
        _("The web worker was killed after %(seconds)s s. ", seconds=format(elapsed, ".0f")),
        *parts,
        color="danger",
        mark="bg-killed",
    )
