"""What a report's numbers say: a few plain sentences per strategy, the stampede's lines, the serverside targets.

In the reader's language (i18n: the /benchmark page's request, or `python -m bench --lang`'s `speaking`). The
runner stores `targets` in report.json outside any language, so the file's are English; report.html computes its own."""

from __future__ import annotations

from i18n import _, ngettext

from .l10n import fixed, number, percent, size
from .rows import find, standard, strategies_in, wire_bytes

FLOOR = "baseline-noop"


def _reads(part: list[dict]) -> list[str]:
    reads = sum(r.get("reads") or 0 for r in part)
    stale = sum(r.get("stale_reads") or 0 for r in part)
    leaks = sum(r.get("leaks") or 0 for r in part)
    if leaks:
        return [_("Unsafe: %(stale)s of %(reads)s reads were not the session's own last value, and %(leaks)s showed "
                  "another session's value.", stale=number(stale), reads=number(reads), leaks=number(leaks))]
    if stale:
        return [_("Unsafe: %(stale)s of %(reads)s reads were not the session's own last value.",
                  stale=number(stale), reads=number(reads))]
    return [_("Correct: all %(reads)s reads returned the session's own value.", reads=number(reads))] if reads else []


def _payload(part: list[dict]) -> str:
    small, large = part[0], part[-1]
    if all(not r.get("interactions") for r in part):
        return _("No interaction could be measured (see errors).")
    if wire_bytes(small) == 0 and wire_bytes(large) == 0:
        return _("No request per interaction: it runs in the browser after the first load.")
    if len(part) > 1 and wire_bytes(small):
        ratio = wire_bytes(large) / wire_bytes(small)
        growth = large["rows"] / small["rows"]
        if ratio >= max(2.0, growth ** 0.5):
            return _("Payload grows with the data: %(small)s at %(small_rows)s rows, %(large)s at %(large_rows)s (×%(ratio)s).",
                     small=size(wire_bytes(small)), small_rows=number(small["rows"]), large=size(wire_bytes(large)),
                     large_rows=number(large["rows"]), ratio=fixed(ratio, 1))
        return _("Flat payload: %(small)s → %(large)s per interaction while the data grew ×%(growth)s.",
                 small=size(wire_bytes(small)), large=size(wire_bytes(large)), growth=fixed(growth, 0))
    return _("%(bytes)s per interaction at %(rows)s rows.", bytes=size(wire_bytes(large)), rows=number(large["rows"]))


def _computations(strategy: str, part: list[dict]) -> list[str]:
    computations = [r.get("computations") for r in part if r.get("computations") is not None]
    interactions = sum(r.get("interactions") or 0 for r in part)
    if not (computations and interactions):
        return []
    total = sum(computations)
    hit = [r.get("cache_hit_rate") for r in part if r.get("cache_hit_rate") is not None]
    rate = percent(sum(hit) / len(hit)) if hit else None
    if total:
        if rate is None:
            return [ngettext("The expensive step ran %(num)d time for %(interactions)s interactions.",
                             "The expensive step ran %(num)d times for %(interactions)s interactions.",
                             total, interactions=number(interactions))]
        return [ngettext("The expensive step ran %(num)d time for %(interactions)s interactions, cache hit rate %(rate)s.",
                         "The expensive step ran %(num)d times for %(interactions)s interactions, cache hit rate %(rate)s.",
                         total, interactions=number(interactions), rate=rate)]
    if strategy != FLOOR:
        if rate is None:
            return [_("The expensive step never ran during the measured interactions.")]
        return [_("The expensive step never ran during the measured interactions, cache hit rate %(rate)s.", rate=rate)]
    return []


def _latency(strategy: str, large: dict, floor: dict) -> list[str]:
    p50 = large.get("latency_ms_p50")
    if p50 is not None and strategy != FLOOR and floor.get(large["rows"]):
        return [_("p50 %(p50)s ms at %(rows)s rows: %(factor)s× the no-op floor.", p50=fixed(p50, 0),
                  rows=number(large["rows"]), factor=fixed(p50 / floor[large["rows"]], 1))]
    if p50 is not None and strategy == FLOOR:
        return [_("The floor: p50 %(p50)s ms for a callback that does nothing.", p50=fixed(p50, 0))]
    return []


def _held_and_errors(part: list[dict]) -> list[str]:
    large = part[-1]
    lines = []
    if large.get("browser_bytes"):
        lines.append(_("Each browser holds %(bytes)s.", bytes=size(large["browser_bytes"])))
    if large.get("server_bytes"):
        lines.append(_("The server holds %(bytes)s after the run.", bytes=size(large["server_bytes"])))
    workers = max((r.get("workers_hit") or 0) for r in part)
    if workers:
        lines.append(ngettext("%(num)d worker answered.", "%(num)d workers answered.", workers))
    errors = sum(r.get("errors") or 0 for r in part)
    if errors:
        # The samples are the run's own words (report.json), as the harness recorded them.
        samples = "; ".join(e for r in part for e in r.get("error_samples", []))[:240]
        lines.append(ngettext("%(num)d error: %(samples)s", "%(num)d errors: %(samples)s", errors, samples=samples))
    return lines


