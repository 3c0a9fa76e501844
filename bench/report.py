"""Write a benchmark report: report.json (the data), report.csv (one row per result) and
report.html (one self-contained file: plotly.js inlined, the table, the charts, a verdict
per strategy derived from the numbers)."""

from __future__ import annotations

import csv
import html
import io
import json
from pathlib import Path

import plotly.io as pio

from . import SCHEMA, charts
from .metrics import FIELDS


class ReportError(ValueError):
    """A file that is not a benchmark report this version can read."""


# --------------------------------------------------------------------------- JSON and CSV


def to_json(report: dict) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False)


def load(path: Path | str) -> dict:
    report = json.loads(Path(path).read_text())
    check(report)
    return report


def check(report) -> dict:
    if not isinstance(report, dict) or report.get("schema") != SCHEMA:
        raise ReportError(f"not a {SCHEMA} report (schema {report.get('schema') if isinstance(report, dict) else None!r})")
    if not isinstance(report.get("results"), list) or not isinstance(report.get("config"), dict):
        raise ReportError("a report needs a 'config' object and a 'results' list")
    return report


def csv_columns(results: list[dict]) -> list[str]:
    extra = sorted({k for r in results for k in r} - set(FIELDS))
    return FIELDS + extra


def to_csv(report: dict) -> str:
    results = report["results"]
    if report.get("memory"):  # the load scenario: its memory readings follow as rows of kind "memory"
        from .load import memory_rows

        results = results + memory_rows(report)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=csv_columns(results), lineterminator="\n")
    writer.writeheader()
    for r in results:
        writer.writerow({k: json.dumps(v, separators=(",", ":")) if isinstance(v, (dict, list)) else ("" if v is None else v)
                         for k, v in r.items()})
    return out.getvalue()


# --------------------------------------------------------------------------- verdicts


def human_bytes(n) -> str:
    if n is None:
        return "–"
    n = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def _bytes(r: dict) -> int:
    return (r.get("request_bytes") or 0) + (r.get("response_bytes") or 0)


def verdicts(report: dict) -> dict[str, list[str]]:
    """A few plain sentences per strategy, each backed by a number in the report."""
    results = charts.standard(report["results"])
    floor = {r["rows"]: r["latency_ms_p50"] for r in results if r["strategy"] == "baseline-noop" and r["latency_ms_p50"]}
    out: dict[str, list[str]] = {}
    for strategy in charts.strategies_in(results):
        part = sorted((r for r in results if r["strategy"] == strategy), key=lambda r: r["rows"])
        lines: list[str] = []
        reads = sum(r.get("reads") or 0 for r in part)
        stale = sum(r.get("stale_reads") or 0 for r in part)
        leaks = sum(r.get("leaks") or 0 for r in part)
        if stale or leaks:
            lines.append(f"Unsafe: {stale} of {reads} reads were not the session's own last value"
                         + (f", and {leaks} showed another session's value." if leaks else "."))
        elif reads:
            lines.append(f"Correct: all {reads} reads returned the session's own value.")
        small, large = part[0], part[-1]
        if all(not r.get("interactions") for r in part):
            lines.append("No interaction could be measured (see errors).")
        elif _bytes(small) == 0 and _bytes(large) == 0:
            lines.append("No request per interaction: it runs in the browser after the first load.")
        elif len(part) > 1 and _bytes(small):
            ratio = _bytes(large) / _bytes(small)
            growth = large["rows"] / small["rows"]
            if ratio >= max(2.0, growth ** 0.5):
                lines.append(f"Payload grows with the data: {human_bytes(_bytes(small))} at {small['rows']:,} rows, "
                             f"{human_bytes(_bytes(large))} at {large['rows']:,} (×{ratio:,.1f}).")
            else:
                lines.append(f"Flat payload: {human_bytes(_bytes(small))} → {human_bytes(_bytes(large))} per interaction "
                             f"while the data grew ×{growth:,.0f}.")
        else:
            lines.append(f"{human_bytes(_bytes(large))} per interaction at {large['rows']:,} rows.")
        computations = [r.get("computations") for r in part if r.get("computations") is not None]
        interactions = sum(r.get("interactions") or 0 for r in part)
        if computations and interactions:
            total = sum(computations)
            hit = [r.get("cache_hit_rate") for r in part if r.get("cache_hit_rate") is not None]
            hits = f", cache hit rate {sum(hit) / len(hit):.0%}" if hit else ""
            if total:
                lines.append(f"The expensive step ran {total} times for {interactions} interactions{hits}.")
            elif strategy != "baseline-noop":
                lines.append(f"The expensive step never ran during the measured interactions{hits}.")
        p50 = large.get("latency_ms_p50")
        if p50 is not None and strategy != "baseline-noop" and floor.get(large["rows"]):
            lines.append(f"p50 {p50:,.0f} ms at {large['rows']:,} rows: {p50 / floor[large['rows']]:,.1f}× the no-op floor.")
        elif p50 is not None and strategy == "baseline-noop":
            lines.append(f"The floor: p50 {p50:,.0f} ms for a callback that does nothing.")
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
        out[strategy] = lines
    return out


