"""The "beyond the guides" pages in Chromium on the 4-worker embedded site.

serverside: the browser holds only a key, the consumers render from it, an expired entry is said so.
patch: a Patch response is a fraction of a full re-send of the same growing output.
clientside: after the one load, interactions send no request at all.
"""

from __future__ import annotations

import json

import workload
from tests.support import wait_js

LOG = "window.statelab.log"



def requests_of(page, ns: str) -> list[dict]:
    return page.evaluate(f"{LOG}.filter(e => e.ns === {json.dumps(ns)}).map(e => ({{output: e.output, up: e.up, down: e.down, status: e.status}}))")


def test_serverside_browser_holds_only_a_key_and_the_consumers_render(embedded_site, new_page):
    page, problems = new_page()
    page.goto(embedded_site.url + "/serverside")
    wait_js(page, "document.querySelector('#serverside__held-key')?.textContent.startsWith('v1.10000.north@')")
    held = int(page.text_content("#serverside__held-bytes").split()[0])
    assert held < 200, f"the dcc.Store holds {held} bytes"
    page.wait_for_selector("#serverside__density >> text=where its")
    page.wait_for_selector("#serverside__trend >> text=mean y by x")
    page.wait_for_selector(".beyond-summary tbody tr >> nth=5")

    # A larger input: the key stays the same size, the consumers show the new frame's numbers.
    page.select_option("#serverside__rows", "100000")
    wait_js(page, "document.querySelector('#serverside__held-key')?.textContent.startsWith('v1.100000.north@')")
    expected = workload.summary(workload.expensive_step(100_000, "north"))
    revenue = f"{expected.loc[expected['fruit'] == 'apples', 'revenue'].iloc[0]:,.0f}"  # whole units, as on every page
    page.wait_for_selector(f".beyond-summary >> text={revenue}")
    assert int(page.text_content("#serverside__held-bytes").split()[0]) < 200
    producer = [r for r in requests_of(page, "serverside") if "serverside__key.data" in r["output"]]
    assert producer and all(r["down"] < 1000 and r["up"] < 1000 for r in producer), producer
    consumers = [r for r in requests_of(page, "serverside") if "serverside__summary" in r["output"]]
    assert consumers and all(r["up"] < 600 for r in consumers), "a consumer sends up only the key"

    # The entry goes (as expiry or eviction would take it): the consumers say so clearly.
    page.click("#serverside__forget")
    page.wait_for_selector(".beyond-key-alert >> text=Expired key")

    # A session id the server did not sign is refused with a message, not a 500.
    forged = "00000000-0000-4000-8000-000000000000." + "0" * 32
    page.evaluate(f"window.dash_clientside.set_props('serverside__session', {{data: '{forged}'}})")
    page.select_option("#serverside__region", "west")
    page.wait_for_selector("#serverside__status >> text=Rejected session id")
    page.wait_for_selector("#serverside__summary >> text=No key in the browser")
    assert problems == []


def _append(page) -> dict:
    before = page.evaluate("window.statelabBeyond.patch.points.length")
    page.click("#patch__append")
    wait_js(page, f"window.statelabBeyond.patch.points.length > {before}")
    return page.evaluate("window.statelabBeyond.patch.points.slice(-1)[0]")


def test_patch_sends_only_the_new_rows(embedded_site, new_page):
    page, problems = new_page()
    page.goto(embedded_site.url + "/patch")
    page.wait_for_selector("#patch__graph >> text=0 rows appended so far")
    # Before any click the byte chart already makes the point, with the server's own sizes of both responses.
    page.wait_for_selector("#patch__verdict >> text=Before any click")
    reference = page.evaluate(
        "() => document.getElementById('patch__bytes').querySelector('.js-plotly-plot').data"
        ".filter(t => t.name.includes('computed by the server')).map(t => t.y)"
    )
    assert len(reference) == 2 and all(len(y) == 10 for y in reference), reference
    patch_kb, full_kb = reference
    assert max(patch_kb) < 1.2 * min(patch_kb) and full_kb[-1] > 5 * patch_kb[-1], reference
    patched = [_append(page) for _ in range(5)]
    # Names read left to right, numbers stay right-aligned.
    align = page.evaluate(
        "() => Object.fromEntries(['fruit', 'region', 'x', 'amount'].map(c => [c, getComputedStyle("
        "document.querySelector(`#patch__table td[data-dash-column='${c}']`)).textAlign]))"
    )
    assert align == {"fruit": "left", "region": "left", "x": "right", "amount": "right"}, align
    # The measured sizes agree with the server's (the same responses, serialized by Dash).
    assert abs(patched[0]["down"] / 1024 - patch_kb[0]) < 0.05 * patch_kb[0], (patched[0], patch_kb[0])
    assert [p["mode"] for p in patched] == ["patch"] * 5
    page.wait_for_selector("#patch__graph >> text=5,000 rows appended so far")
    page.get_by_text("Full re-send", exact=True).click()
    full = _append(page)
    page.wait_for_selector("#patch__graph >> text=6,000 rows appended so far")
    assert full["mode"] == "full" and full["rows"] == 6000
    # Each Patch carries 1,000 rows whatever is on screen; the full re-send carries all 6,000.
    sizes = [p["down"] for p in patched]
    assert max(sizes) < 1.2 * min(sizes), f"Patch responses grew with the rows on screen: {sizes}"
    assert full["down"] > 4 * patched[-1]["down"], (full, patched[-1])
    page.wait_for_selector("#patch__verdict >> text=Full / Patch")
    assert problems == []


def test_clientside_interactions_send_no_request(embedded_site, new_page):
    page, problems = new_page()
    page.goto(embedded_site.url + "/clientside")
    # Arrival loads the default size without a click: the page shows its point at once.
    wait_js(page, "window.statelabBeyond.clientside.measured[10000] !== undefined")
    page.wait_for_selector("#clientside__timing >> text=of 10,000 rows matched")
    loads = requests_of(page, "clientside")
    assert len(loads) == 1 and loads[0]["down"] > 100_000, loads
    interactions = page.evaluate("window.statelabBeyond.clientside.interactions")

    page.select_option("#clientside__fruit", "figs")
    page.wait_for_selector("#clientside__trend >> text=figs — mean y by x")
    page.get_by_label("east").uncheck()
    page.get_by_label("west").uncheck()
    wait_js(page, f"window.statelabBeyond.clientside.interactions >= {interactions + 3}")
    expected = workload.dataset(10_000)
    matched = int((expected["region"].isin(["north", "south"])).sum())
    page.wait_for_selector(f"#clientside__timing >> text={matched:,} of 10,000 rows matched")
    assert requests_of(page, "clientside") == loads, "an interaction after the load reached the server"
    assert page.text_content("#clientside__scaling").startswith("rows")
    assert "JS heap" not in page.text_content("#clientside__scaling"), "the coarse heap reading is noise"
    # Both log axes are titled and labelled in plain units.
    page.wait_for_selector("#clientside__scaling-chart .ytitle >> text=milliseconds")
    page.wait_for_selector("#clientside__scaling-chart .y2title >> text=sent")
    ticks = page.eval_on_selector_all("#clientside__scaling-chart .y2tick text", "els => els.map(e => e.textContent)")
    assert ticks and all(t.endswith(("KB", "MB")) for t in ticks), ticks
    assert problems == []
