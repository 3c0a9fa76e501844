"""The reports' charts, built from report rows; report.html and the /benchmark page show the same ones."""

from __future__ import annotations

import plotly.graph_objects as go

from i18n import _

from .l10n import general, number
from .rows import rows_in, standard, strategies_in, total_bytes
from .tables import peer_label

# Fourteen colours told apart on a projector (strategies keep their colour across charts).
PALETTE = ["#6c757d", "#d62728", "#ff7f0e", "#1f77b4", "#9467bd", "#2ca02c", "#17becf", "#8c564b", "#e377c2", "#111827",
           "#bcbd22", "#7f7f7f", "#f2b701", "#3d5a80"]
FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"


def style(fig: go.Figure, title: str, height: int = 360, legend: bool = True) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        title={"text": title, "x": 0.01, "font": {"size": 15}},
        height=height,
        margin={"l": 64, "r": 20, "t": 56, "b": 90},
        font={"family": FONT, "size": 12},
        showlegend=legend,
        legend={"orientation": "h", "y": -0.28, "x": 0},
        bargap=0.18,
    )
    return fig


def color_of(strategy: str, order: list[str]) -> str:
    return PALETTE[order.index(strategy) % len(PALETTE)] if strategy in order else PALETTE[-1]


def _label(r: dict) -> str:
    return peer_label(r["strategy"]) if r.get("kind") == "peer" else r["strategy"]


def empty(message: str, height: int = 300) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font={"size": 14, "color": "#6c757d"})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return style(fig, "", height, legend=False)


def _per_row_count(results: list[dict], bar) -> go.Figure | None:
    """One bar trace per row count (shaded light to dark); bar(part, n) gives the trace's own fields."""
    rows = standard(results)
    if not rows:
        return None
    fig = go.Figure()
    shades = _shades(len(rows_in(rows)))
    for shade, n in zip(shades, rows_in(rows), strict=True):
        part = [r for r in rows if r["rows"] == n]
        fig.add_bar(name=_("%(rows)s rows", rows=number(n)), x=[_label(r) for r in part], marker_color=shade, **bar(part, n))
    return fig


def latency_bars(results: list[dict]) -> go.Figure:
    """p50 per strategy (bars, one per row count) with a whisker up to p95."""
    fig = _per_row_count(results, lambda part, n: {
        "y": [r["latency_ms_p50"] for r in part],
        "error_y": {"type": "data", "symmetric": False, "array": [gap(r["latency_ms_p95"], r["latency_ms_p50"]) for r in part],
                    "arrayminus": [0] * len(part), "thickness": 1.2, "width": 3},
        "hovertemplate": "%{x}<br>p50 %{y:,.0f} ms<extra>" + _("%(rows)s rows", rows=number(n)) + "</extra>",
    })
    if fig is None:
        return empty(_("No latency measured"))
    fig.update_yaxes(title=_("ms (p50, whisker p95)"), rangemode="tozero")
    return style(fig, _("Latency per interaction"))


def bytes_bars(results: list[dict]) -> go.Figure:
    """Request + response bytes per interaction (log scale), one bar per row count."""
    fig = _per_row_count(results, lambda part, n: {
        "y": [total_bytes(r) for r in part],
        "customdata": [[r["request_bytes"] or 0, r["response_bytes"] or 0] for r in part],
        # Plotly's %{...} fields stay as they are in every language; the rows note is the hover's side box.
        "hovertemplate": _("%{x}<br>%{y:,.0f} B per interaction<br>up %{customdata[0]:,} B · down %{customdata[1]:,} B")
                         + "<extra>" + _("%(rows)s rows", rows=number(n)) + "</extra>",
    })
    if fig is None:
        return empty(_("No bytes measured"))
    fig.update_yaxes(title=_("bytes (up + down)"), type="log", dtick=1, exponentformat="SI")
    return style(fig, _("Bytes on the wire per interaction"))


