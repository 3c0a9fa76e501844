"""The jobs of the background-callbacks page: run, record, watch.

A job runs the shared workload step by step (one region per step) wherever the
background-callback manager puts it: a process forked from the web worker
(DiskcacheManager) or a Celery pool process (CeleryManager). Each job keeps a small
record in the store — which process runs it, which step it reached, when it last
made progress — so the page can show where the job ran and notice a job whose
process died: Dash itself would keep polling a lost Celery task for ever.
What the page shows about a job is components/background_view.py.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass

import psutil
from celery import current_task

import choices
import stores
import workload
from choices import quote
from config import Settings
from i18n import _
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
    """One of the step counts the page offers; JobError (naming them) otherwise."""
    try:
        return choices.one_of(steps, STEP_CHOICES, "steps")
    except choices.Refused as exc:
        raise JobError(str(exc)) from None


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
    readings = [(_("jobs finished"), lab.store.get_int(FINISHED_KEY))]
    if last is not None:
        info = codec.loads(last)
        parent = {"gunicorn web worker": "gunicorn", "Celery worker": "Celery"}.get(info["parent"]) or _("process")
        readings += [(_("last job's pid"), info["pid"]), (_("its parent"), f"{parent} {info['ppid']}")]
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
