"""python -m bench end to end: its own gunicorn (4 workers), a short sweep, the report's promises."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support import ROOT

STRATEGIES = "global-variable,hidden-div,cache-signal,session-cache,peer-dash-extensions"


def by(results, strategy, rows=None):
    found = [r for r in results if r["strategy"] == strategy and (rows is None or r["rows"] == rows)]
    assert found, f"no {strategy} row in the report"
    return found


def test_cli_short_sweep(tmp_path):
    out = tmp_path / "report"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--rows", "1000,5000", "--sessions", "4", "--rounds", "2", "--strategies", STRATEGIES,
         "--compute-delay", "0.1", "--out", str(out), "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=420,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "global-variable" in done.stdout and "report.html" in done.stdout

    report = json.loads((out / "report.json").read_text())
    assert report["schema"] == "statelab.bench/1"
    config, results = report["config"], report["results"]
    assert config["rows"] == [1000, 5000] and config["sessions"] == 4 and config["workers"] == 4
    assert config["backend"] == "embedded" and config["distinct_values"] == 4
    assert {r["strategy"] for r in results} == {"baseline-noop", *STRATEGIES.split(",")}
    assert all(r["errors"] == 0 for r in results), [r["error_samples"] for r in results if r["errors"]]

    # Isolation, judged from what each session read back.
    unsafe = by(results, "global-variable")
    assert sum(r["stale_reads"] + r["leaks"] for r in unsafe) > 0
    for r in results:
        if r["strategy"] != "global-variable":
            assert r["stale_reads"] == 0 and r["leaks"] == 0, r["strategy"]
            if r["strategy"] != "baseline-noop":
                assert r["reads"] > 0 and r["unverified_reads"] == 0, r["strategy"]

    # More than one worker answered; each request's pid came from X-Worker-PID.
    assert max(r["workers_hit"] or 0 for r in results) >= 2

    # cache-signal runs the expensive step at most once per distinct value, over every session and worker.
    assert sum(r["computations"] for r in by(results, "cache-signal")) <= config["distinct_values"]

    # What the browser carries up grows with the rows for the hidden div, not for server-side state.
    def up(strategy, rows):
        return by(results, strategy, rows)[0]["request_bytes"]

    assert up("hidden-div", 5000) > 3 * up("hidden-div", 1000)
    assert by(results, "hidden-div", 5000)[0]["browser_bytes"] > 3 * by(results, "hidden-div", 1000)[0]["browser_bytes"]
    for flat in ("session-cache", "cache-signal"):
        assert up(flat, 5000) < 1.1 * up(flat, 1000), flat

    # The peer is measured on its own server, labelled as a peer, with its computations counted.
    peer = by(results, "peer-dash-extensions")
    assert all(r["kind"] == "peer" and r["computations"] >= 1 and r["interactions"] > 0 for r in peer)

    assert (out / "report.csv").read_text().startswith("strategy,kind,scenario,rows,")
    assert "<table class=\"results\">" in (out / "report.html").read_text()
