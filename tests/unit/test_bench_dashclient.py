"""The headless renderer's pieces that must match Dash's own renderer byte for byte."""

from __future__ import annotations

import json
from threading import Thread

import pytest
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

import compress
from bench import dashclient as dc
from bench.cli import parse_args
from bench.specs import NOTHING, SPECS, identify_last_history_value, spec_for
from config import Settings
from reports.tables import summary_table


def test_ids_are_stringified_like_the_renderer():
    assert dc.stringify_id("hidden-div__data") == "hidden-div__data"
    assert dc.stringify_id({"type": "lab-stats", "ns": "serverside"}) == '{"ns":"serverside","type":"lab-stats"}'
    assert dc.stringify_id({"ns": "x", "index": ["MATCH"]}) == '{"index":MATCH,"ns":"x"}'


def test_outputs_are_split_from_the_output_string():
    assert dc.split_output("a__b.children") == [("a__b", "children")]
    assert dc.split_output("..a__b.data...a__c.figure@1f2e..") == [("a__b", "data"), ("a__c", "figure@1f2e")]
    assert dc.split_output('..{"ns":"x","type":"lab-log"}.children...{"ns":"x","type":"lab-version"}.data..') == [
        ({"ns": "x", "type": "lab-log"}, "children"),
        ({"ns": "x", "type": "lab-version"}, "data"),
    ]


def test_json_is_written_as_json_stringify_writes_it():
    # The browser parsed the server's 50.0 as 50 and sends 50 back; no spaces; UTF-8, not \\u escapes.
    value = dc.parse(b'{"x": [50.0, 1.5, -0.0], "t": "caf\\u00e9 \\u2014 ok", "n": null}')
    assert dc.dumps(value) == '{"x":[50,1.5,0],"t":"café — ok","n":null}'.encode()
    assert dc.dumps({"a": float("nan")}) == b'{"a":null}'


def test_patches_apply_like_the_renderer():
    figure = {"data": [{"x": [1, 2], "y": [3, 4]}], "layout": {"title": {"text": "2 rows"}}}
    patch = {"__dash_patch_update": "__dash_patch_update", "operations": [
        {"operation": "Extend", "location": ["data", 0, "x"], "params": {"value": [3, 4]}},
        {"operation": "Append", "location": ["data", 0, "y"], "params": {"value": 5}},
        {"operation": "Assign", "location": ["layout", "title", "text"], "params": {"value": "4 rows"}},
        {"operation": "Insert", "location": ["data", 0, "x"], "params": {"index": -1, "value": 9}},
        {"operation": "Merge", "location": ["layout"], "params": {"value": {"height": 300}}},
        {"operation": "Delete", "location": ["layout", "title"], "params": {}},
    ]}
    patched = dc.apply_patch(figure, patch)
    assert patched == {"data": [{"x": [1, 2, 3, 9, 4], "y": [3, 4, 5]}], "layout": {"height": 300}}
    assert figure["data"][0]["x"] == [1, 2]  # the held value is replaced, not mutated
    with pytest.raises(dc.DashClientError):
        dc.apply_patch(dc.MISSING, patch)


def test_the_graph_knows_what_feeds_what():
    specs = [
        {"output": "p__data.children", "inputs": [{"id": "p__region", "property": "value"}], "state": []},
        {"output": "p__table.children", "inputs": [{"id": "p__data", "property": "children"}], "state": []},
        {"output": "..p__graph.figure...p__note.children..", "inputs": [{"id": "p__table", "property": "children"}], "state": []},
        {"output": "q__other.children", "inputs": [{"id": "q__x", "property": "value"}], "state": []},
    ]
    graph = dc.Graph(specs)
    assert graph.ancestors[0] == set() and graph.ancestors[1] == {0} and graph.ancestors[2] == {0, 1}
    assert graph.ancestors[3] == set()
    assert graph.by_output("p__note.children").index == 2


def _page(layout: dict, specs: list[dict]) -> dc.Page:
    page = dc.Page(dc.Browser("http://127.0.0.1:9"), "/p", graph=dc.Graph(specs))
    page.root = layout
    page._reindex()
    return page


