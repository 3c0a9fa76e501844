"""python -m bench --scenario push: server push against polling, on the two live pages.

Live shared state (/live/shared): N tabs (default 10), each a headless browser with its own socket
(bench/wsclient.py), spread by the kernel over the site's workers. One tab changes the shared value
K times (default 100); every other tab receives each change pushed over its socket, and at the same
time asks for the value over HTTP once a second, as the page's dcc.Interval does. Propagation of a
change to a tab = the moment the tab holds it (or a newer one) minus the moment the publishing
worker stamped it (same machine, one clock). Requests per tab per minute are counted for both.

Progress (/live/progress): the same job pushed (WebSocket callback, set_props per step) and polled
(background callback with progress=, every 500 ms): HTTP requests and polls per job, frames and
bytes, click → first progress and → result.

Writes DIR/report.json, report.csv, report.html (scenario "push"; fields in reports/push.py).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import dash

import i18n
import reports
from reports import push as push_report

from .dashclient import Browser, Interaction
from .dashgraph import DashClientError, dumps, parse
from .servers import Servers
from .wsclient import Push, WsPage, http_requests, is_socket_call

SHARED_PATH = "/live/shared"
PROGRESS_PATH = "/live/progress"
# The shared page's component ids (components.ids' "<slug>__<name>", spelled out: bench never imports components).
FEED, TEXT, SHARE, POLL_ASK = (f"live-shared__{name}" for name in ("feed", "text", "share", "poll-ask"))
POLL_OUTPUT = "live-shared__poll-answer.data"
POLL_EVERY = 1.0  # the page's dcc.Interval
CHANGE_EVERY = 0.25  # seconds between two changes: well inside the site-wide bound (50/s)
DEFAULT_TABS, DEFAULT_CHANGES = 10, 100
PROGRESS_RUNS, PROGRESS_STEPS = 3, 4  # jobs each way on the progress page, steps per job


def _transport(strategy: str, kind: str, poll_every_s=None) -> str:
    """The result's transport as report.json stores it: English (report.html says it in its language)."""
    with i18n.speaking("en"):
        return push_report.transport(strategy, kind, poll_every_s)


def add_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("push scenario (--scenario push; see bench/push.py)")
    group.add_argument("--tabs", type=int, default=DEFAULT_TABS, help=f"browser tabs, each its own socket (default {DEFAULT_TABS})")
    group.add_argument("--changes", type=int, default=DEFAULT_CHANGES,
                       help=f"changes of the shared value to propagate (default {DEFAULT_CHANGES})")


def check_args(args) -> str | None:
    if not 2 <= getattr(args, "tabs", DEFAULT_TABS) <= 200:
        return "--tabs must be between 2 and 200"
    if not 1 <= getattr(args, "changes", DEFAULT_CHANGES) <= 10_000:
        return "--changes must be between 1 and 10,000"
    return None


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return round(ordered[index], 1)


# --------------------------------------------------------------------------- live shared state


def _events(page: WsPage, kind: str) -> list[tuple[Push, dict]]:
    with page.changed:
        found = []
        for push in page.pushes:
            data = push.props.get("data") if push.component == FEED else None
            if isinstance(data, dict) and data.get("type") == kind:
                found.append((push, data))
        return found