def verdicts(report: dict) -> dict[str, list[str]]:
    """A few plain sentences per strategy, each backed by a number in the report."""
    results = standard(report["results"])
    floor = {r["rows"]: r["latency_ms_p50"] for r in results if r["strategy"] == FLOOR and r["latency_ms_p50"]}
    out: dict[str, list[str]] = {}
    for strategy in strategies_in(results):
        part = sorted((r for r in results if r["strategy"] == strategy), key=lambda r: r["rows"])
        out[strategy] = [*_reads(part), _payload(part), *_computations(strategy, part),
                         *_latency(strategy, part[-1], floor), *_held_and_errors(part)]
    return out


def stampede_lines(report: dict) -> list[str]:
    rows = [r for r in report["results"] if r.get("scenario") == "stampede"]
    lines = []
    for strategy in strategies_in(rows):
        counts = [r["computations"] for r in rows if r["strategy"] == strategy]
        line = _("%(strategy)s: the expensive step ran %(counts)s time(s) over %(repetitions)s repetition(s) of "
                 "%(sessions)s sessions asking at once.", strategy=strategy,
                 counts=", ".join(_("unknown") if c is None else number(c) for c in counts),
                 repetitions=number(len(counts)), sessions=number(rows[0]["sessions"]))
        if 0 in counts:
            line += " " + _("A 0 means the value was already cached when the sessions asked: not a cold start.")
        lines.append(line)
    return lines


def _ms_vs(a, b) -> str:
    return _("%(a)s ms vs %(b)s ms", a=fixed(a, 1), b=fixed(b, 1))


def targets(report: dict) -> list[dict]:
    """The serverside targets as ratios from this run; "not measured" when the run lacks the rows they need."""
    results = report["results"]
    out = []

    def add(name: str, limit: str, ratio, bound: float, detail: str):
        out.append({"target": name, "limit": limit, "ratio": None if ratio is None else round(ratio, 4),
                    "met": None if ratio is None else ratio <= bound, "detail": detail})

    small, big = find(results, "serverside", 1_000), find(results, "serverside", 1_000_000)
    ratio = wire_bytes(big) / wire_bytes(small) if small and big and wire_bytes(small) else None
    add(_("serverside bytes per interaction, 1,000,000 vs 1,000 rows"), "≤ 1.1", ratio, 1.1,
        _("%(a)s B vs %(b)s B", a=number(wire_bytes(big)), b=number(wire_bytes(small))) if ratio is not None
        else _("needs %(option)s", option="--rows 1000,1000000"))
    mine, store = find(results, "serverside", 100_000), find(results, "browser-store", 100_000)
    ratio = wire_bytes(mine) / wire_bytes(store) if mine and store and wire_bytes(store) else None
    add(_("serverside vs browser-store bytes per interaction at 100,000 rows"), "≤ 0.01", ratio, 0.01,
        _("%(a)s B vs %(b)s B", a=number(wire_bytes(mine)), b=number(wire_bytes(store))) if ratio is not None
        else _("needs --rows including 100000"))
    peer = find(results, "peer-dash-extensions", 1_000_000)
    ok = big and peer and big.get("consumer_ms_p50") and peer.get("consumer_ms_p50")
    ratio = big["consumer_ms_p50"] / peer["consumer_ms_p50"] if ok else None
    add(_("serverside vs peer consumer p50 at 1,000,000 rows"), "≤ 0.5", ratio, 0.5,
        _ms_vs(big["consumer_ms_p50"], peer["consumer_ms_p50"]) if ok else _("needs --rows 1000000 and the peer"))
    floor = find(results, FLOOR, 1_000_000)
    ok = big and floor and big.get("consumer_ms_p50") and floor.get("latency_ms_p50")
    ratio = big["consumer_ms_p50"] / floor["latency_ms_p50"] if ok else None
    add(_("serverside consumer p50 vs the no-op floor at 1,000,000 rows"), "≤ 2", ratio, 2.0,
        _ms_vs(big["consumer_ms_p50"], floor["latency_ms_p50"]) if ok else _("needs %(option)s", option="--rows 1000000"))
    runs = [r["computations"] for r in results if r["strategy"] == "serverside" and r.get("scenario") == "stampede"]
    met = all(c == 1 for c in runs) if runs else None
    out.append({"target": _("stampede: serverside computes exactly once per cold value"), "limit": _("1 every repetition"),
                "ratio": None, "met": met,
                "detail": _("computations per repetition: %(runs)s", runs=runs) if runs
                else _("needs %(option)s", option="--scenario stampede")})
    return out
