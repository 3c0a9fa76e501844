"""The jobs of the background-callbacks page, and what the page shows about them.

A job runs the shared workload step by step (one region per step) wherever the
background-callback manager puts it: a process forked from the web worker
(DiskcacheManager) or a Celery pool process (CeleryManager). Each job keeps a small
record in the store — which process runs it, which step it reached, when it last
made progress — so the page can show where the job ran and notice a job whose
process died: Dash itself would keep polling a lost Celery task for ever.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass

import dash_bootstrap_components as dbc
import psutil
from celery import current_task
from dash import html

import stores
import workload
from components import choices
from components.choices import quote
from config import Settings
from stores import codec, joblimits, sessions
from stores.background import QueueState, own_job_process, queue_state

log = logging.getLogger(__name__)

SLUG = "background"
RECORD_PREFIX = f"{SLUG}:job:"  # + ticket; lab.store.bytes_held("background:") measures them
SEEN_PREFIX = f"{SLUG}:seen:"
LAST_KEY = f"{SLUG}:last"
FINISHED_KEY = f"{SLUG}:finished"
RECORD_TTL = 3600
STEP_CHOICES = (4, 8, 12)
DEFAULT_STEPS = 4
EXAMPLES = ("1", "2", "3", "4", "5", "sync", "twin")
SYNC_KEY = f"{SLUG}:sync:running"  # the one synchronous demo running site-wide, if any


class JobError(ValueError):
    """A job request the page cannot run (bad input from the browser)."""


# --- inputs ---------------------------------------------------------------------------------


def check_steps(steps) -> int:
    try:
        steps = int(steps)
    except (TypeError, ValueError):
        raise JobError(f"steps must be one of {', '.join(map(str, STEP_CHOICES))}, got {quote(steps)}") from None
    if steps not in STEP_CHOICES:
        raise JobError(f"steps must be one of {', '.join(map(str, STEP_CHOICES))}, got {steps}")
    return steps


def new_token(lab) -> str:
    """A page load's job token: minted and signed here, so a made-up one names no job."""
    return sessions.mint(lab.secret)


def ticket(token, example: str, n_clicks, secret: bytes | None = None) -> str:
    """The name of one run: page load token, example, click number. Checked: it becomes a store key.

    The token must be one this server signed: the watchdog and the job records create store keys
    from it, and made-up tokens created 3,542 of them in 10 s."""
    try:
        sessions.validate(token, secret if secret is not None else stores.current().secret)
    except sessions.InvalidSessionId:
        raise JobError("this page's job token is missing or was not issued by this server: reload the page") from None
    if example not in EXAMPLES:
        raise JobError(f"unknown example {quote(example, 40)}")
    if not isinstance(n_clicks, int) or isinstance(n_clicks, bool) or not 0 <= n_clicks <= 10**9:
        raise JobError(f"click count must be a whole number, got {quote(n_clicks, 40)}")
    return f"{token}-{example}-{n_clicks}"


def lost_after(settings: Settings) -> float:
    """Seconds without progress after which the page declares a job lost."""
    return max(10.0, 5 * settings.compute_delay)


# A job still waiting in a queue that workers are serving is not lost — up to this many
# times the usual limit, after which a queue that does not move counts as stuck.
QUEUED_FOR_AT_MOST = 10


def long_job_seconds(settings: Settings) -> int:
    """The job of the sync-vs-background demo: a few seconds past gunicorn's worker timeout."""
    return settings.worker_timeout + 3


# --- the job ------------------------------------------------------------------------------------


def runner_of(ppid: int) -> str:
    """What kind of process the job's parent is, read from its command line."""
    try:
        command = " ".join(psutil.Process(ppid).cmdline())
    except (psutil.Error, OSError):
        return "process"
    if "gunicorn" in command:
        return "gunicorn web worker"
    if "celery" in command:
        return "Celery worker"
    return "process"