class Poller(threading.Thread):
    """One tab's dcc.Interval: ask for the value once a second over HTTP (the page's poll callback)."""

    def __init__(self, page: WsPage, stop: threading.Event):
        super().__init__(name="push-poller", daemon=True)
        self.page, self.stop = page, stop
        self.seen: list[tuple[float, int]] = []  # (arrival time.time(), newest seq the answer held)
        self.requests, self.up, self.down, self.errors = 0, 0, 0, []
        self.first_at = self.last_at = None  # time.monotonic() of the first and the last poll
        cb = page.graph.by_output(POLL_OUTPUT)
        if [d.id for d in cb.inputs] != [POLL_ASK] or cb.state:
            raise DashClientError(f"the poll callback of {SHARED_PATH} is not the one this scenario knows (input {POLL_ASK})")
        self.url = page.browser.urls[0] + page.prefix + "_dash-update-component"

    def poll_once(self) -> None:
        t0 = time.time() * 1000
        self.last_at = time.monotonic()
        self.first_at = self.first_at or self.last_at
        body = dumps({"output": POLL_OUTPUT, "outputs": {"id": POLL_ASK.replace("ask", "answer"), "property": "data"},
                      "inputs": [{"id": POLL_ASK, "property": "data", "value": {"t0": t0}}],
                      "changedPropIds": [f"{POLL_ASK}.data"], "parsedChangedPropsIds": [f"{POLL_ASK}.data"]})
        self.requests += 1
        self.up += len(body)
        try:
            response = self.page.browser.http.post(self.url, data=body, timeout=self.page.browser.timeout,
                                                   headers={"Content-Type": "application/json", "Accept": "application/json"})
        except OSError as exc:
            self.errors.append(f"poll failed: {exc}")
            return
        arrived = time.time()
        self.down += len(response.content)
        if response.status_code != 200:
            self.errors.append(f"poll answered HTTP {response.status_code}")
            return
        answer = (parse(response.content).get("response") or {}).get(POLL_ASK.replace("ask", "answer"), {}).get("data") or {}
        change = answer.get("change") or {}
        if isinstance(change.get("seq"), int):
            self.seen.append((arrived, change["seq"]))

    def per_minute(self, count: float) -> float:
        """count over this tab's polling time (each poll stands for one interval)."""
        if self.first_at is None:
            return 0.0
        return count / (self.last_at - self.first_at + POLL_EVERY) * 60

    def run(self) -> None:
        # Tabs opened at different moments: their intervals are not in phase.
        if self.stop.wait(random.uniform(0, POLL_EVERY)):
            return
        next_at = time.monotonic()
        while not self.stop.is_set():
            self.poll_once()
            next_at += POLL_EVERY
            self.stop.wait(max(0.0, next_at - time.monotonic()))


def _open_tabs(url: str, tabs: int, timeout: float) -> list[WsPage]:
    pages = []
    for _ in range(tabs):
        page = WsPage(Browser(url, timeout=timeout), SHARED_PATH)
        page.open()
        pages.append(page)
    for page in pages:
        page.wait_for(lambda p=page: _events(p, "hello"), timeout, "the shared page's hello on every tab")
    return pages


def _change(writer: WsPage, i: int) -> tuple[int | None, str | None]:
    """Publish change i from the writer tab, over its socket; (its seq, or None and why)."""
    interaction = writer.set_props([(TEXT, "value", f"push bench {i}"), (SHARE, "n_clicks", i + 1)])
    answer = str(writer.get("live-shared__share-result", "children") or "")
    if interaction.all_errors:
        return None, interaction.all_errors[0]
    if "change #" not in answer:
        return None, answer[:200] or "no answer"
    try:
        return int(answer.split("change #", 1)[1].split(" ", 1)[0]), None
    except ValueError:
        return None, answer[:200]


def _delays(readers: list[WsPage], pollers: list[Poller], published: list[int]):
    """(push delays ms, push pairs missed, poll delays ms, poll pairs missed) over every (tab, change)."""
    stamped = {}  # seq -> the publishing worker's time.time()
    for page in readers:
        for _push, data in _events(page, "change"):
            change = data.get("change") or {}
            if isinstance(change.get("seq"), int):
                stamped[change["seq"]] = float(change.get("at"))
    push_ms, missed = [], 0
    for page in readers:
        arrived = {d["change"]["seq"]: push.wall for push, d in _events(page, "change") if isinstance(d.get("change"), dict)}
        for seq in published:
            if seq in arrived and seq in stamped:
                push_ms.append((arrived[seq] - stamped[seq]) * 1000)
            else:
                missed += 1
    poll_ms, poll_missed = [], 0
    for poller in pollers:
        for seq in published:
            first = next((at for at, newest in poller.seen if newest >= seq), None)
            if first is None or seq not in stamped:
                poll_missed += 1
            else:
                poll_ms.append((first - stamped[seq]) * 1000)
    return push_ms, missed, poll_ms, poll_missed


