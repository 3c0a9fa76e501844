"""The load scenario's analysis (bench/load/analysis.py) and the capacity ramp's rules (ramp.py, collect.py,
bench/capacity/figures.py): pure functions, fed by hand with what sessions and
monitors would have recorded; no server, no clock."""

from __future__ import annotations

from bench.capacity import figures
from bench.dashclient import Call, Interaction
from bench.load import analysis, collect, ramp
from bench.load.driver import LoadStep
from bench.session import RoundRecord, StepData
from bench.specs import SPECS

NORTH, SOUTH, EAST = ("north", 1_000), ("south", 1_000), ("east", 1_000)


def interaction(ms: float = 50.0) -> Interaction:
    call = Call("x.children", "http://a", 200, 100, 200, ms, "11", 0.0, 0, False, None)
    return Interaction(calls=[call], ms=ms)


def load_step(slug: str, rounds: list[tuple], written: dict[int, set]) -> LoadStep:
    """rounds: (session, expected, got, t0, t1) each; written: session -> the values it asked for."""
    ls = LoadStep(StepData(SPECS[slug], 1_000, scenario="load"))
    ls.step.written = written
    ls.sessions = sorted(written)
    for n, (session, expected, got, t0, t1) in enumerate(rounds):
        record = RoundRecord(session, n, interaction(), [(expected, got)])
        ls.step.records.append(record)
        ls.timed.append((record, t0, t1))
    return ls


def test_overlaps_is_inclusive_and_needs_a_window():
    assert analysis.overlaps(1.0, 2.0, (2.0, 5.0))
    assert analysis.overlaps(5.0, 6.0, (2.0, 5.0))
    assert not analysis.overlaps(5.1, 6.0, (2.0, 5.0))
    assert not analysis.overlaps(1.0, 2.0, None)


def test_judged_tells_stale_from_leaked_from_unrecognised():
    ls = load_step("serverside", [
        (0, NORTH, NORTH, 0.1, 0.2),  # its own value: not listed
        (0, NORTH, EAST, 0.3, 0.4),  # nobody asked for east: stale (an old or wrong value)
        (0, NORTH, SOUTH, 0.5, 0.6),  # session 1's value: a leak
        (1, SOUTH, None, 0.7, 0.8),  # nothing recognisable
    ], written={0: {NORTH}, 1: {SOUTH}})
    kinds = [(t0, session, [k for k, _, _ in bad]) for t0, _t1, session, bad, _shown in analysis.judged(ls)]
    assert kinds == [(0.3, 0, ["stale"]), (0.5, 0, ["leak"]), (0.7, 1, ["unverified"])]


def test_load_fields_count_only_what_falls_outside_the_outage_window():
    ls = load_step("serverside", [
        (0, NORTH, EAST, 1.0, 1.5),  # stale inside the window
        (0, NORTH, EAST, 9.0, 9.5),  # stale after it
        (0, NORTH, NORTH, 10.0, 10.5),  # recovered
    ], written={0: {NORTH}, 1: {SOUTH}})
    ls.error(1.2, 1.3, 0, "HTTP 500 from x.children: boom")
    ls.error(8.0, 8.1, 1, "HTTP 502 from x.children")
    ls.gave_up(2.0, 1, "given up after --abandon-after seconds")
    fields = analysis.load_fields(ls, (0.5, 3.0), load_end=12.0)
    assert fields["errors_outside_window"] == 1
    assert fields["stale_outside_window"] == 1
    assert fields["unanswered"] == 1 and fields["unanswered_outside_window"] == 0
    assert fields["http_500"] == 1
    assert fields["reads_after_window"] == 2 and fields["correct_reads_after_window"] == 1
    assert fields["interactions_per_s"] == 0.25
    assert fields["claims_isolation"] is True
    assert not fields["passed"]
    assert fields["verdict"].startswith("FAIL: 1 error(s) outside the outage window; 1 stale read(s) outside the window")