def identity() -> dict:
    """Which process this is: pid, host and parent, taken inside the job."""
    ppid = os.getppid()
    return {"pid": os.getpid(), "host": socket.gethostname(), "ppid": ppid, "parent": runner_of(ppid)}


def load(lab, name: str) -> dict | None:
    raw = lab.store.get(RECORD_PREFIX + name)
    return codec.loads(raw) if raw is not None else None


def save(lab, name: str, record: dict) -> None:
    try:
        lab.store.set(RECORD_PREFIX + name, codec.dumps(record), ttl=RECORD_TTL)
    except stores.StoreError as exc:  # the job still computes; the page reports the store separately
        log.warning("job record %s not written: %s", name, exc)


def already_cancelled() -> bool:
    """True inside a Celery task that was cancelled before it (re)started.

    A task whose worker was killed is handed out again after the broker's visibility
    timeout; if the page cancelled it meanwhile, running it would be wasted work.
    """
    try:
        if not current_task or current_task.request.called_directly:  # the proxy is falsy outside a task
            return False
        return current_task.AsyncResult(current_task.request.id).state == "REVOKED"
    except Exception:  # noqa: BLE001 - a result backend hiccup must not stop the job
        return False


class TimedOut(JobError):
    """The synchronous demo ran past the request timeout; record says how far it got."""

    def __init__(self, record: dict):
        super().__init__(f"stopped at step {record['step']}/{record['total']}")
        self.record = record


def _job_alive(job: str) -> bool:
    return own_job_process(job) is not None


def _open_store(lab, attempts: int = 40) -> None:
    """A freshly forked job opens the SQLite store anew; when several start at once the file can be
    briefly locked while each one opens it. Wait that out (up to ~10 s) instead of failing the job.

    Also: the web worker is threaded, and Dash forks the job from one of its threads. A lock another
    thread held at that moment (DiskStore's opening lock, taken while a worker's first requests open
    the store) stays locked for ever in the child, whose first store call then hung. The child has
    one thread, so it can safely start with a fresh lock."""
    if hasattr(lab.store, "_opening"):
        lab.store._opening = threading.Lock()
    for attempt in range(attempts):
        try:
            lab.store.ping()
            return
        except stores.StoreUnavailable as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.25)


def _wait_for_slot(lab, name: str, record: dict, on_step) -> joblimits.Slot | None:
    """Embedded mode: wait, in line, until one of the per-core compute slots is free.

    The job process exists (Dash forked it) but computes nothing meanwhile; its record says
    "queued" with its place in line, renewed every half second so the watchdog sees it is alive."""
    if lab.settings.redis_url:
        return None  # Celery: the worker pool is the bound, the queue is the broker's
    bounds = joblimits.bounds(embedded=True)
    slot = joblimits.Slot(lab.store, str(os.getpid()), bounds.slots, _job_alive)
    while not slot.try_acquire():
        record.update(state="queued", position=slot.position() + 1, slots=bounds.slots, beat=time.time())
        save(lab, name, record)
        if on_step:
            on_step(0, record["total"], None, record)
        time.sleep(0.5)
    record.update(state="running", position=0, beat=time.time())
    return slot


def _pause(seconds: float, deadline: float | None) -> None:
    """The simulated part of a step, cut at the deadline."""
    end = time.time() + seconds
    if deadline is not None:
        end = min(end, deadline)
    while (left := end - time.time()) > 0:
        time.sleep(min(left, 0.25))


def run(lab, name: str, rows, steps, step_delay: float | None = None, on_step=None, queue: bool = True,
        deadline: float | None = None) -> dict:
    """Run the expensive step `steps` times (one region per step); the job's record.

    on_step(done, total, region, record) is called before the first step and after each (and
    while queued). queue=False: not a background job (the synchronous demo), so it takes no
    compute slot. deadline (a time.time()): raise TimedOut when the run gets there unfinished.
    """
    rows = choices.rows(rows)  # only the row counts the page offers
    steps = check_steps(steps) if step_delay is None else int(steps)
    if queue and not lab.settings.redis_url:
        _open_store(lab)
    delay = lab.settings.compute_delay if step_delay is None else step_delay
    now = time.time()
    record = {
        "ticket": name,
        "state": "running",
        "step": 0,
        "total": steps,
        "rows": rows,
        "started": now,
        "beat": now,
        "region": None,
        **identity(),
    }
    save(lab, name, record)
    slot = _wait_for_slot(lab, name, record, on_step) if queue else None
    try:
        return _steps(lab, name, record, rows, steps, delay, on_step, slot, deadline)
    finally:
        if slot is not None:
            slot.release()


