"""Every strategy checked against Chromium: the harness's bytes are what a browser sends and receives.

Per registered strategy (its declared benchmark spec, strategies.specs(), plus the no-op floor), in both
modes, on a site that compresses as deployed (STATELAB_COMPRESS=br): the harness (bench/dashclient.py)
opens the page and does the spec's set-up and round, act by act. Headless Chromium then does the very
same acts on the same page, through the renderer (dash_clientside.set_props, what a user's change does),
while a CDP session records every callback request: the body sent up (postDataEntries), the body's bytes
on the wire (Network.dataReceived encodedDataLength: compressed) and decoded (dataLength). Per act, the
number of requests must agree, and up, down on the wire and down decoded within 5 % each. The page's
own instruments (Resource Timing, assets/instruments.js) must show Chromium's figures too.

A background job's polls depend on timing (how often the renderer asked before the job was done):
they are compared per poll, and the answer that carried the result on its own.
"""

from __future__ import annotations

import base64
import json

import pytest

import strategies
from bench.dashclient import Browser, Page
from bench.plan import in_namespace
from bench.session import act, region
from bench.specs import BASELINE, CLICK
from strategies.spec import Ctx
from tests.support import wait_until

SPECS = {**strategies.specs(), BASELINE.slug: BASELINE}
ROWS = 1_000  # every page offers it; the sizes still compress (a frame at 1,000 rows is ~10 KB of JSON)
TOKEN = "fidelity-token-0123456789"
CALLBACK = "_dash-update-component"


def close(a: float, b: float, share: float = 0.05) -> bool:
    return abs(a - b) <= share * max(a, b)


@pytest.fixture(scope="module")
def site(start_site, backend):
    # Its own site per mode (global variables and counters of the shared sites stay untouched), compressed
    # as deployed; Redis mode in a database of its own.
    return start_site(workers=2, compute_delay=0.3, compress="br", **backend.changes(database=7))


@pytest.fixture(scope="module")
def single_site(start_site, backend):
    # A strategy whose answers show another session's value by design (a module global: claims_isolation
    # False) answers with whichever worker's copy it reached; one worker makes that copy, and so the bytes,
    # the same for Chromium and the harness.
    return start_site(workers=1, compute_delay=0.3, compress="br", **backend.changes(database=8))


# --------------------------------------------------------------------------- what Chromium sent and received


def ns_of(body: dict) -> str:
    """The strategy a callback body belongs to, as assets/instruments.js decides it (nsOfBody)."""
    first = body.get("outputs")
    for _ in range(2):
        if isinstance(first, list):
            first = first[0] if first else None
    ident = first.get("id") if isinstance(first, dict) else None
    if isinstance(ident, dict):
        return "_lab" if str(ident.get("type", "")).startswith("lab-") else str(ident.get("ns", ""))
    output = str(body.get("output", ""))
    if '"type":"lab-' in output:
        return "_lab"
    name = output.strip(".").split(".")[0]
    return name.split("__")[0] if "__" in name else ""


class Wire:
    """Every callback request of one tab as CDP's Network domain reported it."""

    def __init__(self, page):
        self.page = page
        self.requests: dict[str, dict] = {}
        self.order: list[str] = []
        cdp = page.context.new_cdp_session(page)
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.dataReceived", self._data)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.send("Network.enable")

    def _sent(self, event):
        request = event["request"]
        if CALLBACK not in request["url"] or request.get("method") != "POST":
            return
        body = b"".join(base64.b64decode(e.get("bytes", "")) for e in request.get("postDataEntries") or [])
        try:
            ns = ns_of(json.loads(body))
        except ValueError:
            ns = ""
        self.requests[event["requestId"]] = {"ns": ns, "up": len(body), "wire": 0, "down": 0, "done": False,
                                             "poll": "cacheKey=" in request["url"], "status": None, "encoding": ""}
        self.order.append(event["requestId"])

    def _response(self, event):
        if event["requestId"] in self.requests:
            response = event["response"]
            headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
            self.requests[event["requestId"]].update(status=response["status"], encoding=headers.get("content-encoding", ""))

    def _data(self, event):
        if event["requestId"] in self.requests:
            entry = self.requests[event["requestId"]]
            entry["down"] += event["dataLength"]
            entry["wire"] += event["encodedDataLength"]

    def _finished(self, event):
        if event["requestId"] in self.requests:
            self.requests[event["requestId"]]["done"] = True

    def of(self, ns: str) -> list[dict]:
        self.page.wait_for_timeout(50)  # the sync API delivers events while it runs: let it
        return [self.requests[r] for r in self.order if self.requests[r]["ns"] == ns]


def settle(wire: Wire, ns: str, since: int, expected: int, polls: bool, quiet_for: int = 12) -> list[dict]:
    """Wait until the tab sent `expected` non-poll requests of ns after index `since` (and, for a background
    job, polled until the result came), all finished, and nothing new for a moment; those requests."""
    seen: list[int] = []

    def quiet():
        mine = wire.of(ns)[since:]
        seen.append(len(mine))
        done = all(r["done"] for r in mine) and sum(not r["poll"] for r in mine) >= expected
        if polls:
            done = done and any(r["poll"] and r["down"] > 200 for r in mine)
        return done and len(seen) >= quiet_for and len(set(seen[-quiet_for:])) == 1

    wait_until(quiet, 90, 0.05, f"{ns}: {expected} request(s) answered")
    return wire.of(ns)[since:]