def test_a_strategy_that_claims_no_isolation_passes_with_stale_reads():
    ls = load_step("global-variable", [(0, NORTH, SOUTH, 1.0, 1.1)], written={0: {NORTH}, 1: {SOUTH}})
    fields = analysis.load_fields(ls, None, load_end=5.0)
    assert fields["passed"] and not fields["claims_isolation"]
    assert fields["verdict"].startswith("pass (no errors; isolation not claimed")
    assert fields["reads_after_window"] is None
    # its stale reads are its lesson: counted in its row, not listed as events
    assert [e["kind"] for e in analysis.events([ls], None)] == []


def test_events_are_in_time_order_and_marked_inside_or_outside_the_window():
    ls = load_step("serverside", [(0, NORTH, None, 4.0, 4.2)], written={0: {NORTH}})
    ls.shown[id(ls.step.records[0])] = ["Something went wrong"]
    ls.error(1.0, 1.1, 0, "HTTP 502 from x")
    ls.gave_up(6.0, 0, "the run ended (hard stop)")
    found = analysis.events([ls], (3.5, 5.0))
    assert [(e["t"], e["kind"], e["in_window"]) for e in found] == [(1.0, "error", False), (4.0, "unverified", True),
                                                                    (6.0, "unanswered", False)]
    assert "the page showed: Something went wrong" in found[1]["message"]


def test_timeline_bins_interactions_errors_and_latency_by_start():
    ls = load_step("serverside", [(0, NORTH, NORTH, 1.0, 1.1), (0, NORTH, NORTH, 2.0, 2.1), (1, SOUTH, EAST, 6.0, 6.1)],
                   written={0: {NORTH}, 1: {SOUTH}})
    ls.error(7.0, 7.1, 1, "HTTP 502 from x")
    out = analysis.timeline([ls], load_end=8.0)
    assert out["bin_s"] == analysis.BIN_S
    first, second = out["bins"]
    assert (first["t"], first["interactions"], first["errors"], first["stale"]) == (0.0, 2, 0, 0)
    assert (second["t"], second["interactions"], second["errors"], second["stale"]) == (5.0, 1, 1, 1)
    assert first["p50_ms"] == 50.0 and first["by_strategy"] == {"serverside": 2}


def test_memory_growth_is_peak_minus_start_against_the_bound():
    samples = [
        {"t": 0.0, "workers": {"11": 100.0, "12": 100.0}, "redis": {"used_memory_mb": 1.0, "used_memory_rss_mb": 5.0}},
        {"t": 2.0, "workers": {"11": 180.0, "12": 120.0}, "redis": None},  # Redis did not answer this sample
        {"t": 4.0, "workers": {"11": 110.0, "13": 90.0}, "redis": {"used_memory_mb": 2.0, "used_memory_rss_mb": 7.5}},
    ]
    memory = analysis.summarize_memory(samples, rss_bound=50.0, redis_bound=200.0, workers_note=None, redis_note=None,
                                       every_s=2.0)
    by_pid = {w["pid"]: w for w in memory["workers"]}
    assert by_pid["11"]["peak_growth_mb"] == 80.0 and by_pid["11"]["growth_mb"] == 10.0 and not by_pid["11"]["met"]
    assert memory["workers_replaced"] == ["12", "13"]  # 12 went, 13 came
    assert memory["workers_met"] is False and memory["met"] is False
    assert memory["redis"]["peak_growth_mb"] == 2.5 and memory["redis"]["unanswered_samples"] == 1
    assert memory["redis"]["met"] is True


def test_memory_without_readings_says_why():
    memory = analysis.summarize_memory([{"t": 0.0}], 150.0, 200.0, workers_note="not measured: --url", redis_note=None,
                                       every_s=2.0)
    assert memory["workers"] is None and memory["workers_note"] == "not measured: --url"
    assert memory["redis"] is None and "no Redis" in memory["redis_note"]
    assert memory["met"] is None


