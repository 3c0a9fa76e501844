"""Scale-out and stampede: two gunicorn hosts on one Redis (plus a Celery worker), driven by the harness.

Each session's callbacks go round-robin over both hosts, as a load balancer without sticky
sessions would send them; isolation and single computation must still hold.
"""

from __future__ import annotations

import pytest

from bench.runner import RunConfig, Runner, Target


@pytest.fixture(scope="module")
def two_hosts(start_site, redis_url):
    # One secret for both hosts: a session id minted by one must validate on the other.
    # The stampede asks for row counts no page offers (cold values): a benchmark-only site allows them.
    first = start_site(redis_url=redis_url, secret="scale-out-secret", compute_delay=0.2, any_rows="on")
    second = start_site(redis_url=redis_url, secret="scale-out-secret", compute_delay=0.2, celery=False, any_rows="on")
    return [first.url, second.url]


def test_scale_out_keeps_isolation_and_single_computation(two_hosts):
    cfg = RunConfig(rows=[1000], sessions=4, rounds=2, strategies=["global-variable", "session-cache", "serverside", "cache-signal"])
    result = Runner(cfg, Target(two_hosts, backend="redis")).run()
    rows = {r["strategy"]: r for r in result["results"]}
    assert result["config"]["hosts"] == 2
    assert set(rows) == {"baseline-noop", "global-variable", "session-cache", "serverside", "cache-signal"}
    for strategy, r in rows.items():
        assert r["scenario"] == "scale-out" and r["errors"] == 0, (strategy, r["error_samples"])
        # both hosts answered, each with its own workers
        assert set(r["requests_per_host"]) == set(two_hosts), strategy
        assert all(len(pids) >= 1 for pids in r["requests_per_host"].values())
    assert rows["global-variable"]["stale_reads"] + rows["global-variable"]["leaks"] > 0
    for strategy in ("session-cache", "serverside", "cache-signal"):
        assert rows[strategy]["reads"] > 0 and rows[strategy]["stale_reads"] == 0 and rows[strategy]["leaks"] == 0, strategy
    # one Redis: every value computed at most once across both hosts (cache-signal: 4 regions at its fixed rows)
    assert rows["cache-signal"]["computations"] <= 4
    # serverside: the page load's value at 10,000 rows, the session's 1,000-row pick, then the 4 regions at most
    assert rows["serverside"]["computations"] <= 6


def test_stampede_computes_once_with_single_flight(two_hosts):
    cfg = RunConfig(rows=[20_000], sessions=8, rounds=2, scenario="stampede", strategies=["serverside", "cache-signal"])
    result = Runner(cfg, Target(two_hosts, backend="redis")).run()
    stampede = [r for r in result["results"] if r["scenario"] == "stampede"]
    serverside = [r for r in stampede if r["strategy"] == "serverside"]
    assert len(serverside) == 2  # one row per repetition, each with a new cold value
    for r in serverside:
        assert r["computations"] == 1, r
        assert r["interactions"] == 8 and r["errors"] == 0 and r["stale_reads"] == 0
    # cache-signal is reported beside it (how often depends on flask-caching and on whether earlier tests on this
    # Redis already cached its regions: it has no row count to make a value cold with).
    cache_signal = [r for r in stampede if r["strategy"] == "cache-signal"]
    assert cache_signal and all(r["computations"] is not None and r["interactions"] == 8 for r in cache_signal)