def stampede_lines(report: dict) -> list[str]:
    rows = [r for r in report["results"] if r.get("scenario") == "stampede"]
    lines = []
    for strategy in charts.strategies_in(rows):
        counts = [r["computations"] for r in rows if r["strategy"] == strategy]
        line = (f"{strategy}: the expensive step ran {', '.join('unknown' if c is None else str(c) for c in counts)} time(s) "
                f"over {len(counts)} repetition(s) of {rows[0]['sessions']} sessions asking at once.")
        if 0 in counts:
            line += " A 0 means the value was already cached when the sessions asked: not a cold start."
        lines.append(line)
    return lines


# --------------------------------------------------------------------------- issue targets


def _find(results: list[dict], strategy: str, rows: int, scenario: str = "standard") -> dict | None:
    for r in results:
        if r["strategy"] == strategy and r["rows"] == rows and r.get("scenario", "standard") in (scenario, "scale-out"):
            return r
    return None


def targets(report: dict) -> list[dict]:
    """The serverside targets as ratios from this run; "not measured" when the run lacks the rows they need."""
    results = report["results"]
    out = []

    def add(name: str, limit: str, ratio, bound: float, detail: str):
        out.append({"target": name, "limit": limit, "ratio": None if ratio is None else round(ratio, 4),
                    "met": None if ratio is None else ratio <= bound, "detail": detail})

    small, big = _find(results, "serverside", 1_000), _find(results, "serverside", 1_000_000)
    ratio = _bytes(big) / _bytes(small) if small and big and _bytes(small) else None
    add("serverside bytes per interaction, 1,000,000 vs 1,000 rows", "≤ 1.1", ratio, 1.1,
        f"{_bytes(big):,} B vs {_bytes(small):,} B" if ratio is not None else "needs --rows 1000,1000000")
    mine, store = _find(results, "serverside", 100_000), _find(results, "browser-store", 100_000)
    ratio = _bytes(mine) / _bytes(store) if mine and store and _bytes(store) else None
    add("serverside vs browser-store bytes per interaction at 100,000 rows", "≤ 0.01", ratio, 0.01,
        f"{_bytes(mine):,} B vs {_bytes(store):,} B" if ratio is not None else "needs --rows including 100000")
    peer = _find(results, "peer-dash-extensions", 1_000_000)
    ok = big and peer and big.get("consumer_ms_p50") and peer.get("consumer_ms_p50")
    ratio = big["consumer_ms_p50"] / peer["consumer_ms_p50"] if ok else None
    add("serverside vs peer consumer p50 at 1,000,000 rows", "≤ 0.5", ratio, 0.5,
        f"{big['consumer_ms_p50']:,.1f} ms vs {peer['consumer_ms_p50']:,.1f} ms" if ok else "needs --rows 1000000 and the peer")
    floor = _find(results, "baseline-noop", 1_000_000)
    ok = big and floor and big.get("consumer_ms_p50") and floor.get("latency_ms_p50")
    ratio = big["consumer_ms_p50"] / floor["latency_ms_p50"] if ok else None
    add("serverside consumer p50 vs the no-op floor at 1,000,000 rows", "≤ 2", ratio, 2.0,
        f"{big['consumer_ms_p50']:,.1f} ms vs {floor['latency_ms_p50']:,.1f} ms" if ok else "needs --rows 1000000")
    runs = [r["computations"] for r in results if r["strategy"] == "serverside" and r.get("scenario") == "stampede"]
    met = all(c == 1 for c in runs) if runs else None
    out.append({"target": "stampede: serverside computes exactly once per cold value", "limit": "1 every repetition",
                "ratio": None, "met": met, "detail": f"computations per repetition: {runs}" if runs else "needs --scenario stampede"})
    return out