def measure_shared(url: str, tabs: int, changes: int, timeout: float, say=print) -> list[dict]:
    pages = _open_tabs(url, tabs, timeout)
    writer, readers = pages[0], pages[1:]
    pids = {id(p): _events(p, "hello")[-1][1].get("pid") for p in pages}
    stop = threading.Event()
    pollers = [Poller(p, stop) for p in readers]
    try:
        for poller in pollers:
            poller.start()
        time.sleep(POLL_EVERY + 0.1)  # every tab's interval is running before the first change
        connects_before = [p.socket.stats.connects for p in readers]
        frames_before = [(p.socket.stats.count("down"), p.socket.stats.bytes("down")) for p in readers]
        started = time.monotonic()
        published: list[int] = []
        errors: list[str] = []
        for i in range(changes):
            seq, problem = _change(writer, i)
            if seq is None:
                errors.append(problem)
            else:
                published.append(seq)
            if say and (i + 1) % 25 == 0:
                say(f"[push] {i + 1}/{changes} changes")
            time.sleep(CHANGE_EVERY)
        time.sleep(POLL_EVERY + 0.5)  # the last change reaches every poll
        window = time.monotonic() - started
    finally:
        stop.set()
        for poller in pollers:
            poller.join(timeout + 5)
    push_ms, missed, poll_ms, poll_missed = _delays(readers, pollers, published)
    minutes = window / 60
    reconnects = sum(p.socket.stats.connects for p in readers) - sum(connects_before)
    frames = [(p.socket.stats.count("down") - f0, p.socket.stats.bytes("down") - b0) for p, (f0, b0) in zip(readers, frames_before, strict=True)]
    tab_pids = Counter(str(pids[id(p)]) for p in pages)
    common = {"scenario": "push", "strategy": "live-shared", "tabs": tabs, "changes": len(published), "seconds": round(window, 1),
              "worker_pids": dict(tab_pids), "workers_hit": len(tab_pids)}
    results = [
        {**common, "kind": "push", "transport": _transport("live-shared", "push"),
         "propagation_ms_p50": percentile(push_ms, 50), "propagation_ms_p95": percentile(push_ms, 95),
         "propagation_ms_max": percentile(push_ms, 100), "samples": len(push_ms), "missed": missed,
         # HTTP requests: none after the page load; a reconnect's handshake would be one.
         "requests_per_tab_minute": round(reconnects / len(readers) / minutes, 2),
         "frames_per_tab_minute": round(statistics.fmean(f for f, _b in frames) / minutes, 1),
         "bytes_down_per_tab_minute": round(statistics.fmean(b for _f, b in frames) / minutes),
         "errors": len(errors), "error_sample": errors[:3]},
        {**common, "kind": "poll", "transport": _transport("live-shared", "poll", POLL_EVERY),
         "propagation_ms_p50": percentile(poll_ms, 50), "propagation_ms_p95": percentile(poll_ms, 95),
         "propagation_ms_max": percentile(poll_ms, 100), "samples": len(poll_ms), "missed": poll_missed,
         "requests_per_tab_minute": round(statistics.fmean(p.per_minute(p.requests) for p in pollers), 1),
         "request_bytes_per_tab_minute": round(statistics.fmean(p.per_minute(p.up) for p in pollers)),
         "bytes_down_per_tab_minute": round(statistics.fmean(p.per_minute(p.down) for p in pollers)),
         "errors": sum(len(p.errors) for p in pollers), "error_sample": [e for p in pollers for e in p.errors][:3]},
    ]
    for page in pages:
        page.close()
    return results


# --------------------------------------------------------------------------- progress


