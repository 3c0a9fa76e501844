"""How the reports and the site write numbers: one byte formatter, one rounding rule."""

from __future__ import annotations

DASH = "–"


def human_bytes(n) -> str:
    """Bytes for people: whole bytes below 1 KB, then KB, MB, GB with one decimal (powers of 1024)."""
    if n is None:
        return DASH
    n = float(n)
    for unit in ("B", "KB", "MB"):
        if n < 1024:
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GB"


def number(value) -> str:
    """A measured value: floats with one decimal, whole numbers with thousands separators."""
    if value is None:
        return DASH
    return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"


def rounded(value, digits: int):
    """round() that lets None through (a value that was not measured)."""
    return None if value is None else round(value, digits)


def target_verdict(met, missed: str = "missed") -> str:
    """A target's verdict word: "met", `missed`, or "not measured" when the run lacked what it needs."""
    return "not measured" if met is None else ("met" if met else missed)