# --------------------------------------------------------------------------- HTML

TABLE_COLUMNS = [
    ("strategy", "strategy"), ("rows", "rows"), ("latency_ms_p50", "p50 ms"), ("latency_ms_p95", "p95 ms"),
    ("request_bytes", "up B"), ("response_bytes", "down B"), ("workers_hit", "workers"), ("computations", "computed"),
    ("cache_hit_rate", "hit rate"), ("stale_reads", "stale"), ("leaks", "leaks"), ("server_bytes", "server B"),
    ("browser_bytes", "browser B"), ("errors", "errors"),
]


def cell(key: str, value) -> str:
    if value is None:
        return "–"
    if key == "cache_hit_rate":
        return f"{value:.0%}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table_rows(results: list[dict]) -> list[dict]:
    """Rows for a table: the listed columns, plus the scenario when it is not the standard one."""
    out = []
    for r in results:
        row = {k: r.get(k) for k, _ in TABLE_COLUMNS}
        if r.get("kind") == "peer":
            row["strategy"] = f"{r['strategy']} (peer)"
        if r.get("scenario") not in (None, "standard"):
            row["strategy"] = f"{row['strategy']} [{r['scenario']}]"
        out.append(row)
    return out


def _table_html(results: list[dict]) -> str:
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in TABLE_COLUMNS)
    body = []
    for r, row in zip(results, table_rows(results), strict=True):
        bad = (r.get("stale_reads") or 0) + (r.get("leaks") or 0)
        cls = ' class="bad"' if bad else (' class="floor"' if r.get("kind") == "baseline" else "")
        body.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(cell(k, row[k]))}</td>" for k, _ in TABLE_COLUMNS) + "</tr>")
    return f'<table class="results"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f6f7fb;color:#1c2333}
