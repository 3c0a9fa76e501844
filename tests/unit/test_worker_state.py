"""The global-variable page's tally: what a tab's history, sent back by the browser, may hold and count."""

from __future__ import annotations

from components import worker_state


def _clicks(n: int) -> list[dict]:
    history: list[dict] = []
    for i in range(n):
        history = worker_state.append(history, worker_state.entry("read", f"v{i}", 100 + i % 4))
    return history


def test_the_click_count_goes_on_past_the_kept_history():
    history = _clicks(worker_state.HISTORY_LIMIT + 25)
    assert len(history) == worker_state.HISTORY_LIMIT
    assert worker_state.analyse(history)["clicks"] == worker_state.HISTORY_LIMIT + 25
    assert [h["n"] for h in history[-2:]] == [worker_state.HISTORY_LIMIT + 24, worker_state.HISTORY_LIMIT + 25]


def test_a_forged_count_is_dropped_with_its_entry():
    history = _clicks(3)
    forged = [*history, {**history[-1], "n": "many"}, {**history[-1], "n": 10**12}, {**history[-1], "n": True}]
    kept = worker_state.append(forged, worker_state.entry("read", "x", 1))
    assert [h["n"] for h in kept] == [1, 2, 3, 4]


def test_a_history_from_before_the_count_counts_its_entries():
    old = [{k: v for k, v in h.items() if k != "n"} for h in _clicks(5)]
    assert worker_state.analyse(old)["clicks"] == 5
    assert worker_state.append(old, worker_state.entry("set", "y", 1))[-1]["n"] == 6
