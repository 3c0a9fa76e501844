"""What a report's numbers say: a few plain sentences per strategy, the stampede's lines, the serverside targets."""

from __future__ import annotations

from .fmt import human_bytes
from .rows import find, standard, strategies_in, wire_bytes

FLOOR = "baseline-noop"


def _reads(part: list[dict]) -> list[str]:
    reads = sum(r.get("reads") or 0 for r in part)
    stale = sum(r.get("stale_reads") or 0 for r in part)
    leaks = sum(r.get("leaks") or 0 for r in part)
    if stale or leaks:
        return [f"Unsafe: {stale} of {reads} reads were not the session's own last value"
                + (f", and {leaks} showed another session's value." if leaks else ".")]
    return [f"Correct: all {reads} reads returned the session's own value."] if reads else []


def _payload(part: list[dict]) -> str:
    small, large = part[0], part[-1]
    if all(not r.get("interactions") for r in part):
        return "No interaction could be measured (see errors)."
    if wire_bytes(small) == 0 and wire_bytes(large) == 0:
        return "No request per interaction: it runs in the browser after the first load."
    if len(part) > 1 and wire_bytes(small):
        ratio = wire_bytes(large) / wire_bytes(small)
        growth = large["rows"] / small["rows"]
        if ratio >= max(2.0, growth ** 0.5):
            return (f"Payload grows with the data: {human_bytes(wire_bytes(small))} at {small['rows']:,} rows, "
                    f"{human_bytes(wire_bytes(large))} at {large['rows']:,} (×{ratio:,.1f}).")
        return (f"Flat payload: {human_bytes(wire_bytes(small))} → {human_bytes(wire_bytes(large))} per interaction "
                f"while the data grew ×{growth:,.0f}.")
    return f"{human_bytes(wire_bytes(large))} per interaction at {large['rows']:,} rows."


def _computations(strategy: str, part: list[dict]) -> list[str]:
    computations = [r.get("computations") for r in part if r.get("computations") is not None]
    interactions = sum(r.get("interactions") or 0 for r in part)
    if not (computations and interactions):
        return []
    total = sum(computations)
    hit = [r.get("cache_hit_rate") for r in part if r.get("cache_hit_rate") is not None]
    hits = f", cache hit rate {sum(hit) / len(hit):.0%}" if hit else ""
    if total:
        return [f"The expensive step ran {total} times for {interactions} interactions{hits}."]
    if strategy != FLOOR:
        return [f"The expensive step never ran during the measured interactions{hits}."]
    return []


def _latency(strategy: str, large: dict, floor: dict) -> list[str]:
    p50 = large.get("latency_ms_p50")
    if p50 is not None and strategy != FLOOR and floor.get(large["rows"]):
        return [f"p50 {p50:,.0f} ms at {large['rows']:,} rows: {p50 / floor[large['rows']]:,.1f}× the no-op floor."]
    if p50 is not None and strategy == FLOOR:
        return [f"The floor: p50 {p50:,.0f} ms for a callback that does nothing."]
    return []


def _held_and_errors(part: list[dict]) -> list[str]:
    large = part[-1]
    lines = []
    if large.get("browser_bytes"):
        lines.append(f"Each browser holds {human_bytes(large['browser_bytes'])}.")
    if large.get("server_bytes"):
        lines.append(f"The server holds {human_bytes(large['server_bytes'])} after the run.")
    workers = max((r.get("workers_hit") or 0) for r in part)
    if workers:
        lines.append(f"{workers} worker(s) answered.")
    errors = sum(r.get("errors") or 0 for r in part)
    if errors:
        lines.append(f"{errors} error(s): {'; '.join(e for r in part for e in r.get('error_samples', []))[:240]}")
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
        line = (f"{strategy}: the expensive step ran {', '.join('unknown' if c is None else str(c) for c in counts)} time(s) "
                f"over {len(counts)} repetition(s) of {rows[0]['sessions']} sessions asking at once.")
        if 0 in counts:
            line += " A 0 means the value was already cached when the sessions asked: not a cold start."
        lines.append(line)
    return lines


def targets(report: dict) -> list[dict]:
    """The serverside targets as ratios from this run; "not measured" when the run lacks the rows they need."""
    results = report["results"]
    out = []

    def add(name: str, limit: str, ratio, bound: float, detail: str):
        out.append({"target": name, "limit": limit, "ratio": None if ratio is None else round(ratio, 4),
                    "met": None if ratio is None else ratio <= bound, "detail": detail})

    small, big = find(results, "serverside", 1_000), find(results, "serverside", 1_000_000)
    ratio = wire_bytes(big) / wire_bytes(small) if small and big and wire_bytes(small) else None
    add("serverside bytes per interaction, 1,000,000 vs 1,000 rows", "≤ 1.1", ratio, 1.1,
        f"{wire_bytes(big):,} B vs {wire_bytes(small):,} B" if ratio is not None else "needs --rows 1000,1000000")
    mine, store = find(results, "serverside", 100_000), find(results, "browser-store", 100_000)
    ratio = wire_bytes(mine) / wire_bytes(store) if mine and store and wire_bytes(store) else None
    add("serverside vs browser-store bytes per interaction at 100,000 rows", "≤ 0.01", ratio, 0.01,
        f"{wire_bytes(mine):,} B vs {wire_bytes(store):,} B" if ratio is not None else "needs --rows including 100000")
    peer = find(results, "peer-dash-extensions", 1_000_000)
    ok = big and peer and big.get("consumer_ms_p50") and peer.get("consumer_ms_p50")
    ratio = big["consumer_ms_p50"] / peer["consumer_ms_p50"] if ok else None
    add("serverside vs peer consumer p50 at 1,000,000 rows", "≤ 0.5", ratio, 0.5,
        f"{big['consumer_ms_p50']:,.1f} ms vs {peer['consumer_ms_p50']:,.1f} ms" if ok else "needs --rows 1000000 and the peer")
    floor = find(results, FLOOR, 1_000_000)
    ok = big and floor and big.get("consumer_ms_p50") and floor.get("latency_ms_p50")
    ratio = big["consumer_ms_p50"] / floor["latency_ms_p50"] if ok else None
    add("serverside consumer p50 vs the no-op floor at 1,000,000 rows", "≤ 2", ratio, 2.0,
        f"{big['consumer_ms_p50']:,.1f} ms vs {floor['latency_ms_p50']:,.1f} ms" if ok else "needs --rows 1000000")
    runs = [r["computations"] for r in results if r["strategy"] == "serverside" and r.get("scenario") == "stampede"]
    met = all(c == 1 for c in runs) if runs else None
    out.append({"target": "stampede: serverside computes exactly once per cold value", "limit": "1 every repetition",
                "ratio": None, "met": met, "detail": f"computations per repetition: {runs}" if runs else "needs --scenario stampede"})
    return out