def _progress_job(page: WsPage, kind: str, run: int) -> dict:
    started_wall = time.time()
    started = time.perf_counter()
    interaction: Interaction = page.set_props([(f"live-progress__{kind}-run", "n_clicks", run)])
    done = time.perf_counter()
    result = str(page.get(f"live-progress__{kind}-result", "children"))
    errors = interaction.all_errors + ([] if "Done" in result else [f"{kind} job {run}: no result ({result[:120]})"])
    if kind == "push":
        states = [p for p in page.pushes if p.component == "live-progress__push-state" and p.at >= started]
        first = (states[0].at - started) * 1000 if states else None
        socket = page.socket.stats
        return {"ms": interaction.ms, "first_ms": first, "requests": http_requests(interaction), "polls": 0,
                "frames_up": socket.count("up", started), "frames_down": socket.count("down", started),
                "up": socket.bytes("up", started), "down": socket.bytes("down", started), "errors": errors,
                "seconds": done - started}
    calls = [c for c in interaction.calls if not is_socket_call(c)]
    polls = [c for c in calls if c.poll]
    first = ((polls[0].started + polls[0].ms / 1000) - started_wall) * 1000 if polls else None
    return {"ms": interaction.ms, "first_ms": first, "requests": len(calls), "polls": len(polls), "frames_up": 0, "frames_down": 0,
            "up": sum(c.up for c in calls), "down": sum(c.down for c in calls), "errors": errors, "seconds": done - started}


def measure_progress(url: str, runs: int, timeout: float) -> list[dict]:
    page = WsPage(Browser(url, timeout=timeout), PROGRESS_PATH)
    page.open()
    page.wait_for(lambda: page.get("live-progress__conn", "data"), timeout, "the progress page's socket")
    page.set_props([("live-progress__steps", "value", PROGRESS_STEPS)])
    jobs = {"push": [], "poll": []}
    try:
        for run in range(1, runs + 1):
            for kind in ("push", "poll"):
                jobs[kind].append(_progress_job(page, kind, run))
    finally:
        page.close()
    results = []
    for kind, done in jobs.items():
        med = lambda key, d=done: round(statistics.median(j[key] for j in d), 1) if all(j[key] is not None for j in d) else None  # noqa: E731
        results.append({
            "scenario": "push", "strategy": "live-progress", "kind": kind,
            "transport": _transport("live-progress", kind),
            "interactions": len(done), "steps": PROGRESS_STEPS,
            "polls_per_interaction": med("polls"), "requests_per_interaction": med("requests"),
            "first_progress_ms_p50": med("first_ms"), "latency_ms_p50": med("ms"),
            "frames_per_interaction": med("frames_down") if kind == "push" else 0,
            "request_bytes": med("up"), "response_bytes": med("down"),
            "errors": sum(len(j["errors"]) for j in done), "error_sample": [e for j in done for e in j["errors"]][:3],
        })
    return results


# --------------------------------------------------------------------------- the scenario


def run(args) -> Path:
    problem = check_args(args)
    if problem:
        raise ValueError(problem)
    started = time.time()
    tabs, changes = getattr(args, "tabs", DEFAULT_TABS), getattr(args, "changes", DEFAULT_CHANGES)
    args.no_peer = True
    servers = Servers(args, server=None if args.url else "asgi")  # WebSocket callbacks need the ASGI server kind
    say = None if args.quiet else (lambda text: print(text, file=sys.stderr))
    try:
        target = servers.start()
        url = target.urls[0]
        results = measure_shared(url, tabs, changes, args.timeout, say)
        if say:
            say("[push] progress page: pushed and polled jobs")
        results += measure_progress(url, getattr(args, "rounds", PROGRESS_RUNS) or PROGRESS_RUNS, args.timeout)
    finally:
        servers.stop()
    config = {"scenario": "push", "tabs": tabs, "changes": changes, "change_every_s": CHANGE_EVERY, "poll_every_s": POLL_EVERY,
              "workers": None if args.url else args.workers, "backend": target.backend, "compute_delay": None if args.url else args.compute_delay,
              "urls": target.urls, "dash_version": dash.__version__}
    report = reports.envelope(started, config, results)
    report["targets"] = push_report.targets(report)
    paths = push_report.write(report, args.out, lang=getattr(args, "lang", None))
    print(push_report.summary_text(report))
    return paths["json"]