def _row(strategy: str, **over) -> dict:
    row = {"strategy": strategy, "errors": 0, "errors_outside_window": 0, "stale_reads": 0, "stale_outside_window": 0,
           "unverified_outside_window": 0, "leaks": 0, "unanswered": 0, "unanswered_outside_window": 0,
           "unanswered_times_s": [], "http_500": 0, "reads": 4, "reads_after_window": None,
           "correct_reads_after_window": None, "error_times_s": [], "claims_isolation": strategy not in analysis.UNSAFE}
    return {**row, **over}


def _report(results: list[dict], outage=None) -> dict:
    memory = {"bounds": {"worker_rss_growth_mb": 150.0, "redis_rss_growth_mb": 200.0}, "workers": None,
              "workers_note": "not measured: --url", "redis": None}
    config = {"bounds": {"grace_s": 5.0}, "stopped_s": 70.0, "time_bound_s": 140.0, "requests_sent": 900,
              "max_requests": 50_000, "sessions_stuck": []}
    return {"results": results, "memory": memory, "outage": outage, "config": config}


def test_load_targets_pass_a_clean_run_and_fail_a_leak():
    clean = analysis.load_targets(_report([_row("serverside"), _row("global-variable", stale_reads=3, leaks=2)]))
    assert all(t["met"] is not False for t in clean)  # global-variable's leaks are its lesson
    assert {t["target"].split(" (")[0] for t in clean if t["met"] is None} == {"gunicorn worker RSS growth"}
    leaky = analysis.load_targets(_report([_row("serverside", leaks=1)]))
    leak = next(t for t in leaky if t["target"].startswith("leaks"))
    assert leak["met"] is False and leak["detail"] == "serverside: 1"


def test_outage_totals_and_the_recovery_target():
    results = [_row("serverside", errors=3, errors_outside_window=0, error_times_s=[25.1, 26.0, 27.5],
                    reads_after_window=5, correct_reads_after_window=5),
               _row("session-cache", reads_after_window=4, correct_reads_after_window=3)]
    totals = analysis.outage_totals(results)
    assert (totals["errors"], totals["errors_inside"], totals["first_error_s"], totals["last_error_s"]) == (3, 3, 25.1, 27.5)
    assert totals["met"] is True
    outage = {"window_s": [25.0, 33.0], **totals}
    targets = analysis.load_targets(_report(results, outage))
    recovery = next(t for t in targets if t["target"].startswith("recovery"))
    assert recovery["met"] is False and recovery["ratio"] == 1 and "session-cache: 3/4" in recovery["detail"]


# --------------------------------------------------------------------------- the capacity ramp's rules (bench/load/ramp.py)


def test_ramp_steps_double_up_to_the_session_bound():
    assert ramp.ramp_steps(None, 64) == [2, 4, 8, 16, 32, 64]
    assert ramp.ramp_steps(None, 40) == [2, 4, 8, 16, 32]
    assert ramp.ramp_steps([8, 3, 3, 100], 64) == [3, 8]
    assert ramp.ramp_steps(None, 1) == [1]


def test_a_step_is_within_the_limits_until_p95_or_errors_pass_them():
    assert ramp.within(400.0, 0.0, 10, 500, 0.01) == (True, "within the limits")
    assert ramp.within(501.0, 0.0, 10, 500, 0.01)[1] == "p95 501 ms > 500 ms"
    assert ramp.within(100.0, 0.02, 100, 500, 0.01)[1] == "errors 2.0 % > 1 %"
    assert not ramp.within(None, 0.0, 3, 500, 0.01)[0] and not ramp.within(10.0, 0.0, 0, 500, 0.01)[0]


def test_capacity_is_the_last_step_of_the_unbroken_run_within_the_limits():
    steps = [{"sessions": 2, "within_limits": True, "why": ""}, {"sessions": 4, "within_limits": True, "why": ""},
             {"sessions": 8, "within_limits": False, "why": "p95 900 ms > 500 ms"},
             {"sessions": 16, "within_limits": True, "why": ""}]
    assert ramp.capacity(steps) == (4, "step of 8 sessions: p95 900 ms > 500 ms")
    assert ramp.capacity(steps[:2])[0] == 4 and ramp.capacity(steps[2:3])[0] == 0


