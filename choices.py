"""Check a value from the browser against what the page offers, and quote bad input briefly.

A dropdown offers four regions and three row counts; a hand-made request can send anything.
Computing whatever arrives turned `rows` from 1 to 1,000,000 into 10 MB answers and workers that
grew by hundreds of MB, and echoing it back turned a 16 MB list into an 18 MB reply. So every
value a page computes with is one of the options it shows, and every refusal quotes at most
QUOTE_LIMIT characters of what was sent.
"""

from __future__ import annotations

from collections.abc import Iterable

import stores
import workload

QUOTE_LIMIT = 200


class Refused(workload.WorkloadError):
    """A value the page does not offer. A WorkloadError, so every page already shows it as a message."""


def quote(value, limit: int = QUOTE_LIMIT) -> str:
    """repr(value), cut to about `limit` characters with the full size said, so an echo stays small."""
    if isinstance(value, str | bytes) and len(value) > 4 * limit:
        # repr of a huge string is built only to be cut: take a slice first.
        head = repr(value[: limit + 1])
        return f"{head[:limit]}… ({len(value):,} characters)"
    if isinstance(value, list | tuple | dict) and len(value) > limit:
        return f"a {type(value).__name__} of {len(value):,} items"
    try:
        text = repr(value)
    except (RecursionError, ValueError):  # deep nesting; ints past Python's digit limit
        return f"a {type(value).__name__} that cannot be shown"
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def _same(value, choice) -> bool:
    if isinstance(value, bool) or isinstance(choice, bool):
        return value is choice
    if isinstance(choice, int) and isinstance(value, str):
        # dbc.Select sends its values as text: "10000" is the offered 10,000.
        return value.strip() == str(choice)
    if isinstance(choice, int) and isinstance(value, float):
        return value == choice
    return type(value) is type(choice) and value == choice


def one_of(value, offered: Iterable, what: str):
    """The offered choice that `value` is; Refused, naming the options, otherwise."""
    offered = tuple(offered)
    for choice in offered:
        if _same(value, choice):
            return choice
    options = ", ".join(f"{c:,}" if isinstance(c, int) and not isinstance(c, bool) else str(c) for c in offered)
    raise Refused(f"{what} must be one of {options}; got {quote(value)}")


def rows(value, offered: Iterable[int] = workload.ROW_CHOICES) -> int:
    """A row count the page offers (workload.ROW_CHOICES unless the page offers others), or, on a site
    started with STATELAB_ANY_ROWS=on (the benchmark's own), any whole count the workload takes."""
    if _any_rows() and not isinstance(value, bool):
        try:
            count = int(value)
        except (TypeError, ValueError, OverflowError):
            raise Refused(f"rows must be a whole number; got {quote(value)}") from None
        if not 1 <= count <= workload.MAX_ROWS or count != value and str(value).strip() != str(count):
            raise Refused(f"rows must be a whole number from 1 to {workload.MAX_ROWS:,}; got {quote(value)}")
        return count
    return one_of(value, offered, "rows")


def _any_rows() -> bool:
    try:
        return stores.current().settings.any_rows == "on"
    except RuntimeError:  # no store layer configured (unit tests): the strict default
        return False


def region(value) -> str:
    return one_of(value, workload.REGIONS, "region")


def many_of(values, offered: Iterable, what: str, at_most: int | None = None) -> list:
    """A list of offered choices (a multi-select), each checked; at most `at_most` of them."""
    if not isinstance(values, list | tuple):
        raise Refused(f"{what} must be a list; got {quote(values)}")
    offered = tuple(offered)
    limit = len(offered) if at_most is None else at_most
    if len(values) > limit:
        raise Refused(f"{what}: at most {limit} may be chosen; got {len(values):,}")
    return [one_of(v, offered, what) for v in values]