def _steps(lab, name, record, rows, steps, delay, on_step, slot, deadline) -> dict:
    if on_step:
        on_step(0, steps, None, record)
    revenue: dict[str, float] = {}
    processed = 0
    for index in range(steps):
        region = workload.REGIONS[index % len(workload.REGIONS)]
        if deadline is None:
            cleaned = workload.expensive_step(rows, region, delay=delay)
        else:  # the synchronous demo: its sleep is cut at the request timeout
            cleaned = workload.expensive_step(rows, region, delay=0)
            _pause(delay, deadline)
        if deadline is not None and time.time() >= deadline:
            record.update(state="timed out", beat=time.time(), seconds=round(time.time() - record["started"], 2))
            save(lab, name, record)
            raise TimedOut(record)
        lab.count("compute", SLUG)
        revenue[region] = round(revenue.get(region, 0.0) + float(cleaned["revenue"].sum()), 2)
        processed += len(cleaned)
        record.update(step=index + 1, beat=time.time(), region=region)
        save(lab, name, record)
        if slot is not None:
            slot.renew()
        if on_step:
            on_step(index + 1, steps, region, record)
    record.update(state="done", seconds=round(time.time() - record["started"], 2), processed=processed, revenue=revenue)
    save(lab, name, record)
    try:
        lab.store.incr(FINISHED_KEY)
        lab.store.set(LAST_KEY, codec.dumps({k: record[k] for k in ("pid", "host", "ppid", "parent")}), ttl=RECORD_TTL)
    except stores.StoreError as exc:
        log.warning("job statistics not written: %s", exc)
    return record


def stats(lab) -> list[tuple[str, object]]:
    """Extra readings for the instruments panel."""
    last = lab.store.get(LAST_KEY)
    readings = [("jobs finished", lab.store.get_int(FINISHED_KEY))]
    if last is not None:
        info = codec.loads(last)
        parent = {"gunicorn web worker": "gunicorn", "Celery worker": "Celery"}.get(info["parent"], "process")
        readings += [("last job's pid", info["pid"]), ("its parent", f"{parent} {info['ppid']}")]
    return readings


# --- the watchdog ---------------------------------------------------------------------------


@dataclass
class Verdict:
    state: str  # queued, running, done, lost, cancelled, vanished, idle
    idle: float = 0.0
    record: dict | None = None
    lost_now: bool = False
    limit: float = 0.0
    queue: QueueState | None = None  # Celery mode, once the job has waited past the limit


