import pytest

import workload


def test_dataset_is_deterministic_and_sized():
    first = workload.dataset(5000)
    workload.dataset.cache_clear()
    second = workload.dataset(5000)
    assert len(first) == 5000
    assert first.equals(second)
    assert set(first["fruit"]) <= set(workload.FRUITS)


def test_expensive_step_filters_one_region_and_enriches():
    cleaned = workload.expensive_step(4000, "west")
    raw = workload.dataset(4000)
    assert len(cleaned) == (raw["region"] == "west").sum()
    assert "region" not in cleaned.columns
    assert (cleaned["revenue"] == (cleaned["amount"] * cleaned["price"]).round(2)).all()
    assert cleaned["x"].is_monotonic_increasing


def test_summary_and_binned_add_up():
    cleaned = workload.expensive_step(4000, "north")
    table = workload.summary(cleaned)
    assert table["rows"].sum() == len(cleaned)
    points = workload.binned(cleaned, "apples")
    assert points["n"].sum() == (cleaned["fruit"] == "apples").sum()


@pytest.mark.parametrize(("rows", "message"), [("many", "whole number"), (0, "between 1"), (10**9, "between 1")])
def test_bad_row_counts_are_explained(rows, message):
    with pytest.raises(workload.WorkloadError, match=message):
        workload.check_rows(rows)


def test_unknown_region_is_explained():
    with pytest.raises(workload.WorkloadError, match="region must be one of north"):
        workload.expensive_step(100, "../etc")