def growth(results: list[dict], metric: str = "bytes") -> go.Figure:
    """How a metric grows with the row count, one line per strategy (log-log)."""
    rows = standard(results)
    order = strategies_in(rows)
    titles = {
        "bytes": (_("Payload growth: bytes per interaction"), _("bytes (up + down)")),
        "latency": (_("Latency growth: p50 per interaction"), _("ms (p50)")),
        "server": (_("Server bytes held after the run"), _("bytes on the server")),
        "browser": (_("Browser bytes held per session"), _("bytes in the browser")),
    }
    if len(rows_in(rows)) < 2:
        return empty(_("Growth needs at least two row counts (--rows a,b)"))
    fig = go.Figure()
    for strategy in order:
        part = sorted((r for r in rows if r["strategy"] == strategy), key=lambda r: r["rows"])
        ys = [_metric(r, metric) for r in part]
        if all(y in (None, 0) for y in ys):
            continue
        fig.add_scatter(
            name=_label(part[0]),
            x=[r["rows"] for r in part],
            y=[y if y else None for y in ys],
            mode="lines+markers",
            line={"color": color_of(strategy, order), "width": 2},
            marker={"size": 7},
            hovertemplate=_("%{x:,} rows: %{y:,.0f}") + "<extra>" + strategy + "</extra>",
        )
    fig.update_xaxes(title=_("rows in the dataset"), type="log", dtick=1, exponentformat="SI")
    fig.update_yaxes(title=titles[metric][1], type="log", dtick=1, exponentformat="SI")
    return style(fig, titles[metric][0])


def worker_distribution(results: list[dict]) -> go.Figure:
    """Share of each strategy's requests answered by each worker (all row counts together)."""
    rows = standard(results)
    if not rows:
        return empty(_("No requests recorded"))
    per: dict[str, dict[str, int]] = {}
    for r in rows:
        target = per.setdefault(_label(r), {})
        for host, pids in (r.get("requests_per_host") or {"": r.get("requests_per_worker") or {}}).items():
            for pid, n in pids.items():
                key = f"{_host(host)}pid {pid}" if len(r.get("requests_per_host") or {}) > 1 else f"pid {pid}"
                target[key] = target.get(key, 0) + n
    strategies = [s for s in per if per[s]]
    if not strategies:
        return empty(_("No requests recorded (clientside only)"))
    fig = go.Figure()
    most = max(len(v) for v in per.values())
    shades = ["#1d3557", "#457b9d", "#a8dadc", "#e63946", "#f4a261", "#2a9d8f", "#8d99ae", "#6d597a"]
    for rank in range(most):
        xs, ys, texts = [], [], []
        for s in strategies:
            ranked = sorted(per[s].items(), key=lambda kv: -kv[1])
            total = sum(per[s].values())
            if rank < len(ranked):
                xs.append(s)
                ys.append(100 * ranked[rank][1] / total)
                texts.append(_("%(worker)s: %(count)s of %(total)s requests", worker=ranked[rank][0], count=ranked[rank][1],
                               total=total))
        fig.add_bar(name=_("busiest #%(rank)s", rank=rank + 1) if rank < 4 else f"#{rank + 1}", x=xs, y=ys, hovertext=texts,
                    hoverinfo="text", marker_color=shades[rank % len(shades)])
    fig.update_layout(barmode="stack")
    # The % as a value: a bare "% o…" in a message would read as a printf placeholder to Babel's checks.
    fig.update_yaxes(title=_("%(percent)s of requests", percent="%"), range=[0, 100])
    return style(fig, _("Which workers answered (share of requests per worker)"))


def stampede(results: list[dict]) -> go.Figure:
    rows = [r for r in results if r.get("scenario") == "stampede"]
    if not rows:
        return empty(_("No stampede scenario in this run (python -m bench --scenario stampede)"))
    order = strategies_in(rows)
    fig = go.Figure()
    for strategy in order:
        part = [r for r in rows if r["strategy"] == strategy]
        fig.add_bar(name=_label(part[0]), x=[f"#{(r.get('repetition') or 0) + 1}" for r in part],
                    y=[r["computations"] for r in part], marker_color=color_of(strategy, order))
    fig.update_xaxes(title=_("repetition (a new cold value each time)"))
    fig.update_yaxes(title=_("times the expensive step ran"), rangemode="tozero", dtick=1)
    return style(fig, _("Stampede: sessions asking for one cold value at the same moment"))


