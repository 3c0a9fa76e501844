"""Benchmark aggregation and report writing: from measured calls to report rows and files."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

import reports as report
import workload
from bench import metrics
from bench.dashclient import Call, Interaction
from bench.plan import Target
from bench.session import RoundRecord, StepData
from bench.specs import NOTHING, SPECS, Ctx, identify_workload, signature
from reports import FIELDS, SCHEMA, charts


def call(ms, up, down, pid, depth=0, host="http://a", poll=False, error=None, status=200):
    return Call("x.children", host, status, up, down, ms, str(pid), 0.0, depth, poll, error)


def interaction(*calls, ms=None):
    it = Interaction(calls=list(calls))
    it.ms = ms if ms is not None else sum(c.ms for c in calls)
    return it


def step(slug, rows, records, written, before=None, after=None, browser=(), errors=()):
    data = StepData(SPECS[slug], rows)
    data.records, data.written, data.before, data.after = records, written, before, after
    data.browser_bytes, data.errors = list(browser), list(errors)
    return data


def counters(compute=0, hit=0, miss=0, slug="cache-signal", **extra):
    return {"counters": {"compute": {slug: compute}, "hit": {slug: hit}, "miss": {slug: miss}}, **extra}


def test_percentile_interpolates_and_handles_edges():
    assert metrics.percentile([], 50) is None
    assert metrics.percentile([7], 95) == 7.0
    assert metrics.percentile([10, 20, 30, 40], 50) == 25.0
    assert metrics.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95) == pytest.approx(9.55)


def test_reads_stale_and_leaks_are_told_apart():
    # Session 0 wrote a then b; session 1 wrote c. Reads: own last (fine), own older (stale),
    # the other's value (stale and a leak), nothing recognisable (unverified).
    records = [
        RoundRecord(0, 0, None, [("b", "b")]),
        RoundRecord(0, 1, None, [("b", "a")]),
        RoundRecord(0, 2, None, [("b", "c"), ("b", None)]),
        RoundRecord(1, 0, None, [("c", "c")]),
    ]
    judged = metrics.judge_reads(records, {0: {"a", "b"}, 1: {"c"}})
    assert judged == {"reads": 5, "unverified_reads": 1, "stale_reads": 2, "leaks": 1}


def test_summarize_one_step():
    records = [
        RoundRecord(0, 0, interaction(call(100, 300, 5_000, 11), call(40, 20_000, 900, 12, depth=1)), [(("north", 10_000), ("north", 10_000))]),
        RoundRecord(1, 0, interaction(call(300, 300, 5_000, 13), call(60, 20_000, 900, 11, depth=1)), [(("south", 10_000), ("south", 10_000))]),
        RoundRecord(1, 1, None, [(("south", 10_000), ("south", 10_000))]),  # nothing sent: not an interaction
    ]
    row = metrics.summarize(step("cache-signal", 1_000, records, {0: {("north", 10_000)}, 1: {("south", 10_000)}},
                                 before=counters(2, 5, 2), after=counters(4, 11, 4, dirs={"flask-cache": 900}, flask_cache_bytes=900),
                                 browser=[18, 22]))
    assert row["strategy"] == "cache-signal" and row["rows"] == 1_000 and row["effective_rows"] == workload.DEFAULT_ROWS
    assert row["interactions"] == 2
    assert row["latency_ms_p50"] == 250.0 and row["latency_ms_p95"] == pytest.approx(349.0)
    assert row["producer_ms_p50"] == 200.0 and row["consumer_ms_p50"] == 50.0
    assert row["request_bytes"] == 20_300 and row["response_bytes"] == 5_900
    assert row["requests_per_interaction"] == 2.0
    assert row["workers_hit"] == 3 and row["requests_per_worker"] == {"11": 2, "12": 1, "13": 1}
    assert row["computations"] == 2 and row["cache_hits"] == 6 and row["cache_misses"] == 2 and row["cache_hit_rate"] == 0.75
    assert row["reads"] == 3 and row["stale_reads"] == 0 and row["leaks"] == 0
    assert row["server_bytes"] == 900 and row["browser_bytes"] == 20 and row["errors"] == 0
    assert set(FIELDS) <= set(row)


def test_summarize_reports_the_answers_on_the_wire_and_decoded():
    # Two answers came brotli-compressed (a tenth of their size), a tiny one as it was: the row says
    # what crossed the wire, what was decoded, their ratio, and that the upload stayed raw.
    big = Call("x.children", "http://a", 200, 90_000, 100_000, 10.0, "11", 0.0, 0, False, None, down_wire=10_000, encoding="br")
    tiny = Call("y.children", "http://a", 200, 300, 200, 5.0, "11", 0.0, 1, False, None, down_wire=200)
    unmeasured = call(5, 100, 1_000, 12)  # no wire figure: counts as sent as it is
    records = [RoundRecord(0, 0, interaction(big, tiny), []), RoundRecord(1, 0, interaction(big, unmeasured), [])]
    row = metrics.summarize(step("hidden-div", 100_000, records, {}))
    assert row["response_bytes"] == (100_200 + 101_000) / 2 and row["response_bytes_wire"] == (10_200 + 11_000) / 2
    assert row["request_bytes"] == (90_300 + 90_100) / 2  # raw: browsers never compress a request body
    assert row["compression_down"] == round(201_200 / 21_200, 2)
    assert row["content_encoding"] == "br"
    identity = metrics.summarize(step("hidden-div", 1_000, [RoundRecord(0, 0, interaction(tiny), [])], {}))
    assert identity["compression_down"] == 1.0 and identity["content_encoding"] == "identity"


def test_the_report_shows_compression_beside_the_raw_upload(tmp_path):
    data = _report()
    for r in data["results"]:
        r.update(response_bytes_wire=r["response_bytes"] // 8, compression_down=8.0, content_encoding="br")
    paths = report.write(data, tmp_path / "out")
    table = list(csv.DictReader(io.StringIO(paths["csv"].read_text())))
    assert {"response_bytes_wire", "compression_down", "content_encoding"} <= set(table[0])
    assert table[0]["response_bytes_wire"] == str(900 // 8)
    page = paths["html"].read_text()
    assert "Compression: what the wire carried" in page and "down B wire" in page and "8.0×" in page
    assert "browsers never compress them" in page
    text = report.tables.summary_table(data)
    assert "down B wire" in text.splitlines()[0]


def test_summarize_counts_errors_and_scale_out_hosts():
    bad = interaction(call(5, 100, 50, 21, host="http://a", status=500, error="HTTP 500 from x"), call(8, 100, 50, 31, host="http://b"))
    row = metrics.summarize(step("global-variable", 1_000, [RoundRecord(0, 0, bad, [])], {}, errors=["session 1 could not open"]),
                            Target(["http://a", "http://b"]))
    assert row["errors"] == 2 and "HTTP 500 from x" in row["error_samples"]
    assert row["scenario"] == "scale-out"
    assert row["requests_per_host"] == {"http://a": {"21": 1}, "http://b": {"31": 1}}
    assert row["computations"] is None and row["server_bytes"] is None  # no probe readings: unknown, not zero


def test_no_pid_header_means_unknown_workers():
    it = interaction(call(5, 10, 10, "?"))
    row = metrics.summarize(step("serverside", 1_000, [RoundRecord(0, 0, it, [])], {}))
    assert row["workers_hit"] is None


def _report():
    rows = []
    for slug, up, stale, leaks in (("baseline-noop", 280, 0, 0), ("global-variable", 2_000, 5, 3), ("hidden-div", 80_000, 0, 0),
                                   ("session-cache", 1_250, 0, 0)):
        for n, scale in ((1_000, 1), (10_000, 10 if slug == "hidden-div" else 1)):
            rows.append({
                "strategy": slug, "kind": "baseline" if slug == "baseline-noop" else "strategy", "scenario": "standard", "rows": n,
                "latency_ms_p50": 20.0 * scale, "latency_ms_p95": 40.0 * scale, "producer_ms_p50": 10.0, "consumer_ms_p50": 5.0,
                "request_bytes": up * scale, "response_bytes": 900 * scale, "requests_per_interaction": 2.0, "workers_hit": 4,
                "requests_per_worker": {"101": 3, "102": 2}, "requests_per_host": {"http://h": {"101": 3, "102": 2}},
                "computations": 4, "cache_hits": None, "cache_misses": None, "cache_hit_rate": None, "interactions": 12,
                "reads": 12, "unverified_reads": 0, "stale_reads": stale, "leaks": leaks, "server_bytes": 0,
                "browser_bytes": up * scale, "errors": 0, "error_samples": [],
            })
    config = {"rows": [1_000, 10_000], "sessions": 4, "rounds": 3, "scenario": "standard", "workers": 4, "hosts": 1,
              "backend": "embedded", "distinct_values": 4, "dash_version": "4.4.1", "machine": {"cpus": 2, "python": "3.11"},
              "skipped": {"clientside@2000": "the page loads only 1,000 rows"}}
    return {"schema": SCHEMA, "created": "2026-11-21T10:00:00", "seconds": 42.0, "config": config, "results": rows}


def test_report_files(tmp_path):
    data = _report()
    paths = report.write(data, tmp_path / "out")
    assert sorted(p.name for p in paths.values()) == ["report.csv", "report.html", "report.json"]

    loaded = report.load(paths["json"])
    assert loaded == data and loaded["schema"] == "statelab.bench/1"

    table = list(csv.DictReader(io.StringIO(paths["csv"].read_text())))
    assert len(table) == len(data["results"])
    assert list(table[0])[: len(FIELDS)] == FIELDS
    assert json.loads(table[0]["requests_per_worker"]) == {"101": 3, "102": 2}
    assert table[0]["cache_hit_rate"] == ""  # None is an empty cell, not "None"

    page = paths["html"].read_text()
    assert not re.search(r"<script[^>]*\ssrc=", page) and "<link" not in page  # self-contained: nothing fetched
    assert len(page) > 3_000_000  # plotly.js itself is inlined
    assert page.count("Plotly.newPlot") >= 7  # latency, bytes, four growth curves, worker hits
    assert "<table class=\"results\">" in page and "global-variable" in page
    assert "Unsafe: 10 of 24 reads" in page and "clientside@2000" in page


def test_verdicts_follow_the_numbers():
    said = report.verdicts(_report())
    assert said["global-variable"][0].startswith("Unsafe: 10 of 24 reads") and "6 showed another session" in said["global-variable"][0]
    assert said["session-cache"][0] == "Correct: all 24 reads returned the session's own value."
    assert any(line.startswith("Payload grows with the data") and "×10.0" in line for line in said["hidden-div"])
    assert any(line.startswith("Flat payload") for line in said["session-cache"])
    assert any("the no-op floor" in line for line in said["hidden-div"])


def test_check_rejects_other_files():
    with pytest.raises(report.ReportError):
        report.check({"schema": "something/else", "results": [], "config": {}})
    with pytest.raises(report.ReportError):
        report.check({"schema": SCHEMA, "results": {}})


def test_charts_use_every_strategy_and_log_axes():
    figs = charts.all_figures(_report()["results"])
    assert set(figs) == {"latency", "bytes", "growth-bytes", "growth-latency", "growth-server", "growth-browser", "workers"}
    assert figs["growth-bytes"].layout.xaxis.type == "log" and figs["growth-bytes"].layout.yaxis.type == "log"
    assert {t.name for t in figs["growth-bytes"].data} >= {"hidden-div", "session-cache"}
    assert [t.name for t in figs["latency"].data] == ["1,000 rows", "10,000 rows"]


def test_a_summary_table_identifies_its_region_and_rows():
    """What a consumer shows (a per-fruit table) tells which (region, rows) it was computed from."""
    cleaned = workload.expensive_step(2_000, "east")
    table = workload.summary(cleaned)
    shown = {"type": "Table", "namespace": "x", "props": {"children": [
        {"type": "Td", "namespace": "x", "props": {"children": f"{r.rows:,}"}} for r in table.itertuples()
    ] + [{"type": "Td", "namespace": "x", "props": {"children": f"{r.revenue:,.0f}"}} for r in table.itertuples()]}}
    candidates = [(region, n) for n in (2_000, 20_000) for region in workload.REGIONS]
    assert identify_workload(shown, Ctx(0, 0, 2_000, "east", ""), candidates) == ("east", 2_000)
    # a view saying it has no data is a wrong read (it shows nothing); one that says nothing useful is unverified
    assert identify_workload({"props": {"children": "no data yet"}}, Ctx(0, 0, 2_000, "east", ""), candidates) == NOTHING
    assert identify_workload({"props": {"children": "loading"}}, Ctx(0, 0, 2_000, "east", ""), candidates) is None
    assert f"{len(cleaned):,}" in signature(2_000, "east")


def test_the_encodings_report_has_its_own_page_and_says_which_to_use(tmp_path):
    def row(strategy, encoding, up, wire, down, serialize, decode):
        return {"strategy": strategy, "kind": "encoding", "scenario": "encodings", "encoding": encoding, "rows": 10_000,
                "serialize_ms": serialize, "request_bytes": up, "response_bytes_wire": wire, "response_bytes": down,
                "compression_down": round(down / wire, 2), "browser_decode_ms": decode, "server_decode_ms": None,
                "consumers": 4 if up else 0, "runs": 3, "errors": 0, "error_samples": []}

    results = [row("hidden-div", "records", 3_200_000, 155_000, 800_000, 430.0, 25.0),
               row("hidden-div", "gzip-b64", 530_000, 104_000, 142_000, 220.0, 48.0),
               row("clientside", "columns", 0, 105_000, 369_000, 17.0, 8.0)]
    data = {"schema": SCHEMA, "created": "2026-12-01T17:00:00", "seconds": 60.0, "results": results,
            "config": {"scenario": "encodings", "runs": 3, "compress": "br", "chromium": "156", "dash_version": "4.4.1",
                       "machine": {"cpus": 2}}}
    paths = report.write(data, tmp_path / "enc")
    page = paths["html"].read_text()
    assert "the JSON path" in page and "gzip-b64" in page and "3.1 MB" in page  # 3,200,000 B up, raw
    assert "hidden-div at 10,000 rows: fewest bytes with gzip-b64" in page
    assert "least time with gzip-b64" in page  # 220 + 48 ms against the records' 430 + 25 ms
    assert "clientside at 10,000 rows: fewest bytes with columns" in page
