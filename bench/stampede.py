"""The stampede scenario: N sessions ask for one cold value at the same moment; how often did the
expensive step run? (python -m bench --scenario stampede; the Runner runs its repetitions.)"""

from __future__ import annotations

import workload

from .dashclient import Page
from .session import RoundRecord, StepData, merge, reads
from .specs import Ctx, Spec

STAMPEDE_SESSIONS = 16


def cold_value(spec: Spec, base: int, rep: int, run_id: str) -> tuple[int, str | None] | None:
    """(rows, region) nobody asked for yet, for repetition `rep`; region None: the page's default.
    None when the spec has no cold value left (its row count is fixed and every region was used)."""
    if spec.takes_rows:
        # A row count no one asked for yet: cold in every cache and store.
        offset = 1 + rep + int(run_id, 16) % 997 * 8
        return (base + offset if base + offset <= workload.MAX_ROWS else base - offset), None
    cold = [r for r in workload.REGIONS if r != workload.REGIONS[0]]
    if rep >= len(cold):
        return None
    return spec.effective_rows(base), cold[rep]


def ask_at_once(page: Page, step: StepData, session: int, rows: int, region: str | None) -> RoundRecord:
    """This session's part of the stampede: the spec's stampede acts, sent when every session is ready."""
    spec = step.spec
    region = region or page.get(spec.cid("region"), "value")
    ctx = Ctx(session, 0, rows, region, "", page)
    parts = [page.set_props([(spec.cid(a.name), a.prop, a.value(ctx) if callable(a.value) else a.value)]) for a in spec.stampede]
    expected = (region, spec.effective_rows(rows))
    step.written.setdefault(session, set()).add(expected)
    checks = [(expected, got) for _value, got in reads(page, spec, ctx, step.candidates)]
    return RoundRecord(session, 0, merge(parts), checks)