def all_figures(results: list[dict]) -> dict[str, go.Figure]:
    figs = {
        "latency": latency_bars(results),
        "bytes": bytes_bars(results),
        "growth-bytes": growth(results, "bytes"),
        "growth-latency": growth(results, "latency"),
        "growth-server": growth(results, "server"),
        "growth-browser": growth(results, "browser"),
        "workers": worker_distribution(results),
    }
    if any(r.get("scenario") == "stampede" for r in results):
        figs["stampede"] = stampede(results)
    return figs


def _metric(r: dict, metric: str):
    return {"bytes": total_bytes(r), "latency": r.get("latency_ms_p50"), "server": r.get("server_bytes"),
            "browser": r.get("browser_bytes")}[metric]


def gap(high, low):
    return 0 if high is None or low is None else max(0.0, high - low)


def _host(url: str) -> str:
    return url.split("//")[-1] + " " if url else ""


def _shades(n: int) -> list[str]:
    base = ["#9ec5fe", "#4d8df0", "#1f5fbf", "#0d3a80", "#061f47"]
    if n <= len(base):
        return base[len(base) - n:] if n > 1 else [base[2]]
    return [base[i % len(base)] for i in range(n)]


# --------------------------------------------------------------------------- the load scenario's figures


def load_latency(results: list[dict]) -> go.Figure:
    timed = [r for r in results if r.get("latency_ms_p50") is not None]
    if not timed:
        return empty(_("No latency measured"))
    fig = go.Figure()
    fig.add_bar(x=[r["strategy"] for r in timed], y=[r["latency_ms_p50"] for r in timed], marker_color="#4d8df0", name="p50",
                error_y={"type": "data", "symmetric": False, "array": [gap(r["latency_ms_p95"], r["latency_ms_p50"]) for r in timed],
                         "arrayminus": [0] * len(timed), "thickness": 1.2, "width": 3},
                hovertemplate="%{x}<br>p50 %{y:,.0f} ms<extra></extra>")
    fig.update_yaxes(title=_("ms per interaction (p50, whisker p95)"), rangemode="tozero")
    return style(fig, _("Latency under load"), legend=False)


def load_timeline(report: dict) -> go.Figure:
    bins = report["timeline"]["bins"]
    width = report["timeline"]["bin_s"]
    x = [b["t"] + width / 2 for b in bins]
    fig = go.Figure()
    fig.add_bar(x=x, y=[b["interactions"] / width for b in bins], name=_("interactions / s"), marker_color="#9ec5fe", width=width * 0.9)
    fig.add_scatter(x=x, y=[b["errors"] for b in bins], name=_("errors"), mode="lines+markers", line={"color": "#d62728"})
    fig.add_scatter(x=x, y=[b["stale"] for b in bins], name=_("stale reads (isolating strategies)"), mode="lines+markers",
                    line={"color": "#ff7f0e", "dash": "dot"})
    if any(b["unanswered"] for b in bins):
        fig.add_scatter(x=x, y=[b["unanswered"] or None for b in bins], name=_("never answered (by start)"), mode="markers",
                        marker={"color": "#9467bd", "size": 10, "symbol": "x"})
    fig.add_scatter(x=x, y=[b["p95_ms"] for b in bins], name=_("p95 ms"), mode="lines+markers", yaxis="y2", line={"color": "#111827"})
    outage = report.get("outage") or {}
    if outage.get("window_s"):
        fig.add_vrect(x0=outage["down_at_s"], x1=outage["up_at_s"], fillcolor="#d62728", opacity=0.15, line_width=0,
                      annotation_text=_("Redis down"), annotation_position="top left")
        fig.add_vrect(x0=outage["up_at_s"], x1=outage["window_s"][1], fillcolor="#f2b701", opacity=0.12, line_width=0,
                      annotation_text=_("grace"), annotation_position="top right")
    fig.update_layout(yaxis={"title": _("bars: per s · lines: per bin"), "rangemode": "tozero"},
                      yaxis2={"overlaying": "y", "side": "right", "title": _("p95 ms"), "rangemode": "tozero"})
    fig.update_xaxes(title=_("seconds since the load began"))
    return style(fig, _("Interactions, errors and p95 latency per %(width)s s", width=general(width)))


