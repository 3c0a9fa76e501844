"""The shared workload every strategy runs, so their numbers are comparable.

A deterministic synthetic dataset (fruit sales, as in the seeds' examples), an
expensive step (real pandas work plus a simulated delay, like the seeds'
time.sleep(5)), and the small derived views the consumer outputs show.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from functools import lru_cache

import numpy as np
import pandas as pd

FRUITS = ("apples", "oranges", "figs", "pears", "plums", "kiwis")
# The input a user picks; sessions choose among these values.
REGIONS = ("north", "south", "east", "west")
ROW_CHOICES = (1_000, 10_000, 100_000)
DEFAULT_ROWS = 10_000
# A ceiling on the simulated delay for the current request, set only for the benchmark page's own
# signed requests (runtime/bench_pass.py): its runs use the CLI's delay, never a longer one.
DELAY_CAP: ContextVar[float | None] = ContextVar("statelab_delay_cap", default=None)
MAX_ROWS = 1_000_000


class WorkloadError(ValueError):
    """An input the workload does not accept."""


def check_rows(rows) -> int:
    try:
        rows = int(rows)
    except (TypeError, ValueError):
        raise WorkloadError(f"row count must be a whole number, got {rows!r}") from None
    if not 1 <= rows <= MAX_ROWS:
        raise WorkloadError(f"row count must be between 1 and {MAX_ROWS:,}, got {rows:,}")
    return rows


def check_region(region) -> str:
    if region not in REGIONS:
        raise WorkloadError(f"region must be one of {', '.join(REGIONS)}, got {region!r}")
    return region


@lru_cache(maxsize=4)
def dataset(rows: int, seed: int = 7) -> pd.DataFrame:
    """The raw data: the same rows for the same (rows, seed) in every process."""
    rows = check_rows(rows)
    rng = np.random.default_rng(seed)
    x = rng.normal(50, 15, rows).round(3)
    return pd.DataFrame(
        {
            "fruit": rng.choice(FRUITS, rows),
            "region": rng.choice(REGIONS, rows),
            "x": x,
            "y": (x * 1.8 + rng.normal(0, 12, rows)).round(3),
            "amount": rng.integers(1, 100, rows),
            "price": rng.gamma(2.0, 1.5, rows).round(2),
        }
    )


def expensive_step(rows: int, region: str, delay: float = 0.0) -> pd.DataFrame:
    """Clean and enrich one region's rows; `delay` seconds stand for a slow query."""
    region = check_region(region)
    df = dataset(rows)
    cleaned = df[df["region"] == region].drop(columns="region")
    cleaned = cleaned.assign(revenue=(cleaned["amount"] * cleaned["price"]).round(2))
    cleaned = cleaned.sort_values("x", kind="stable").reset_index(drop=True)
    cap = DELAY_CAP.get()
    delay = delay if cap is None else min(delay, cap)
    if delay > 0:
        time.sleep(delay)
    return cleaned


def summary(cleaned: pd.DataFrame) -> pd.DataFrame:
    """Per-fruit totals: what a table consumer shows."""
    grouped = cleaned.groupby("fruit", sort=True)
    out = grouped.agg(rows=("x", "size"), amount=("amount", "sum"), revenue=("revenue", "sum"), mean_x=("x", "mean"))
    return out.round(2).reset_index()


def binned(cleaned: pd.DataFrame, fruit: str, bins: int = 40) -> pd.DataFrame:
    """Mean y per x-bin for one fruit: the aggregate a line chart needs instead of every point."""
    part = cleaned[cleaned["fruit"] == fruit]
    if part.empty:
        return pd.DataFrame({"x": [], "y": [], "n": []})
    edges = np.linspace(0, 100, bins + 1)
    which = pd.cut(part["x"], edges, include_lowest=True)
    grouped = part.groupby(which, observed=True)["y"].agg(["mean", "size"])
    centers = [interval.mid for interval in grouped.index]
    return pd.DataFrame({"x": np.round(centers, 2), "y": grouped["mean"].round(3).to_numpy(), "n": grouped["size"].to_numpy()})