main{max-width:1180px;margin:0 auto;padding:28px 24px 60px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:34px 0 10px}
.meta{color:#5b6475;font-size:13px;margin-bottom:18px}.meta code{background:#eef1f7;padding:1px 5px;border-radius:4px}
.card{background:#fff;border:1px solid #e3e6ee;border-radius:10px;padding:14px 16px;margin-bottom:16px}
table.results{border-collapse:collapse;width:100%;font-size:12.5px;background:#fff}
table.results th,table.results td{padding:5px 8px;border-bottom:1px solid #edf0f5;text-align:right;white-space:nowrap}
table.results th:first-child,table.results td:first-child{text-align:left}
table.results thead th{background:#f0f3f9;position:sticky;top:0}
tr.bad td{background:#fff1f1;color:#9b1c1c}tr.floor td{color:#5b6475;font-style:italic}
.verdicts{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:12px}
.verdict h3{font-size:15px;margin:0 0 6px}.verdict ul{margin:0;padding-left:18px;font-size:13px;line-height:1.45}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}@media(max-width:900px){.grid{grid-template-columns:1fr}}
.skipped{font-size:13px;color:#5b6475}
"""


def _target_row(t: dict) -> str:
    measured = "–" if t["ratio"] is None else f"{t['ratio']:.4g}"
    verdict = "not measured" if t["met"] is None else ("met" if t["met"] else "missed")
    cells = (t["target"], t["limit"], measured, verdict, t["detail"])
    return "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>"


GROWTH = ("growth-bytes", "growth-latency", "growth-server", "growth-browser")


def _has_data(name: str, results: list[dict]) -> bool:
    """Whether a chart would show anything: the report leaves out the ones that would be empty."""
    standard = charts.standard(results)
    if name in GROWTH:
        return len(charts.rows_in(standard)) > 1
    if name == "latency":
        return any(r.get("latency_ms_p50") is not None for r in standard)
    if name in ("bytes", "workers"):
        return bool(standard)
    return True


def _known(value, unit: str = "") -> str:
    return "unknown" if value in (None, "", "?") else f"{value}{unit}"


def _workers(cfg: dict) -> str:
    if cfg.get("workers"):
        return f"{cfg['workers']} workers"
    if cfg.get("workers_observed"):
        return f"{cfg['workers_observed']} workers seen"
    return "workers unknown"


def _section(title: str, charts_html: dict, names: tuple, grid: bool = False, empty: str = "") -> str:
    shown = [f'<div class="card">{charts_html[n]}</div>' for n in names if n in charts_html]
    if not shown:
        return f"<h2>{html.escape(title)}</h2><p class=\"meta\">{html.escape(empty)}</p>" if empty else ""
    body = "".join(shown)
    return f"<h2>{html.escape(title)}</h2>" + (f'<div class="grid">{body}</div>' if grid else body)


def to_html(report: dict) -> str:
    """One file, no network needed: plotly.js is inlined once, before the first chart."""
    cfg, results = report["config"], report["results"]
    if cfg.get("scenario") == "load":
        from .load import to_html as load_html

        return load_html(report)
    figures = {name: fig for name, fig in charts.all_figures(results).items() if _has_data(name, results)}
    parts = []
    first = True  # plotly.js goes in once, with the first chart actually shown
    for name, fig in figures.items():
        parts.append((name, pio.to_html(fig, include_plotlyjs=first, full_html=False, config={"displaylogo": False, "responsive": True},
                                        div_id=f"chart-{name}")))
        first = False
    charts_html = dict(parts)
    verdict_html = "".join(
        f'<div class="card verdict"><h3>{html.escape(s)}</h3><ul>{"".join(f"<li>{html.escape(x)}</li>" for x in lines)}</ul></div>'
        for s, lines in verdicts(report).items()
    )
    skipped = cfg.get("skipped") or {}
    skipped_html = (
        '<p class="skipped">Not measured: ' + "; ".join(f"{html.escape(k)} — {html.escape(v)}" for k, v in skipped.items()) + "</p>"
        if skipped else ""
    )
    target_rows = "".join(_target_row(t) for t in targets(report))
    targets_html = ('<h2>Targets (serverside)</h2><div class="card"><table class="results"><thead><tr><th>target</th><th>limit</th>'
                    f"<th>measured</th><th>verdict</th><th>from</th></tr></thead><tbody>{target_rows}</tbody></table></div>")
    stampede_html = ""
    if "stampede" in charts_html:
        stampede_html = ("<h2>Stampede</h2><div class=\"card\">" + charts_html.pop("stampede")
                         + "<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in stampede_lines(report)) + "</ul></div>")
    machine = cfg.get("machine") or {}
    standard_rows = charts.standard(results)
    meta = (
        f"{len(results)} results · rows {', '.join(f'{n:,}' for n in cfg.get('rows', []))} · {cfg.get('sessions')} sessions × "
        f"{cfg.get('rounds')} rounds · {_workers(cfg)} × {cfg.get('hosts', 1)} host(s) · "
        f"backend <code>{html.escape(str(cfg.get('backend')))}</code> · scenario <code>{html.escape(str(cfg.get('scenario')))}</code> · "
        f"compute delay {_known(cfg.get('compute_delay'), ' s')} · dash {html.escape(_known(cfg.get('dash_version')))} · "
        f"{html.escape(_known(machine.get('cpus')))} CPUs, Python {html.escape(_known(machine.get('python')))} · "
        f"{html.escape(_known(report.get('created')))} · took {_known(report.get('seconds'), ' s')}"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dash State Lab benchmark</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>
<body><main>
<h1>Dash State Lab — benchmark report</h1>
<div class="meta">{meta}</div>
{skipped_html}
<h2>Side by side</h2>
<div class="card" style="overflow-x:auto">{_table_html(results)}</div>
<h2>What the numbers say</h2>
<div class="verdicts">{verdict_html}</div>
{_section("Latency and bytes", charts_html, ("latency", "bytes"))}
{_section("Growth with the data", charts_html, GROWTH, grid=True,
          empty="Growth curves need at least two row counts: this run measured one." if standard_rows else "")}
{_section("Worker hits", charts_html, ("workers",))}
{stampede_html}
{targets_html}
<p class="meta">Schema <code>{html.escape(report.get('schema', ''))}</code>. Every field is documented in the README (Benchmark).</p>
</main></body></html>
"""


def write(report: dict, out: Path | str) -> dict[str, Path]:
    """DIR/report.json, report.csv, report.html; the paths written."""
    check(report)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "csv": out / "report.csv", "html": out / "report.html"}
    paths["json"].write_text(to_json(report))
    paths["csv"].write_text(to_csv(report))
    paths["html"].write_text(to_html(report))
    return paths
