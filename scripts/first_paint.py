"""Seconds from navigation to "usable", per page: the median of N fresh visits in headless Chromium.

"Usable" is the page's demo showing its first result (a selector or predicate per page, below), not
just the shell. It starts its own site (gunicorn, 4 workers, embedded stores, the default compute
delay) in a temporary data directory, warms each page once (its values computed and cached, as on
a site someone has already visited), then opens it N times, each in a new browser context (a new
visitor: no cookies, no browser storage).

    python3 -m scripts.first_paint                # every page, 5 visits each
    python3 -m scripts.first_paint --runs 3 --pages hidden-div,cache-signal
    python3 -m scripts.first_paint --url http://127.0.0.1:8050   # a site that is already running
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from bench.chromium import ARGS as CHROMIUM_ARGS
from bench.chromium import CHROMIUM
from config import load_settings
from serve import Site


def text_has(selector: str, text: str) -> str:
    return f"(document.querySelector({selector!r}) || {{}}).textContent?.includes({text!r})"


def titles_have(selectors: list[str], text: str) -> str:
    return " && ".join(text_has(f"{s} .gtitle", text) for s in selectors)


# The first result of each page's demo, as a JavaScript expression that becomes true when it is on screen.
USABLE = {
    "/": "document.querySelectorAll('.lab-catalogue a').length > 0",
    "/global-variable": "!!document.querySelector('#global-variable__result [data-action]')"
    " && !!document.querySelector('#global-variable__safe-result [data-action]')",
    "/hidden-div": titles_have(["#hidden-div__scatter-apples", "#hidden-div__scatter-oranges", "#hidden-div__scatter-figs"],
                               "points") + " && !!document.querySelector('#hidden-div__table table')",
    "/browser-store": "!!document.querySelector('#browser-store__table tbody tr:nth-child(3)')",
    "/aggregates": "!!document.querySelector('#aggregates__compare .pl-compare')"
    " && !!document.querySelector('#aggregates__table table')",
    "/cache-signal": titles_have([f"#cache-signal__graph-{k}" for k in ("scatter", "line", "histogram2d", "histogram2dcontour")],
                                 "rows"),
    "/session-cache": text_has("#session-cache__graph .gtitle", "points"),
    "/session-files": text_has("#session-files__graph .gtitle", "points"),
    "/background": "!!document.querySelector('#background__ex1-run:not([disabled])')",
    "/serverside": text_has("#serverside__trend", "mean y by x") + " && !!document.querySelector('.beyond-summary tbody tr')",
    "/patch": "document.querySelectorAll('#patch__bytes .scatterlayer .point').length > 0",
    "/clientside": text_has("#clientside__timing", "rows matched"),
    "/url-state": "!!document.querySelector('#url-state__table table')",
}


def visit(browser, url: str, predicate: str, timeout: float) -> float | None:
    # bypass_csp: the site's Content-Security-Policy forbids eval, which Playwright's wait_for_function uses.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    try:
        started = time.perf_counter()
        page.goto(url, wait_until="commit")
        try:
            page.wait_for_function(predicate, timeout=timeout * 1000, polling=50)
        except Exception:  # Playwright's TimeoutError: not usable within the deadline
            return None
        return time.perf_counter() - started
    finally:
        context.close()


def measure(base: str, paths: list[str], runs: int, timeout: float) -> dict[str, list[float | None]]:
    results = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for path in paths:
                visit(browser, base + path, USABLE[path], timeout)  # warm: compute and cache what a first visitor would
                results[path] = [visit(browser, base + path, USABLE[path], timeout) for _ in range(runs)]
                print(f"  {path}: {shown(results[path], timeout)}", file=sys.stderr, flush=True)
        finally:
            browser.close()
    return results


def median(times: list[float | None]) -> float | None:
    # A visit that never became usable counts as slower than any that did.
    ordered = sorted(times, key=lambda t: float("inf") if t is None else t)
    if not ordered:
        return None
    middle = ordered[len(ordered) // 2]
    if len(ordered) % 2 or middle is None:
        return middle
    lower = ordered[len(ordered) // 2 - 1]
    return None if lower is None else statistics.mean([lower, middle])


def shown(times: list[float | None], timeout: float) -> str:
    value = median(times)
    return f"> {timeout:.0f} s (not usable)" if value is None else f"{value:.2f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="measure a running site instead of starting one")
    parser.add_argument("--runs", type=int, default=5, help="visits per page (default 5)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds before a visit counts as not usable")
    parser.add_argument("--pages", help="comma-separated slugs (default: every page listed here)")
    args = parser.parse_args(argv)
    paths = list(USABLE)
    if args.pages:
        wanted = ["/" + p.strip().strip("/") for p in args.pages.split(",") if p.strip()]
        unknown = [p for p in wanted if p not in USABLE and p != "/"]
        if unknown:
            parser.error(f"unknown page(s): {', '.join(unknown)[:200]}; known: {', '.join(USABLE)}")
        paths = wanted
    # A TERM (timeout, Ctrl-C from a supervisor) must still stop the site this script started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.url:
        results = measure(args.url.rstrip("/"), paths, args.runs, args.timeout)
    else:
        with tempfile.TemporaryDirectory(prefix="first-paint-") as data_dir:
            site = Site(load_settings(env={}, data_dir=Path(data_dir)), workers=4, celery=False).start()
            try:
                print(f"site on {site.url}, compute delay {site.settings.compute_delay} s", file=sys.stderr)
                results = measure(site.url, paths, args.runs, args.timeout)
            finally:
                site.stop()
    print(f"\n| page | median seconds to usable ({args.runs} visits) |\n|---|---|")
    for path, times in results.items():
        print(f"| `{path}` | {shown(times, args.timeout)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