def test_the_masters_judge_counts_what_the_workers_sent_per_step():
    judge = ramp.Judge({"p95_limit_ms": 100, "error_limit": 0.1})
    for ms in (10, 20, 30, 40):
        judge.see({"step": 0, "k": "round", "a": {"interaction": {}, "ms": ms, "failed": False}})
    judge.see({"step": 1, "k": "round", "a": {"interaction": {}, "ms": 500, "failed": True}})
    judge.see({"step": 1, "k": "error", "a": {"message": "session 3 could not open /x: boom"}})
    judge.see({"step": -1, "k": "round", "a": {"interaction": {}, "ms": 9_000, "failed": True}})  # the warm-up
    assert judge.warm == 1  # the warm-up's rounds are counted (it ends on them), never judged
    assert judge.close(0, 2)["within"] and judge.close(0, 2)["interactions"] == 4
    late = judge.close(1, 4)
    assert not late["within"] and late["interactions"] == 2 and late["error_rate"] == 1.0


def test_cpu_window_is_cpu_seconds_over_wall_seconds_per_worker():
    samples = [{"t": 100.0, "server": {"11": [1.0, 200.0], "12": [2.0, 210.0]}, "generator": {"9": 5.0}},
               {"t": 102.0, "server": {"11": [1.5, 220.0], "12": [2.0, 205.0]}, "generator": {"9": 6.0}},
               {"t": 104.0, "server": {"11": [2.0, 215.0], "12": [3.0, 205.0]}, "generator": {"9": 7.0}}]
    got = figures.cpu_window(samples, t0=100.0, a=0.0, b=4.0)
    assert got["server_cpu_pct_per_worker"] == {"11": 25.0, "12": 25.0} and got["server_cpu_pct"] == 50.0
    assert got["worker_rss_mb"] == {"11": 220.0, "12": 210.0} and got["generator_cpu_pct"] == 50.0
    assert figures.cpu_window(samples[:1], 100.0, 0.0, 4.0)["server_cpu_pct"] is None


def test_records_replay_into_the_analysis_with_steps_and_the_loads_start():
    rec = {"session": 0, "round": 0, "interaction": {"calls": [], "ms": 12.0, "skipped_clientside": 0, "errors": []},
           "checks": [[["north", 1000], ["north", 1000]]], "t0": 1001.0, "t1": 1001.1, "expected": ["north", 1000], "shown": []}
    records = [{"type": "start", "t": 1000.0}, {"type": "step", "k": 0, "users": 2, "t": 1000.5},
               {"type": "ev", "w": "a", "slug": "serverside", "step": 0, "k": "joined", "a": {"session": 0}},
               {"type": "ev", "w": "a", "slug": "serverside", "step": 0, "k": "round", "a": rec},
               {"type": "ev", "w": "b", "slug": "serverside", "step": 0, "k": "error",
                "a": {"t0": 1002.0, "t1": 1002.5, "session": 1, "message": "HTTP 502 from x"}},
               {"type": "end", "t": 1010.0}]
    got = collect.collect(records, [SPECS["serverside"]], 1_000, scenario="capacity")
    ls = got.steps["serverside"]
    assert got.t0 == 1000.0 and got.end == 10.0 and got.ramp == [{"k": 0, "users": 2, "t": 0.5, "strategy": None}]
    record, t0, t1 = ls.timed[0]
    assert (t0, round(t1, 3)) == (1.0, 1.1) and record.checks == [(("north", 1000), ("north", 1000))]
    assert ls.step.written == {0: {("north", 1000)}} and got.tags[id(record)] == 0
    assert ls.errors == [{"t0": 2.0, "t1": 2.5, "session": 1, "message": "HTTP 502 from x", "step": 0}]
    assert analysis.judged(ls) == [] and got.nodes == {0: {"a"}}
