"""A record from its data file: strategies/records/<module>.toml holds every text and plain value of a
strategy, strategies/<module>.py only what must be code, and `record` joins the two.

Texts stay whole strings in the data file, never assembled in code, so that a translation step can read
them there. A guide figure worded from measurements is a text with {name} fields; the record module
gives, per guide rank, the function that measures those names (Figure).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

from . import Figure, Guide, Strategy
from .spec import spec_from_data

RECORDS = Path(__file__).with_name("records")
# Keys a data file may hold besides the Strategy's own fields: a typo fails loudly instead of vanishing.
_TABLES = {"spec", "guide"}


def path_of(module: str) -> Path:
    """strategies.<module> -> strategies/records/<module>.toml"""
    return RECORDS / f"{module.rsplit('.', 1)[-1]}.toml"


def record(module: str, *, spec: dict | None = None, figures: dict[int, Callable] | None = None) -> Strategy:
    """The Strategy of `module` (pass __name__): its data file, plus `spec`, the Spec fields only code can say,
    and `figures`, rank -> g -> {name: words} for the guide rows whose figure has {name} fields."""
    data = tomllib.loads(path_of(module).read_text(encoding="utf-8"))
    unknown = sorted(set(data) - _TABLES - set(Strategy.__dataclass_fields__))
    if unknown:
        raise ValueError(f"{path_of(module).name}: unknown keys {unknown}")
    slug = data["slug"]
    spec_data = data.pop("spec", None)
    built = None if spec_data is None and spec is None else spec_from_data(slug, spec_data or {}, spec or {})
    guide = _guide(slug, data.pop("guide", []), dict(figures or {}))
    return Strategy(**data, spec=built, guide=guide)


def _guide(slug: str, rows: list[dict], figures: dict) -> tuple[Guide, ...]:
    out = []
    for row in rows:
        values = figures.pop(row["rank"], None)
        figure = row.get("figure")
        out.append(Guide(**{**row, "figure": Figure(figure, values) if values else figure}))
    if figures:
        raise ValueError(f"strategy {slug!r}: figures for guide ranks {sorted(figures)} it has no row for")
    return tuple(out)
