"""python3 -m scripts.screenshots [--url URL] [--out docs/screenshots] [--lang zh|ja]: a full-page PNG of every page.

Starts its own site (gunicorn, 4 workers, embedded stores, a temporary data directory) unless
--url is given, opens every page the navigation lists in headless Chromium at 390 px (a phone)
and 1280 px (a projector) and writes <page>-390.png and <page>-1280.png; <page>.png, the name
README.md links, is the 1280 px one. With --lang zh or ja the pages are shot in that language (the
language cookie) as <page>-<lang>-390.png and <page>-<lang>-1280.png.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from bench.chromium import ARGS, CHROMIUM
from config import load_settings
from i18n import COOKIE, DEFAULT, LANGUAGES
from scripts.sitepages import open_settled, page_paths, slug
from serve import Site

WIDTHS = {390: 844, 1280: 720}
# A very long page is cut here: a README picture, not an archive.
MAX_HEIGHT = 4000


def shoot(url: str, out: Path, only: list[str] | None = None, chromium: str = CHROMIUM, lang: str = DEFAULT) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
        try:
            for width, height in WIDTHS.items():
                context = browser.new_context(viewport={"width": width, "height": height})
                context.add_cookies([{"name": COOKIE, "value": lang, "url": url}])
                page = context.new_page()
                page.set_default_timeout(60_000)
                for path in page_paths(page, url):
                    if only and slug(path) not in only:
                        continue
                    open_settled(page, url, path)
                    full = page.evaluate("() => document.documentElement.scrollHeight")
                    clip = {"x": 0, "y": 0, "width": width, "height": min(full, MAX_HEIGHT)}
                    name = slug(path) if lang == DEFAULT else f"{slug(path)}-{lang}"
                    target = out / f"{name}-{width}.png"
                    page.screenshot(path=str(target), full_page=True, clip=clip)
                    written.append(target)
                    if width == 1280 and lang == DEFAULT:
                        shutil.copyfile(target, out / f"{slug(path)}.png")
                    print(target, flush=True)
                context.close()
        finally:
            browser.close()
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running site (default: start one)")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--pages", help="comma-separated page names (home, hidden-div, …); default all")
    parser.add_argument("--chromium", default=CHROMIUM)
    parser.add_argument("--lang", choices=sorted(LANGUAGES), default=DEFAULT, help="the pages' language (default en)")
    args = parser.parse_args(argv)
    only = args.pages.split(",") if args.pages else None
    if args.url:
        shoot(args.url.rstrip("/"), args.out, only, args.chromium, args.lang)
        return 0
    with tempfile.TemporaryDirectory(prefix="statelab-shots-") as data_dir:
        settings = load_settings(env={}, data_dir=Path(data_dir))
        with Site(settings, workers=4) as site:
            shoot(site.url, args.out, only, args.chromium, args.lang)
    return 0


if __name__ == "__main__":
    sys.exit(main())
