"""The capacity scenario, short form: python -m bench --scenario capacity on its own gunicorn (4 workers), a Locust
master and two Locust worker processes, a short ramp per strategy. The figures must add up: the interactions of
each step in the report (the master's records of every session event) are the ones Locust itself counted from the
workers' request events; and no strategy whose record claims isolation reads a stale or another session's value."""

from __future__ import annotations

import json
import subprocess
import sys

from serve import stop
from strategies import isolated
from tests.support import ROOT

STRATEGIES = ("serverside", "session-cache")  # both claim isolation (their records say so)


def test_a_short_ramp_on_two_locust_workers_adds_up(tmp_path):
    out = tmp_path / "capacity"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--scenario", "capacity", "--strategies", ",".join(STRATEGIES), "--steps", "2,4",
         "--step-seconds", "4", "--warmup-seconds", "3", "--load-processes", "2", "--no-peer", "--out", str(out), "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=420,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    cfg, results = report["config"], report["results"]
    assert report["schema"] == "statelab.bench/1" and cfg["scenario"] == "capacity" and cfg["steps"] == [2, 4]
    assert cfg["load_engine"]["engine"] == "locust" and cfg["load_engine"]["worker_processes"] == 2 and cfg["loopback"]

    # One capacity per strategy and server, and it is the last step of the unbroken run within the limits.
    caps = {c["strategy"]: c for c in report["capacity"]}
    assert set(caps) == set(STRATEGIES)
    for slug, cap in caps.items():
        steps = sorted((r for r in results if r["strategy"] == slug), key=lambda r: r["step"])
        assert steps and [r["sessions"] for r in steps] == [2, 4][: len(steps)], slug
        within = [r["sessions"] for r in steps[: next((i for i, r in enumerate(steps) if not r["within_limits"]), len(steps))]]
        assert cap["capacity_sessions"] == (within[-1] if within else 0), slug
        assert cap["warmup_interactions"] >= 0 and cap["locust_seconds"] > 0, slug

    for r in results:
        # The figures add up: every interaction of the step is in the report and in Locust's own count.
        assert r["interactions"] > 0, (r["strategy"], r["step"])
        assert r["interactions"] == r["locust_interactions"], (r["strategy"], r["step"])
        assert r["locust_workers"] == 2, (r["strategy"], r["step"])  # both Locust workers drove sessions
        assert r["latency_ms_p99"] >= r["latency_ms_p95"] >= r["latency_ms_p50"] > 0, r["strategy"]
        # The site's four workers and the generator were measured beside each other.
        assert len(r["worker_rss_mb"]) == 4 and r["server_cpu_pct"] is not None and r["generator_cpu_pct"] > 0
        if isolated(r["strategy"]):
            assert r["stale_reads"] == 0 and r["leaks"] == 0, (r["strategy"], r["step"])
    assert report["isolation"]["stale_reads"] == 0 and report["isolation"]["leaks"] == 0

    # The targets are judged per server; without the peer and the floor in the run, neither is measured.
    assert len(report["targets"]) == 2 and all(t["met"] is None for t in report["targets"])
    assert all(isolated(s) for s in STRATEGIES)
    assert (out / "report.csv").read_text().count(",capacity,") == len(results)
    html = (out / "report.html").read_text()
    assert "chart-bars" in html and "p95 limit" in html


def test_workers_of_another_process_join_the_master_as_another_machine_would(tmp_path):
    """The several-machines mode on one machine: the master waits for one remote worker, which a second
    process in worker mode (what each other machine runs) provides; its sessions are counted with the rest."""
    out = tmp_path / "capacity"
    helper = subprocess.Popen([sys.executable, "-m", "bench", "--locust-master", "127.0.0.1", "--load-processes", "1"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench", "--scenario", "capacity", "--strategies", "baseline-noop", "--steps", "2",
             "--step-seconds", "4", "--warmup-seconds", "2", "--load-processes", "1", "--remote-workers", "1",
             "--no-peer", "--out", str(out), "--quiet"],
            cwd=ROOT, capture_output=True, text=True, timeout=420,
        )
        assert done.returncode == 0, done.stderr[-3000:]
    finally:
        stop(helper)
    report = json.loads((out / "report.json").read_text())
    engine = report["config"]["load_engine"]
    assert engine["worker_processes"] == 1 and engine["remote_workers"] == 1, engine
    (row,) = report["results"]
    assert row["locust_workers"] == 2, row  # the remote worker drove sessions too
    assert row["interactions"] > 0 and row["interactions"] == row["locust_interactions"], row
