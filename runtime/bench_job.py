"""The /benchmark page's job: run the harness against this very site, for a visitor or the operator.

Nothing the browser sent is trusted here, where the work runs: the background callback hands this
module whatever the request body held, and `run` re-validates every number against the limits of
whoever started it (recognised by the page's callback from the cookies Dash captured server-side, components/operator.py).
The address it benchmarks is the one the server was started with (settings.self_url, set by
serve.Site from gunicorn's --bind), never one from a request; the harness follows no redirect.

One run goes at a time, site-wide; later ones wait in a queue and show their place. A visitor's
report is kept for that browser only; the operator's becomes the site's run, which every browser
and the home catalogue show.

The harness's requests carry a signed pass (runtime/bench_pass.py): the server then caps the expensive
step's delay at the CLI's 0.2 s for those requests only (workload.DELAY_CAP), so page runs and
CLI runs measure the same thing, and telemetry leaves them out of "visitors".
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from dataclasses import dataclass

import pandas as pd

import stores
from bench.probe import Probe
from bench.runner import RunConfig, Runner, Target
from bench.specs import BASELINE
from stores import codec, telemetry

from . import bench_probe
from .bench_pass import PASS_HEADER, make_pass, page_delay
from .bench_runs import save_for

QUEUE = "benchmark:queue"
QUEUE_MAX = 20
STALE = 15.0  # seconds without a heartbeat after which a queued or running job is taken for dead
WAIT_MAX = 15 * 60.0
ROW_CHOICES = (1_000, 10_000, 100_000)
MAX_STRATEGIES = 64


@dataclass(frozen=True)
class Limits:
    rows: tuple[int, ...]
    max_rows_values: int
    sessions: int
    rounds: int


VISITOR = Limits(rows=(1_000, 10_000), max_rows_values=2, sessions=4, rounds=5)
OPERATOR = Limits(rows=ROW_CHOICES, max_rows_values=3, sessions=16, rounds=10)
# What the page's inputs allow (the operator's bounds); the visitor's are enforced on top.
MAX_SESSIONS, MAX_ROUNDS = OPERATOR.sessions, OPERATOR.rounds


class JobRefused(ValueError):
    """A run request the job will not start (bad numbers, over the limits, or no place in the queue)."""


def _quote(value) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "…"


def _whole(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise JobRefused(f"{name} must be a whole number, not {_quote(value)}")
    try:
        number = float(value)
    except ValueError:
        raise JobRefused(f"{name} must be a whole number, not {_quote(value)}") from None
    if not number.is_integer():
        raise JobRefused(f"{name} must be a whole number, not {_quote(value)}")
    return int(number)


def check_request(rows, sessions, rounds, strategies, known: list[str], limits: Limits = VISITOR) -> dict:
    """A validated run request; JobRefused saying what to fix. Called again inside the job."""
    who = "a visitor" if limits == VISITOR else "the operator"
    if not isinstance(rows, list | tuple) or len(rows) > len(ROW_CHOICES):
        raise JobRefused(f"rows must be a list of row counts, not {_quote(rows)}")
    rows = sorted({_whole(r, "rows") for r in rows})
    if not rows or len(rows) > limits.max_rows_values or any(r not in limits.rows for r in rows):
        raise JobRefused(f"pick one to {limits.max_rows_values} row counts among "
                         f"{', '.join(f'{r:,}' for r in limits.rows)} (the limit for {who}); got {_quote(rows)}")
    for name, value, top in (("sessions", sessions, limits.sessions), ("rounds", rounds, limits.rounds)):
        # A number input past its max sends None: say the bound, whatever arrived.
        bound = f"{name} must be between 1 and {top} for {who}"
        try:
            number = _whole(value, name)
        except JobRefused:
            raise JobRefused(f"{bound}; got {_quote(value)}") from None
        if not 1 <= number <= top:
            raise JobRefused(f"{bound}; got {number}")
    sessions, rounds = _whole(sessions, "sessions"), _whole(rounds, "rounds")
    if not isinstance(strategies, list | tuple) or len(strategies) > MAX_STRATEGIES:
        raise JobRefused(f"strategies must be a list of strategy names, not {_quote(strategies)}")
    chosen = list(dict.fromkeys(s for s in strategies if isinstance(s, str) and s in known))
    if not chosen:
        raise JobRefused("pick at least one strategy")
    return {"rows": rows, "sessions": sessions, "rounds": rounds, "strategies": chosen}


def limits_for(is_operator: bool) -> Limits:
    return OPERATOR if is_operator else VISITOR


# --------------------------------------------------------------------------- the queue


def _queue(lab: stores.Lab) -> list[list]:
    raw = lab.store.get(QUEUE)
    try:
        entries = codec.loads(raw) if raw else []
    except (stores.CorruptValue, TypeError, ValueError):
        entries = []
    now = time.time()
    return [e for e in entries if isinstance(e, list) and len(e) == 3 and now - e[1] < STALE]


def join(lab: stores.Lab, ticket: str, who: str) -> int:
    """Take a place in the queue; how many runs are ahead. JobRefused when full or already queued."""
    with lab.store.lock("benchmark-queue", ttl=10, wait=5):
        entries = _queue(lab)
        if any(e[2] == who for e in entries):
            raise JobRefused("this browser already has a run queued or running: wait for it, or cancel it")
        if len(entries) >= QUEUE_MAX:
            raise JobRefused(f"{QUEUE_MAX} runs are already waiting: try again later")
        entries.append([ticket, time.time(), who])
        lab.store.set(QUEUE, codec.dumps(entries))
        return len(entries) - 1


def place(lab: stores.Lab, ticket: str, who: str) -> int:
    """Beat and return how many runs are ahead of ticket (0: its turn)."""
    with lab.store.lock("benchmark-queue", ttl=10, wait=5):
        entries = _queue(lab)
        mine = next((e for e in entries if e[0] == ticket), None)
        if mine is None:  # missed beats dropped it: back in, at the end
            mine = [ticket, 0.0, who]
            entries.append(mine)
        mine[1] = time.time()
        lab.store.set(QUEUE, codec.dumps(entries))
        return entries.index(mine)


def leave(lab: stores.Lab, ticket: str) -> None:
    with lab.store.lock("benchmark-queue", ttl=10, wait=5):
        lab.store.set(QUEUE, codec.dumps([e for e in _queue(lab) if e[0] != ticket]))


def queue_length(lab: stores.Lab) -> int:
    return len(_queue(lab))


def _heartbeat(lab: stores.Lab, ticket: str, who: str, finished: threading.Event, every: float = 1.0) -> None:
    while not finished.wait(every):
        with contextlib.suppress(stores.StoreError):  # a missed beat only risks the place after STALE s
            place(lab, ticket, who)


# --------------------------------------------------------------------------- the run


def verify_self(lab: stores.Lab, url: str, headers: dict) -> None:
    """Refuse unless url answers the probe with this store's site token."""
    probe = Probe([url], timeout=15, headers=headers)
    try:
        answer = probe.read(BASELINE)
    finally:
        probe.close()
    if not answer or answer.get("site") != bench_probe.site_token(lab):
        raise JobRefused(f"{url} did not answer as this site: the benchmark only runs against the server it is started from")