def totals(calls: list[dict]) -> dict:
    plain = [c for c in calls if not c["poll"]]
    polls = [c for c in calls if c["poll"]]
    out = {"requests": len(plain), "up": sum(c["up"] for c in plain), "wire": sum(c["wire"] for c in plain),
           "down": sum(c["down"] for c in plain)}
    if polls:
        result = max(polls, key=lambda c: c["down"])  # the poll that carried the job's result
        out.update(poll_up=polls[0]["up"], result_wire=result["wire"], result_down=result["down"])
    return out


# --------------------------------------------------------------------------- what the harness sent and received


def harness(url: str, spec) -> list[tuple]:
    """The spec's set-up and one round, act by act: [(act, value set, totals of its requests, its calls)].
    An act that changed nothing (the page already showed its value) has None for totals and calls: the
    harness sent nothing, but Chromium must still set the value, since a page may draw its defaults at
    random (session-cache's region) and Chromium's page may hold another one."""
    browser = Browser(url)
    done = []
    try:
        page = Page(browser, spec.page_path, scope=in_namespace(spec), clientside=spec.clientside)
        page.open()
        ctx = Ctx(0, 0, ROWS, region(0, 0), TOKEN, page)
        for action in (*spec.setup, *spec.round):
            before = page.get(spec.cid(action.name), action.prop)
            interaction = act(page, spec, action, ctx)
            if interaction is None:
                done.append((action, before, None, None))
                continue
            assert not interaction.all_errors, interaction.all_errors
            value = page.get(spec.cid(action.name), action.prop)
            if isinstance(before, list) and not isinstance(value, list):
                # A spec that sets one value on a multi-choice control (a checklist): a user ticks it, so the
                # browser holds a list. The harness sent nothing for it here (clientside), nor may Chromium.
                assert not interaction.calls, f"{spec.slug}: {action.name} needs a list, the spec gives {value!r}"
                value = [value]
            calls = [{"up": c.up, "wire": c.wire, "down": c.down, "poll": c.poll, "encoding": c.encoding}
                     for c in interaction.calls]
            done.append((action, value, totals(calls), calls))
    finally:
        browser.close()
    return done


def instruments(page, ns: str, since: int) -> list[dict]:
    """What the page's own instruments logged for ns (Resource Timing's sizes), once every wire figure is in."""
    script = "ns => window.statelab.log.filter(e => e.ns === ns)"
    wait_until(lambda: all(e["wire"] is not None for e in page.evaluate(script, ns)[since:]), 30, 0.1,
               "the instruments' wire figures")
    return page.evaluate(script, ns)[since:]


@pytest.mark.parametrize("slug", list(SPECS))
def test_harness_bytes_are_chromiums_compressed_and_decoded(request, backend, new_page, slug):
    spec = SPECS[slug]
    site = request.getfixturevalue("site" if strategies.isolated(slug) else "single_site")
    # Once untimed and not compared: what the interaction leaves in shared state (a cache, a worker's global)
    # is then the same for the measured run and for Chromium's after it.
    harness(site.url, spec)
    acts = harness(site.url, spec)
    assert any(m is not None for _a, _v, m, _c in acts) or not spec.round, \
        f"{slug}: the harness sent nothing for the declared interaction"

    page, problems = new_page()
    wire = Wire(page)
    page.goto(site.url + spec.page_path)
    page.locator(f"[id='{spec.cid(spec.round[0].name)}']").wait_for(state="attached")
    wait_until(lambda: page.evaluate("() => !!(window.dash_clientside && window.dash_clientside.set_props)"), 30)
    # The page's first callbacks are not compared (the harness has its own page load): wait them out.
    first = len(settle(wire, spec.ns, 0, 0, False, quiet_for=30))
    logged = len(page.evaluate("ns => window.statelab.log.filter(e => e.ns === ns)", spec.ns))

    chromium = []
    for action, value, measured, _calls in acts:
        since = len(wire.of(spec.ns))
        page.evaluate("([id, prop, value]) => window.dash_clientside.set_props(id, {[prop]: value})",
                      [spec.cid(action.name), action.prop, value])
        if measured is None:  # the harness's page held this value already: set it, let what it set off pass
            settle(wire, spec.ns, since, 0, False)
            continue
        chromium.append((action, value, totals(settle(wire, spec.ns, since, measured["requests"], "result_down" in measured))))
    answered = [(a, v, m, c) for a, v, m, c in acts if m is not None]
    for (action, value, seen), (_a, _v, measured, _c) in zip(chromium, answered, strict=True):
        what = f"{slug} {action.name}.{action.prop}={value if action.value != CLICK else 'click'}: chromium {seen}, harness {measured}"
        assert seen["requests"] == measured["requests"], what
        for key in ("up", "wire", "down", "poll_up", "result_wire", "result_down"):
            if key in measured:
                assert close(seen[key], measured[key]), f"{key} differs by more than 5 %: {what}"
    compressed = sum(1 for _a, _v, _t, calls in answered for c in calls if c["encoding"])

    # The instruments beside the demo show what Chromium's network stack counted.
    shown = [e for e in instruments(page, spec.ns, logged) if not e["poll"]]
    sent = [r for r in wire.of(spec.ns)[first:] if not r["poll"]]
    assert len(shown) == len(sent), (shown, sent)
    for key in ("up", "wire", "down"):
        assert close(sum(e[key] for e in shown), sum(r[key] for r in sent)), (key, shown, sent)
    if any(m["down"] >= 2_000 for _a, _v, m, _c in answered):
        assert compressed, f"{slug}: no answer came compressed, though some were kilobytes"
    assert not problems, problems
