"""python -m bench.snapshot REPORT_HTML OUT_PNG: a PNG of a report's bytes and growth charts.

Opens the self-contained report.html in Chromium (Playwright, /usr/bin/chromium by
default; no network needed) and screenshots the "Bytes on the wire" chart together with
the four growth curves — the image the README shows.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.chromium import ARGS, CHROMIUM


def snapshot(report_html: Path, out_png: Path, chromium: str = CHROMIUM, width: int = 1300) -> Path:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - optional dependency (requirements-dev.txt)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": 1000})
            page.goto(report_html.resolve().as_uri())
            page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 7")
            page.wait_for_timeout(800)  # let plotly finish its transitions
            top = page.locator("#chart-bytes").bounding_box()
            grid = page.locator(".grid").bounding_box()
            clip = {"x": grid["x"] - 10, "y": top["y"] - 10, "width": grid["width"] + 20,
                    "height": grid["y"] + grid["height"] - top["y"] + 20}
            out_png.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out_png), clip=clip, full_page=True)
        finally:
            browser.close()
    return out_png


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.snapshot", description=__doc__.splitlines()[0])
    parser.add_argument("report_html", type=Path)
    parser.add_argument("out_png", type=Path)
    parser.add_argument("--chromium", default=CHROMIUM, help="Chromium executable (default %(default)s)")
    args = parser.parse_args(argv)
    if not args.report_html.exists():
        print(f"error: {args.report_html} does not exist", file=sys.stderr)
        return 1
    print(snapshot(args.report_html, args.out_png, args.chromium))
    return 0


if __name__ == "__main__":
    sys.exit(main())