def load_memory(report: dict) -> go.Figure:
    memory = report["memory"]
    timeline = memory.get("timeline") or []
    if not timeline:
        return empty(_("No memory samples"))
    fig = go.Figure()
    pids = list(dict.fromkeys(pid for s in timeline for pid in (s.get("workers") or {})))
    for i, pid in enumerate(pids):
        fig.add_scatter(x=[s["t"] for s in timeline], y=[(s.get("workers") or {}).get(pid) for s in timeline], name=_("worker %(pid)s", pid=pid),
                        mode="lines", line={"color": PALETTE[(i + 1) % len(PALETTE)]})
    if any("redis_rss_mb" in s for s in timeline):
        fig.add_scatter(x=[s["t"] for s in timeline], y=[s.get("redis_rss_mb") for s in timeline], name="Redis used_memory_rss",
                        mode="lines", line={"color": "#d62728", "dash": "dash"})
    fig.update_xaxes(title=_("seconds since the load began"))
    fig.update_yaxes(title="MB", rangemode="tozero")
    return style(fig, _("Resident memory over the run"))


# --------------------------------------------------------------------------- the capacity scenario's figures


def capacity_bars(report: dict) -> go.Figure:
    """Sessions each strategy serves within the limits: one bar per strategy, one colour per server kind."""
    caps = report.get("capacity") or []
    if not caps:
        return empty(_("No capacity measured"))
    fig = go.Figure()
    servers = list(dict.fromkeys(c["server"] for c in caps))
    for i, server in enumerate(servers):
        part = [c for c in caps if c["server"] == server]
        # Horizontal bars: the strategies' names stay readable on a phone.
        fig.add_bar(name=server, y=[_label(c) for c in part],
                    x=[c["capacity_sessions"] for c in part], orientation="h",
                    marker_color=PALETTE[(3 + 2 * i) % len(PALETTE)], customdata=[[c["ended_by"]] for c in part],
                    hovertemplate=_("%{y}<br>%{x} sessions<br>%{customdata[0]}") + "<extra>" + server + "</extra>")
    strategies = len(dict.fromkeys(c["strategy"] for c in caps))
    fig.update_layout(barmode="group")
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(title=_("sessions within the limits"), rangemode="tozero")
    fig = style(fig, _("Capacity: sessions served"), height=max(260, 120 + 34 * strategies * len(servers)))
    fig.update_layout(margin={"l": 10, "r": 20, "t": 56, "b": 90})
    return fig


def capacity_latency(report: dict, server: str) -> go.Figure:
    """p95 per step against sessions, one line per strategy, with the p95 limit drawn."""
    rows = [r for r in report["results"] if r["server"] == server]
    if not rows:
        return empty(_("No steps on %(server)s", server=server))
    order = list(dict.fromkeys(r["strategy"] for r in rows))
    fig = go.Figure()
    for strategy in order:
        part = sorted((r for r in rows if r["strategy"] == strategy), key=lambda r: r["sessions"])
        fig.add_scatter(name=strategy, x=[r["sessions"] for r in part], y=[r["latency_ms_p95"] for r in part],
                        mode="lines+markers", line={"color": color_of(strategy, order), "width": 2},
                        customdata=[[r["latency_ms_p50"], r["interactions_per_s"], r["errors"]] for r in part],
                        hovertemplate=_("%{x} sessions: p95 %{y:,.0f} ms<br>p50 %{customdata[0]:,.0f} ms · "
                                        "%{customdata[1]:,.1f}/s · %{customdata[2]} errors") + "<extra>" + strategy + "</extra>")
    limit = report["config"].get("p95_limit_ms")
    if limit:
        fig.add_hline(y=limit, line_dash="dash", line_color="#d62728", annotation_text=_("p95 limit %(limit)s ms", limit=general(limit)),
                      annotation_position="top left")
    fig.update_xaxes(title=_("concurrent sessions (step)"), type="log", dtick=0.30103)
    fig.update_yaxes(title=_("ms per interaction (p95)"), rangemode="tozero")
    return style(fig, _("Latency against sessions (%(server)s)", server=server))