def watch(lab, name: str, running: bool, cancelled: bool, now: float | None = None) -> Verdict:
    """What became of a job: called every second while it runs, and once when it stops."""
    now = time.time() if now is None else now
    limit = lost_after(lab.settings)
    record = load(lab, name)
    if not running:
        if record is None:
            return Verdict("cancelled" if cancelled else "idle", record=None, limit=limit)
        if record["state"] in ("done", "lost", "cancelled"):
            return Verdict(record["state"], record=record, limit=limit)
        state = "cancelled" if cancelled else "vanished"
        save(lab, name, {**record, "state": state})
        return Verdict(state, record=record, limit=limit)
    lab.store.add(SEEN_PREFIX + name, str(now).encode(), ttl=RECORD_TTL)
    seen = float((lab.store.get(SEEN_PREFIX + name) or str(now).encode()).decode())
    if record is not None and record["state"] in ("done", "lost", "cancelled"):
        return Verdict(record["state"], record=record, limit=limit)
    last = max(seen, record["beat"]) if record else seen
    idle = max(0.0, now - last)
    if idle <= limit:
        waiting = record is None or record.get("state") == "queued"  # not started, or in line for a slot
        return Verdict("queued" if waiting else "running", idle, record, limit=limit)
    queue = None
    if record is None and idle <= QUEUED_FOR_AT_MOST * limit:
        # Never started: behind other jobs in a queue that workers are serving, or nobody is there?
        queue = queue_state(lab.settings)
        if queue is not None and queue.workers and queue.waiting:
            return Verdict("queued", idle, None, limit=limit, queue=queue)
    # Kept with the record: the page shows the verdict again after the cancel that ends the job.
    workers = None if queue is None else queue.workers
    save(lab, name, {**(record or {"ticket": name}), "state": "lost", "lost_at": now, "workers": workers})
    return Verdict("lost", idle, record, lost_now=True, limit=limit, queue=queue)


# --- views --------------------------------------------------------------------------------------


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
        return dbc.Alert(
            [
                html.Strong("Job lost. "),
                f"No progress for {verdict.limit:.0f} s ({heard}). The process running it died, or no worker is up. "
                "The page cancelled it, so the browser stopped polling; run it again.",
            ],
            color="danger",
            className="py-2 mb-0 small bg-lost",
        )
    if verdict.state == "vanished":
        return dbc.Alert(
            [
                html.Strong("The job stopped without a result. "),
                f"Its process ({where(record)}) is gone, so Dash ended the polling with no update. Run it again.",
            ],
            color="warning",
            className="py-2 mb-0 small",
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
    return dbc.Alert(
        [
            html.Strong("It survived. "),
            f"The synchronous job finished in {record['seconds']:.1f} s inside web worker {record['pid']}: "
            f"gunicorn's heartbeat check (timeout {timeout} s) did not catch it this time.",
        ],
        color="warning",
        className="py-2 mb-0 small",
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
    return dbc.Alert(
        [
            html.Strong("Another visitor's synchronous demo is running"),
            f"{now}. At most one runs at a time on this site, so it never ties up the threads other visitors "
            "need. Click again to see how far it got, or run the background twin below meanwhile.",
        ],
        color="info",
        className="py-2 mb-0 small bg-sync-busy",
    )


def sync_timed_out(record: dict, timeout: int, needs: int) -> dbc.Alert:
    return dbc.Alert(
        [
            html.Strong(f"Stopped after {timeout} s, at step {record['step']}/{record['total']}: no result. "),
            f"A request may take at most {timeout} s here and this job needs {needs} s. With gunicorn's sync "
            "workers this is where gunicorn kills the web worker mid-request; this site's threaded workers "
            "cannot be killed that way, so the site enforces the limit itself — and the result is lost all the "
            f"same. It ran in web worker pid {record['pid']} on host {record['host']}.",
        ],
        color="danger",
        className="py-2 mb-0 small bg-killed",
    )


def sync_autopsy(failure: dict, record: dict | None, timeout: int, needs: int) -> dbc.Alert:
    """What happened to the synchronous request gunicorn killed."""
    elapsed = float(failure.get("elapsed") or 0)
    error = str(failure.get("error") or "no response")[:200]
    answer = f"answered a bare {error} in its place" if error.startswith("HTTP") else f"closed the connection ({error})"
    parts = [
        html.Strong(f"The web worker was killed after {elapsed:.0f} s. "),
        f"gunicorn's worker timeout is {timeout} s and this job needs {needs} s: a busy sync worker cannot send "
        f"gunicorn its heartbeat, so gunicorn killed it mid-request and {answer} — no result.",
    ]
    if record is not None:
        parts.append(
            f" It was pid {record['pid']} on host {record['host']}, at step {record['step']}/{record['total']}; "
            "gunicorn started a fresh worker in its place."
        )
    return dbc.Alert(parts, color="danger", className="py-2 mb-0 small bg-killed")
