"""The encodings page and compression as a site setting, on real gunicorn (2 workers), in both modes.

The page's server side is driven with the harness (bench/dashclient.py): what the producer sends for each
encoding, what the consumer makes of it (and of what a tampering client sends instead: a message, never
a 500), and how STATELAB_COMPRESS decides what crosses the wire.
"""

from __future__ import annotations

import base64
import gzip

import pytest
import requests

from bench.dashclient import Browser, Page, dumps
from compress import MIN_SIZE

ENCODINGS = ("records", "columns", "gzip-b64")


@pytest.fixture(scope="module")
def site(start_site, backend):
    return start_site(workers=2, celery=False, compute_delay=0.1, **backend.changes(database=9))


def opened(url: str) -> tuple[Browser, Page]:
    browser = Browser(url)
    page = Page(browser, "/encodings", scope=lambda cb: "encodings__" in cb.output)
    page.open()
    return browser, page


def run(page: Page, strategy: str, encoding: str, rows: int, n: int = 1):
    """What the page's Run does, less its clientside start: the run's choices into the `go` store."""
    return page.set_props([("encodings__go", "data", {"run": n, "id": f"t{n}", "strategy": strategy, "encoding": encoding,
                                                       "rows": rows})])


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_each_encoding_goes_down_compressed_and_comes_back_up_raw(site, backend, encoding):
    browser, page = opened(site.url)
    try:
        produced = run(page, "browser-store", encoding, 10_000)
        assert not produced.all_errors, produced.all_errors
        info = page.get("encodings__server", "data")
        assert info["encoding"] == encoding and info["rows"] == 10_000 and info["consumers"] == 1
        assert info["serialize_ms"] > 0
        [answer] = produced.calls
        assert answer.encoding == "br" and answer.wire < answer.down  # brotli, as deployed
        # The consumer: the payload goes back up with the request, raw, and is parsed to the same 10,000 rows.
        consumed = page.set_props([("encodings__upload", "data", {"id": "t1"})])
        assert not consumed.all_errors, consumed.all_errors
        assert page.get("encodings__consumed", "data")["rows"] == 10_000
        [upload] = consumed.calls
        assert upload.up > len(dumps(page.get("encodings__payload", "data")))  # the whole payload, uncompressed
    finally:
        browser.close()
    if encoding == "gzip-b64":  # already compressed: the smallest upload, and brotli finds little left
        assert upload.up < 250_000 and answer.down / answer.wire < 2
    else:  # JSON text: brotli takes it to a third or less on the way down; the upload stays raw
        assert upload.up > 300_000 and answer.down / answer.wire > 3


def test_patch_sends_patch_operations(site, backend):
    browser, page = opened(site.url)
    try:
        page._set("encodings__payload", "data", [])  # what the page's start does for Patch: an empty list to extend
        produced = run(page, "patch", "records", 1_000)
        assert not produced.all_errors, produced.all_errors
        assert len(page.get("encodings__payload", "data")) == 1_000
        assert page.get("encodings__server", "data")["consumers"] == 0
    finally:
        browser.close()


@pytest.mark.parametrize(("change", "expected"), [
    ({"strategy": "global-variable"}, "strategy must be one of"),
    ({"encoding": "pickle"}, "encoding must be one of"),
    ({"rows": 1_000_000}, "rows must be one of"),
    ({"rows": "1e9"}, "rows must be one of"),
])
def test_only_the_pages_own_choices_run(site, backend, change, expected):
    browser, page = opened(site.url)
    try:
        go = {"run": 1, "id": "x", "strategy": "hidden-div", "encoding": "records", "rows": 1_000, **change}
        refused = page.set_props([("encodings__go", "data", go)])
        assert not refused.all_errors, refused.all_errors  # a message on the page, not an HTTP error
        assert expected in str(page.get("encodings__error", "children"))
        assert page.get("encodings__server", "data") is None
    finally:
        browser.close()


@pytest.mark.parametrize(("encoding", "value", "expected"), [
    ("gzip-b64", base64.b64encode(gzip.compress(b"[" * 80 * 2**20)).decode(), "inflates past"),  # a gzip bomb: 80 MB of "["
    ("gzip-b64", "not base64 at all!", "not gzip in base64"),
    ("gzip-b64", base64.b64encode(gzip.compress(b"{not json")).decode(), "not JSON"),
    ("records", {"x": 1}, "records must be a list of objects"),
    ("columns", {"data": {"x": [1, 2], "y": [1]}}, "all of one length"),
    ("columns", {"data": {"fruit": ["a"], "x": ["1; DROP"], "y": [1]}}, "must hold numbers only"),
])
def test_what_a_tampering_client_sends_up_is_refused_with_a_message(site, backend, encoding, value, expected):
    browser, page = opened(site.url)
    try:
        page._set("encodings__server", "data", {"encoding": encoding, "id": "x"})
        page._set("encodings__payload", "data", value)
        refused = page.set_props([("encodings__upload", "data", {"id": "x"})])
        assert not refused.all_errors, refused.all_errors
        assert expected in str(page.get("encodings__error", "children"))
        assert page.get("encodings__consumed", "data") is None
    finally:
        browser.close()


@pytest.mark.parametrize("setting", ["off", "gzip", "br"])
def test_compression_is_a_site_setting(start_site, setting):
    site = start_site(workers=2, celery=False, compress=setting)
    chromium = {"Accept-Encoding": "gzip, deflate, br, zstd"}
    big = requests.get(site.url + "/_dash-dependencies", headers=chromium, timeout=30)
    tiny = requests.post(site.url + "/_dash-update-component", data=b"{}", timeout=30, headers=chromium)
    assert big.status_code == 200 and len(big.content) > MIN_SIZE
    assert big.headers.get("Content-Encoding") == {"off": None, "gzip": "gzip", "br": "br"}[setting]
    assert tiny.status_code == 400 and "Content-Encoding" not in tiny.headers  # a short refusal goes out as it is
    if setting == "br":  # a client without brotli gets gzip
        assert requests.get(site.url + "/_dash-dependencies", headers={"Accept-Encoding": "gzip"},
                            timeout=30).headers.get("Content-Encoding") == "gzip"
