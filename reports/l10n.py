"""The HTML reports' numbers and verdict words in the language being written (i18n: a Flask request's, else
`i18n.speaking`'s). The digits are reports.fmt's, rounded by Python first: in English every function here writes
exactly what its reports.fmt (or f-string) twin writes; another locale only changes the symbols."""

from __future__ import annotations

import decimal

import i18n
from i18n import N_, _, gettext

from .fmt import DASH

MISSED = N_("missed")


def fixed(value, digits: int = 1) -> str:
    """`value` with `digits` decimals and thousands separators (f"{value:,.{digits}f}")."""
    if value is None:
        return DASH
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return i18n.format_decimal(decimal.Decimal(f"{value:.{digits}f}"), pattern)


def number(value) -> str:
    """A measured value as reports.fmt.number writes it: floats with one decimal, whole numbers grouped."""
    if value is None:
        return DASH
    if isinstance(value, float):
        return fixed(value, 1)
    if isinstance(value, int):
        return fixed(value, 0)
    return str(value)


def general(value, digits: int = 6) -> str:
    """`value` as f"{value:.{digits}g}" writes it (no exponent kept as is), grouped: limits, seconds, ratios."""
    if value is None:
        return DASH
    text = f"{value:.{digits}g}"
    if "e" in text or "n" in text:  # 1e-05, inf, nan: as Python writes them
        return text
    return i18n.format_decimal(decimal.Decimal(text), "#,##0.###############")


def percent(fraction, digits: int = 0) -> str:
    """A fraction as a percentage (f"{fraction:.0%}")."""
    if fraction is None:
        return DASH
    rounded = decimal.Decimal(f"{fraction * 100:.{digits}f}") / 100
    return i18n.format_percent(rounded, "#,##0" + ("." + "0" * digits if digits else "") + "%")


def size(n) -> str:
    """Bytes for people (reports.fmt.human_bytes)."""
    return i18n.format_bytes(n)


def times(ratio) -> str:
    """A ratio with one decimal and ×."""
    return DASH if ratio is None else f"{fixed(ratio, 1)}×"


def verdict(met, missed: str = MISSED) -> str:
    """A target's verdict word (reports.fmt.target_verdict): met, `missed` (a N_-marked message) or not measured."""
    return _("not measured") if met is None else (_("met") if met else gettext(missed))
