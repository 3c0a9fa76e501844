"""python -m bench --scenario encodings: the JSON path as a dimension, measured in headless Chromium.

For the strategies that ship data to the browser (hidden-div, browser-store, patch, clientside), each
encoding the /encodings page offers (records through Dash's serializer, columnar JSON, gzip + base64 of
columnar JSON) at each row count it offers (1,000, 10,000, 100,000): the page's Run, done --rounds times in
a real browser against a real site that compresses as deployed. Per run the page itself measures the server's
serialize time (in the producer callback), the browser's decode time (performance.now() in a clientside
callback) and the consumer's parse; the bytes are Chromium's own (Resource Timing via the instruments:
encodedBodySize on the wire, decodedBodySize, the request body up). The report gives the bytes' medians and
the times' best of the runs.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import dash
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

import reports
import workload
from bench.chromium import ARGS as CHROMIUM_ARGS
from bench.chromium import CHROMIUM
from reports.encodings import summary_text

from .servers import Servers, strategy_list

STRATEGIES = ("hidden-div", "browser-store", "patch", "clientside")
ENCODINGS = ("records", "columns", "gzip-b64")
PATH = "/encodings"

_SET = """([strategy, encoding, rows]) => {
  const set = window.dash_clientside.set_props;
  set("encodings__strategy", {value: strategy}); set("encodings__encoding", {value: encoding}); set("encodings__rows", {value: rows});
}"""
# The runs the page recorded, with the instruments' wire figure of the answer (null until Resource Timing has it).
_RUNS = """() => (window.statelab_encodings || []).map(r => Object.assign({}, r,
  {down_wire: r.down ? r.down.wire : null, down_bytes: r.down ? r.down.down : null, down: undefined}))"""


def _wait(page, predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"encodings: timed out after {timeout:g} s waiting for {what}")
        page.wait_for_timeout(100)  # lets the sync API deliver the page's events meanwhile


def one_run(page, strategy: str, encoding: str, rows: int, timeout: float) -> dict:
    """Choose, press Run, wait for the page's record of it (its wire figure included)."""
    page.evaluate(_SET, [strategy, encoding, rows])
    before = len(page.evaluate(_RUNS))
    _wait(page, lambda: page.is_enabled("#encodings__run"), timeout, "the Run button")
    page.click("#encodings__run")
    runs = _wait(page, lambda: (r := page.evaluate(_RUNS))[before:] and r[before]["down_wire"] is not None and r,
                 timeout, f"{strategy} / {encoding} / {rows:,} rows")
    run = runs[before]
    if (run["strategy"], run["encoding"], run["rows"]) != (strategy, encoding, rows):
        raise RuntimeError(f"encodings: the page ran {run['strategy']}/{run['encoding']}/{run['rows']}, not {strategy}/{encoding}/{rows}")
    return run


def _median(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 1) if values else None


def _best(values):
    """Best of the runs, for a time: the slower ones measured what else the machine (or the tab's event loop,
    while DecompressionStream is awaited) was doing; bytes are the same every run and take the median."""
    values = [v for v in values if v is not None]
    return round(min(values), 1) if values else None


def summarize(strategy: str, encoding: str, rows: int, runs: list[dict], errors: list[str]) -> dict:
    wire = _median([r["down_wire"] for r in runs])
    down = _median([r["down_bytes"] for r in runs])
    up = _median([r["up_bytes"] for r in runs])
    return {
        "strategy": strategy, "kind": "encoding", "scenario": "encodings", "encoding": encoding, "rows": rows,
        "serialize_ms": _best([r["serialize_ms"] for r in runs]),
        "request_bytes": None if up is None else round(up),
        "response_bytes_wire": None if wire is None else round(wire),
        "response_bytes": None if down is None else round(down),
        "compression_down": round(down / wire, 2) if wire and down else None,
        "browser_decode_ms": _best([r["decode_ms"] for r in runs if not r.get("problem")]),
        "server_decode_ms": _best([r.get("server_decode_ms") for r in runs]),
        "consumers": runs[0]["consumers"] if runs else None,
        "runs": len(runs), "errors": len(errors), "error_samples": errors[:3],
    }


def measure(url: str, strategies: list[str], rounds: int, timeout: float, progress=None) -> tuple[list[dict], str]:
    """Every strategy × encoding × rows, `rounds` runs each, in one Chromium tab; (rows, Chromium's version)."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"the encodings scenario needs Chromium at {CHROMIUM} (apt-get install chromium)")
    results = []
    combos = [(s, e, n) for s in strategies for e in ENCODINGS for n in workload.ROW_CHOICES]
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        except PlaywrightError as exc:
            raise RuntimeError(f"Chromium did not start: {str(exc)[:300]}") from None
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(timeout * 1000)
            try:
                page.goto(url.rstrip("/") + PATH)
                page.locator("#encodings__run").wait_for()
            except PlaywrightError as exc:
                raise RuntimeError(f"{url}{PATH} did not open: {str(exc)[:300]}") from None
            _wait(page, lambda: page.evaluate("() => !!(window.dash_clientside && window.dash_clientside.set_props)"), timeout,
                  "the renderer")
            for done, (strategy, encoding, rows) in enumerate(combos):
                runs, errors = [], []
                for _ in range(rounds):
                    try:
                        runs.append(one_run(page, strategy, encoding, rows, timeout))
                    except (TimeoutError, RuntimeError, PlaywrightError) as exc:
                        errors.append(str(exc)[:300])
                results.append(summarize(strategy, encoding, rows, runs, errors))
                if progress:
                    progress(done + 1, len(combos), f"encodings · {strategy} · {encoding} · {rows:,}")
            version = browser.version
        finally:
            browser.close()
    return results, version


def run(args) -> Path:
    """The scenario: start the site (or use --url), measure, write DIR/report.*; the report.json path."""
    started = time.time()
    wanted = strategy_list(args.strategies)
    strategies = [s for s in STRATEGIES if wanted is None or s in wanted]
    if not strategies:
        raise ValueError(f"--strategies: the encodings scenario measures {', '.join(STRATEGIES)}")
    args.no_peer = True
    servers = Servers(args)
    try:
        target = servers.start()
        compress = servers.settings.compress if servers.settings is not None else "as the server at --url runs it"
        progress = None if args.quiet else (lambda done, total, label: print(f"[{done}/{total}] {label}", file=sys.stderr))
        results, version = measure(target.urls[0], strategies, args.rounds, args.timeout, progress)
    finally:
        servers.stop()
    config = {"scenario": "encodings", "strategies": strategies, "encodings": list(ENCODINGS), "rows": list(workload.ROW_CHOICES),
              "runs": args.rounds, "compress": compress, "chromium": version, "dash_version": dash.__version__,
              "urls": target.urls, "machine": {"cpus": os.cpu_count()}}
    report = reports.envelope(started, config, results)
    paths = reports.write(report, args.out, lang=getattr(args, "lang", None))
    print(summary_text(report))
    return paths["json"]