def test_payloads_carry_browser_held_values_as_the_renderer_does():
    comp = lambda i, **props: {"type": "Div", "namespace": "dash_html_components", "props": {"id": i, **props}}  # noqa: E731
    layout = {"type": "Div", "namespace": "dash_html_components", "props": {"children": [
        comp("p__region", value="north"), comp("p__data", children='{"columns":[]}'), comp("p__table"), comp("p__session", data="abc"),
    ]}}
    specs = [{"output": "p__table.children", "inputs": [{"id": "p__data", "property": "children"}],
              "state": [{"id": "p__session", "property": "data"}, {"id": "p__table", "property": "title"}]}]
    page = _page(layout, specs)
    pending = page._triggered({"p__data.children": None}, depth=1)
    assert len(pending) == 1
    payload = page._payload(pending[0])
    assert payload == {
        "output": "p__table.children",
        "outputs": {"id": "p__table", "property": "children"},
        "inputs": [{"id": "p__data", "property": "children", "value": '{"columns":[]}'}],
        "changedPropIds": ["p__data.children"],
        "parsedChangedPropsIds": ["p__data.children"],
        # a prop the browser does not hold has no "value" key at all (JSON.stringify drops undefined)
        "state": [{"id": "p__session", "property": "data", "value": "abc"}, {"id": "p__table", "property": "title"}],
    }
    assert list(json.loads(dc.dumps(payload))) == ["output", "outputs", "inputs", "changedPropIds", "parsedChangedPropsIds", "state"]


def test_every_declared_spec_names_its_controls():
    for slug, spec in SPECS.items():
        assert spec.round, slug
        assert spec.page_path.startswith("/")
        for act in spec.setup + spec.round:
            assert spec.cid(act.name).startswith(spec.ns + "__")
    assert spec_for("a-new-page").round[0].name == "region"  # a page without a spec gets the default interaction


def test_cli_defaults_and_a_text_table():
    args = parse_args(["--out", "/tmp/x"])
    assert args.rows == [1_000, 10_000] and args.sessions == 4 and args.rounds == 3 and args.workers == 4
    stampede = parse_args(["--out", "/tmp/x", "--scenario", "stampede", "--rows", "100000,1000"])
    assert stampede.sessions == 16 and stampede.rounds == 5 and stampede.rows == [1_000, 100_000]
    with pytest.raises(SystemExit):
        parse_args(["--out", "/tmp/x", "--rows", "0"])
    text = summary_table({"results": [{"strategy": "hidden-div", "scenario": "standard", "rows": 1000, "latency_ms_p50": 12.5,
                                       "request_bytes": 80_000, "stale_reads": 0, "leaks": 0, "errors": 0}]})
    assert "hidden-div" in text.splitlines()[1] and "80,000" in text


def test_a_global_that_holds_nothing_is_a_wrong_read():
    history = [{"action": "set", "value": "mine", "pid": 1}, {"action": "read", "value": None, "pid": 2}]
    assert identify_last_history_value(history, None, []) == NOTHING
    assert identify_last_history_value(history[:1], None, []) is None  # the last click was not a read
    assert identify_last_history_value(history[:1] + [{"action": "read", "value": "theirs", "pid": 3}], None, []) == "theirs"


# --------------------------------------------------------------------------- bytes as deployed


@pytest.fixture
def compressing_server():
    """A real HTTP server (werkzeug, a thread) whose Flask app compresses as the site does (compress.py)."""
    app = Flask(__name__)
    compress.install(app, Settings(compress="br"))

    @app.post("/echo")
    def echo():
        return jsonify(seen=len(request.get_data()), data=[{"x": i, "fruit": "apples"} for i in range(2_000)])

    @app.post("/tiny")
    def tiny():
        return jsonify(ok=True)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def test_the_client_asks_as_chromium_does_and_counts_the_wire_and_the_decoded_bytes(compressing_server):
    # Chromium's Accept-Encoding, as far as urllib3 here decodes it (zstd needs a package, br the brotli one).
    assert dc.ACCEPT_ENCODING.startswith("gzip, deflate, br")
    browser = dc.Browser(compressing_server)
    try:
        assert browser.http.headers["Accept-Encoding"] == dc.ACCEPT_ENCODING
        body = b'{"output": "x.children"}' * 100
        big = browser.http.post(compressing_server + "/echo", data=body)
        assert big.headers["Content-Encoding"] == "br"
        assert big.json()["seen"] == len(body)  # the request went up raw
        wire = dc.wire_bytes(big)
        assert wire == int(big.headers["Content-Length"]) and wire * 5 < len(big.content)
        tiny = browser.http.post(compressing_server + "/tiny", data=b"{}")
        assert "Content-Encoding" not in tiny.headers  # under compress.MIN_SIZE: sent as it is
        assert dc.wire_bytes(tiny) == len(tiny.content)
    finally:
        browser.close()
    call = dc.Call("x.children", "h", 200, 10, 1_000, 1.0, "1", 0.0, 0, down_wire=150, encoding="br")
    plain = dc.Call("y.children", "h", 200, 10, 300, 1.0, "1", 0.0, 0)
    assert call.wire == 150 and plain.wire == 300  # not measured: counted as sent decoded
    assert dc.Interaction(calls=[call, plain]).down_wire == 450