def run(lab: stores.Lab, wanted, known: list[str], who: str | None, is_op: bool, set_progress=None) -> dict:
    """Run the harness against this site from the background job; keep the report for who asked.
    `who` and `is_op`: the caller's visitor id and operator standing, from the request's cookies (the page's
    callback reads them with components/operator.py; this module trusts nothing the browser sent beside them)."""
    if not isinstance(wanted, dict):
        raise JobRefused(f"the run request must be an object, not {_quote(wanted)}")
    request = check_request(wanted.get("rows"), wanted.get("sessions"), wanted.get("rounds"), wanted.get("strategies"),
                            known, limits_for(is_op))
    who = "operator" if is_op else who
    if who is None:
        raise JobRefused("this browser has no visitor id (cookies off?): reload the page")
    url = lab.settings.self_url
    if not url:
        raise JobRefused("the server does not know its own address (STATELAB_SELF_URL): start it with python app.py")
    ticket = uuid.uuid4().hex
    ahead = join(lab, ticket, who)
    finished = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(lab, ticket, who, finished), daemon=True)
    beat.start()
    try:
        waited = time.monotonic()
        while ahead > 0:
            if set_progress:
                set_progress((0, "queued", f"waiting: {ahead} run{'s' * (ahead > 1)} ahead of yours (one runs at a time)"))
            if time.monotonic() - waited > WAIT_MAX:
                raise JobRefused(f"still {ahead} runs ahead after {WAIT_MAX / 60:g} minutes: try again later")
            time.sleep(1.0)
            ahead = place(lab, ticket, who)
        result = _measure(lab, request, url, set_progress)
    finally:
        finished.set()
        beat.join(5)
        with contextlib.suppress(stores.StoreError):
            leave(lab, ticket)
    result["config"]["source"] = "page"
    result["config"]["started_by"] = "operator" if is_op else "visitor"
    save_for(lab, result, who)
    return result


def _measure(lab: stores.Lab, request: dict, url: str, set_progress) -> dict:
    delay = page_delay(lab)
    headers = {PASS_HEADER: make_pass(lab, delay)}
    verify_self(lab, url, headers)
    cfg = RunConfig(rows=request["rows"], sessions=request["sessions"], rounds=request["rounds"],
                    strategies=request["strategies"], compute_delay=delay, timeout=60, headers=headers)
    target = Target([url], workers=None, backend=lab.settings.mode)
    last = [0.0]

    def progress(done, total, label):
        now = time.monotonic()
        if set_progress and (now - last[0] > 0.5 or done >= total):
            last[0] = now
            share = round(100 * done / max(total, 1))
            set_progress((share, f"{share}%", f"now: {label}"))

    return Runner(cfg, target, progress=progress).run()


def visitors(lab: stores.Lab) -> pd.DataFrame:
    """What real visitors' callbacks cost, per strategy (the benchmark's own signed requests left out)."""
    frame = telemetry.requests_frame(lab.store, since=time.time() - telemetry.RECORD_TTL)
    frame = frame[~frame["strategy"].isin(["", telemetry.LAB, "benchmark"]) & ~frame["bench"].fillna(False).astype(bool)]
    columns = ["strategy", "requests", "workers hit", "p50 server ms", "p95 server ms", "mean up B", "mean down B", "errors", "last seen"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    grouped = frame.groupby("strategy")
    out = pd.DataFrame({
        "requests": grouped.size(),
        "workers hit": grouped["pid"].nunique(),
        "p50 server ms": grouped["server_ms"].median().round(1),
        "p95 server ms": grouped["server_ms"].quantile(0.95).round(1),
        "mean up B": grouped["request_bytes"].mean().round(0).astype(int),
        "mean down B": grouped["response_bytes"].mean().round(0).astype(int),
        "errors": grouped["status"].apply(lambda s: int((s >= 400).sum())),
        "last seen": grouped["time"].max().map(lambda t: time.strftime("%H:%M:%S", time.localtime(t))),
    }).reset_index()
    return out.sort_values("requests", ascending=False)[columns]
