"""The home page's decision guide: a case, the strategy for it, the measured figure behind the
answer, and whether it works across several hosts (and what that needs).

The figures come from the reference runs committed with the site (docs/bench/default: one host,
embedded; docs/bench/scale-out: two hosts on one Redis; docs/bench/push: the live pages, pushed against
polled), never from a visitor's run, so every
visitor reads the same evidence.
"""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path
from types import SimpleNamespace

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.sentence import inline
from components.strategy import page_path
from i18n import _, gettext, lazy_gettext
from strategies import Figure

log = logging.getLogger(__name__)
BENCH = Path(__file__).resolve().parent.parent / "docs" / "bench"
ROWS = 10_000

# Across hosts: "browser" (the state travels with the user: any host answers), "redis" (works across
# hosts only when REDIS_URL points every host at one Redis; embedded stores live on one machine),
# "one-machine" (local disk or process memory: another host cannot see it), "copy" (read-only: each
# host loads its own identical copy). Texts lazy (module level): str() them where they become a prop.
ACROSS = {
    "browser": (lazy_gettext("any host"), "success", lazy_gettext("The state travels with the browser: any host can answer.")),
    "redis": (lazy_gettext("needs Redis"), "warning",
              lazy_gettext("Embedded mode keeps this on one machine's disk; set REDIS_URL on every host.")),
    "one-machine": (lazy_gettext("one machine only"), "danger",
                    lazy_gettext("Kept on one host's disk or memory: another host never sees it.")),
    "copy": (lazy_gettext("a copy per host"), "info",
             lazy_gettext("Read-only, so each host (and each worker) loads its own identical copy.")),
}


@functools.cache
def _report(name: str) -> dict:
    """slug -> result row at ROWS rows (the first repetition), plus the run's config under None."""
    try:
        data = json.loads((BENCH / name / "report.json").read_text())
    except (OSError, ValueError) as exc:
        log.warning("decision guide: cannot read the %s reference run: %s", name, exc)
        return {}
    rows = {r["strategy"]: r for r in data.get("results", []) if r.get("rows") == ROWS}
    rows[None] = data.get("config", {})
    return rows


@functools.cache
def _push_rows() -> dict:
    """(strategy, kind) -> result row of the committed push run (docs/bench/push: the live pages, push and poll)."""
    try:
        data = json.loads((BENCH / "push" / "report.json").read_text())
    except (OSError, ValueError) as exc:
        log.warning("decision guide: cannot read the push reference run: %s", exc)
        return {}
    return {(r.get("strategy"), r.get("kind")): r for r in data.get("results", []) if isinstance(r, dict)}


def pushed(slug: str, kind: str = "push") -> dict:
    """A live page's row of the push run, `kind` "push" or "poll" ({} when not measured)."""
    return _push_rows().get((slug, kind)) or {}


def push_ms(slug: str, kind: str, key: str) -> str:
    value = pushed(slug, kind).get(key)
    return _("unknown") if not isinstance(value, int | float) else f"{value:,.0f} ms"


def result(slug: str, run: str = "default") -> dict | None:
    return _report(run).get(slug)


def config(run: str = "default") -> dict:
    return _report(run).get(None) or {}


def ms(slug: str, run: str = "default") -> str:
    r = result(slug, run)
    value = r and r.get("latency_ms_p50")
    return _("unknown") if value is None else f"{value:,.0f} ms"


def kb(n) -> str:
    if n is None:
        return _("unknown")
    return f"{n:,} B" if n < 1024 else f"{n / 1024:,.1f} KB"


def traffic(slug: str) -> str:
    r = result(slug) or {}
    return _("%(up)s up, %(down)s down", up=kb(r.get("request_bytes")), down=kb(r.get("response_bytes")))


def stale(slug: str, run: str = "scale-out") -> str:
    """'0 of 12 reads stale', from the two-host run unless told otherwise."""
    r = result(slug, run)
    if not r:
        return _("not measured")
    return _("%(stale)s of %(reads)s reads stale", stale=r.get("stale_reads", 0), reads=r.get("reads", 0))


def badge(kind: str) -> html.Span:
    text, color, why = ACROSS[kind]
    return html.Span(
        [dbc.Badge(str(text), color=color, text_color="dark" if color in ("warning", "info") else None, className="lab-across"),
         html.Div(str(why), className="small text-muted mt-1")],
        **{"data-across": kind},
    )


def reference_note() -> html.P:
    one, two = config("default"), config("scale-out")
    if not one:
        return html.P(_("The reference run could not be read: figures show as unknown."), className="small text-muted mb-0")
    rows = f"{ROWS:,}"
    return html.P(
        inline(
            _("Figures: medians at %(rows)s rows from the reference runs committed with the site — one host, "
              "%(workers)s gunicorn workers, embedded stores, %(delay)s s compute delay (docs/bench/default); and "
              "%(hosts)s hosts on one Redis, callbacks round-robin (docs/bench/scale-out). The {benchmark} measures "
              "them on this server.",
              rows=rows, workers=one.get("workers") or _("unknown"), delay=one.get("compute_delay"),
              hosts=two.get("hosts") or _("unknown")),
            benchmark=dcc.Link(_("benchmark"), href=page_path("benchmark")),
        ),
        className="small text-muted mb-0",
    )


# What a record's guide figure (strategies.Guide.figure) is given as `g`: the words for the reference runs' figures.
FIGURES = SimpleNamespace(ms=ms, traffic=traffic, stale=stale, result=result, config=config, push_ms=push_ms,
                          pushed=pushed)


def figure_text(figure, g=FIGURES) -> str | None:
    """A guide row's figure in the visitor's language: a Figure's template is translated before it is filled
    (its {name} fields stay in the translation), a plain text translated as it is."""
    if isinstance(figure, Figure):
        return gettext(figure.text).format(**figure.values(g))
    if callable(figure):
        return figure(g)
    return gettext(figure) if figure else figure


def table(rows, known: dict) -> dbc.Table:
    """rows: (slug, strategies.Guide) in guide order; known: slug -> the registered strategy's metadata."""
    head = html.Thead(html.Tr([html.Th(_("Your case")), html.Th(_("Use")), html.Th(_("Why — measured")), html.Th(_("Across hosts"))]))
    body = []
    for slug, row in rows:
        if slug not in known:
            continue
        why = [html.Div(gettext(row.answer))]
        if row.figure:
            figure = figure_text(row.figure)
            why.append(html.Div(figure, className="small text-muted mt-1 lab-guide-figure"))
        body.append(
            html.Tr(
                [html.Td(gettext(row.case)), html.Td(dcc.Link(known[slug]["title"], href=page_path(slug))), html.Td(why),
                 html.Td(badge(row.across))],
                **{"data-slug": slug},
            )
        )
    return dbc.Table([head, html.Tbody(body)], size="sm", responsive=True, className="lab-guide mb-2 align-middle")
