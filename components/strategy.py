"""Strategy records as the site reads them from dash.page_registry, and the header every strategy page shows.

Each strategy page registers its record (strategies/<module>.py): dash.register_page(__name__, **STRATEGY.page_args()).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import dash
import dash_bootstrap_components as dbc
from dash import html

from i18n import _, gettext
from strategies import GROUPS as RECORD_GROUPS
from strategies.texts import LIST_KEYS, TEXT_KEYS

from . import sources


class _GroupLabels(Mapping):
    """strategies.GROUPS (group key -> label) in the visitor's language: each label a str translated when
    read (a Dash prop is JSON, never a lazy string), in strategies.GROUPS's order."""

    def __getitem__(self, key: str) -> str:
        return gettext(RECORD_GROUPS[key])

    def __iter__(self) -> Iterator[str]:
        return iter(RECORD_GROUPS)

    def __len__(self) -> int:
        return len(RECORD_GROUPS)


GROUPS = _GroupLabels()

def localized(meta: dict) -> dict:
    """A strategy's metadata with its texts in the visitor's language (strategies/texts.py says which keys;
    the records' English texts are the msgids)."""
    out = dict(meta)
    for key in TEXT_KEYS:
        if isinstance(out.get(key), str):
            out[key] = gettext(out[key])
    for key in LIST_KEYS:
        out[key] = [gettext(text) for text in out.get(key, ())]
    return out


def strategies() -> list[dict]:
    """Every registered strategy's metadata, in page order, its texts in the visitor's language."""
    pages = sorted(dash.page_registry.values(), key=lambda p: (p.get("order") or 0, p["path"]))
    return [localized(p["strategy"]) for p in pages if p.get("strategy")]


def guide_rows() -> list[tuple]:
    """(slug, strategies.Guide) for every registered strategy's home-guide rows, in guide order."""
    rows = [(p["record"].slug, row) for p in dash.page_registry.values() if p.get("record") for row in p["record"].guide]
    return sorted(rows, key=lambda pair: pair[1].rank)


def page_path(slug: str) -> str:
    """The link to a slug's page: the relative path Dash registered for it (a live page's is /live/...).

    Read from the registry rather than dash.get_relative_path, which asks whichever Dash app is current —
    under the ASGI server that can be the live app, whose prefix turned /aggregates into /live/aggregates."""
    for page in dash.page_registry.values():
        if (page.get("strategy") or {}).get("slug") == slug or page["path"] == f"/{slug}":
            return page["relative_path"]
    return f"/{slug}"


def verdict(value, neutral: bool = False) -> html.Span:
    """A yes / no / qualified badge for one catalogue cell; neutral where neither answer is better."""
    if isinstance(value, bool) and neutral:
        return dbc.Badge(_("yes") if value else _("no"), color="secondary", className="lab-verdict")
    if value is True:
        return dbc.Badge(_("yes"), color="success", className="lab-verdict")
    if value is False:
        return dbc.Badge(_("no"), color="danger", className="lab-verdict")
    return dbc.Badge(gettext(str(value)), color="warning", text_color="dark", className="lab-verdict")


def header(meta: dict) -> html.Div:
    meta = localized(meta)
    facts = [
        (_("Data lives in"), html.Span(meta["lives"])),
        (_("Multi-worker safe"), verdict(meta["multi_worker_safe"])),
        (_("Shared between users"), verdict(meta["shared_between_users"], neutral=True)),
        (_("Survives reload"), verdict(meta["survives_reload"])),
        (_("Payload growth"), html.Code(meta["payload_growth"])),
    ]
    return html.Div(
        [
            html.Div(GROUPS[meta["group"]], className="lab-eyebrow"),
            html.H1(meta["title"], className="lab-title"),
            html.P(meta["summary"], className="lead lab-lead"),
            html.Div([html.Div([html.Div(k, className="lab-fact-key"), html.Div(v)], className="lab-fact") for k, v in facts], className="lab-facts"),
        ],
        className="lab-header",
    )


def explainer(meta: dict, what: str, when: str, when_not: str) -> dbc.Card:
    """What, when to use, when not — plus the registered pros and cons."""
    meta = localized(meta)
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(_("In plain words"), className="h5"),
                html.P(what),
                dbc.Row(
                    [
                        dbc.Col([html.H3(_("Use it when"), className="h6"), html.P(when)], md=6),
                        dbc.Col([html.H3(_("Avoid it when"), className="h6"), html.P(when_not)], md=6),
                    ]
                ),
                dbc.Row(
                    [
                        dbc.Col(html.Ul([html.Li(p) for p in meta["pros"]], className="lab-pros"), md=6),
                        dbc.Col(html.Ul([html.Li(c) for c in meta["cons"]], className="lab-cons"), md=6),
                    ]
                ),
            ]
        ),
        className="lab-card mb-3",
    )


def page(meta: dict, demo, side, source, *, what: str, when: str, when_not: str) -> html.Div:
    """The frame every strategy page shares: its header, the demo beside its instruments, the
    explanation, and the page's own source."""
    return html.Div(
        [
            header(meta),
            dbc.Row([dbc.Col(demo, lg=8), dbc.Col(side, lg=4)], className="lab-demo-row"),
            explainer(meta, what=what, when=when, when_not=when_not),
            sources.block(meta),  # which guide, in which language, linked (components/sources.py)
            source,
        ]
    )
