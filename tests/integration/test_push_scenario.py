"""python -m bench --scenario push, short: 3 tabs, 5 changes, one job each way — the report has the push fields,
for push and for polling, with figures that could only come from a run that worked."""

from __future__ import annotations

import subprocess
import sys

import reports
from config import PROJECT_DIR
from reports import push as push_report


def test_a_short_push_scenario_writes_the_push_fields(tmp_path):
    out = tmp_path / "push"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--scenario", "push", "--out", str(out), "--tabs", "3", "--changes", "5",
         "--rounds", "1", "--workers", "2", "--compute-delay", "0.2", "--quiet"],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "push propagation p95" in done.stdout
    report = reports.load(out / "report.json")
    assert report["config"]["scenario"] == "push" and report["config"]["tabs"] == 3
    rows = {(r["strategy"], r["kind"]): r for r in report["results"]}
    assert set(rows) == {("live-shared", "push"), ("live-shared", "poll"), ("live-progress", "push"), ("live-progress", "poll")}
    for kind in ("push", "poll"):
        shared = rows[("live-shared", kind)]
        assert shared["errors"] == 0, shared.get("error_sample")
        # 2 reading tabs × 5 changes, each seen (or a newer one) by both transports
        assert shared["samples"] == 10 and shared["missed"] == 0
        assert 0 < shared["propagation_ms_p50"] <= shared["propagation_ms_p95"]
        assert set(push_report.FIELDS[:4]) <= set(shared)
    assert rows[("live-shared", "push")]["requests_per_tab_minute"] == 0, "push costs no HTTP request per tab"
    assert rows[("live-shared", "poll")]["requests_per_tab_minute"] > 30, "polling once a second: about 60 a minute"
    push_job, poll_job = rows[("live-progress", "push")], rows[("live-progress", "poll")]
    assert push_job["polls_per_interaction"] == 0 and push_job["requests_per_interaction"] == 0
    assert poll_job["polls_per_interaction"] >= 1 and poll_job["requests_per_interaction"] >= 2
    assert push_job["errors"] == 0 and poll_job["errors"] == 0
    assert push_job["frames_per_interaction"] >= 4, "one frame or more per step"
    targets = report["targets"]
    assert targets["push_p95_ms"] == rows[("live-shared", "push")]["propagation_ms_p95"]
    for name in ("report.csv", "report.html"):
        assert (out / name).stat().st_size > 0
    assert "propagation_ms_p95" in (out / "report.csv").read_text().splitlines()[0]
    assert "push against polling" in (out / "report.html").read_text()
