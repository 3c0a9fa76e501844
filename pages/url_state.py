import os
import time

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, clientside_callback, dcc, html

import choices
import stores
import workload
from components import figures, instruments, strategy
from components.ids import Ids
from components.serverstate import EXPECTED, consumers, empty_figure, problem, summary_table, workload_pickers
from components.source import source_panel
from i18n import _
from stores import codec
from strategies.url_state import STRATEGY

dash.register_page(__name__, **STRATEGY.page_args())
META = STRATEGY.meta()
ids = Ids(META["slug"])
SLUG = META["slug"]
# The shared cache of the data the choices select: one entry per (rows, region), for everyone.
CACHE_TTL = 3600.0


def held(lab):
    return [(_("cached selections"), sum(1 for _key in lab.store.scan(f"{SLUG}:frame:"))),
            (_("bytes held"), f"{lab.store.bytes_held(f'{SLUG}:') / 1024:,.1f} KB")]


instruments.register_stats(SLUG, held)


MAX_PROBLEMS = 10


def from_link(query: dict) -> tuple[dict, list[str]]:
    """The choices a link carries, and what was wrong with it. Bad values fall back to defaults."""
    chosen = {"region": workload.REGIONS[0], "rows": workload.DEFAULT_ROWS, "fruit": workload.FRUITS[0]}
    wrong = []
    checks = {"region": choices.region, "rows": _row_choice, "fruit": _fruit_choice}
    for name, value in query.items():
        if len(wrong) >= MAX_PROBLEMS:  # 800,000 made-up parameters must not become 800,000 lines
            wrong.append(_("and %(count)s more parameters ignored", count=format(len(query) - len(checks) - MAX_PROBLEMS, ",")))
            break
        if name not in checks:
            wrong.append(_("ignored the unknown parameter %(name)s", name=repr(name[:40])))
            continue
        try:
            chosen[name] = checks[name](value)
        except workload.WorkloadError as exc:
            wrong.append(_("%(name)s=%(value)s ignored: %(reason)s", name=name, value=repr(str(value)[:40]), reason=exc))
    return chosen, wrong


def _row_choice(value) -> int:
    return choices.rows(value)


def _fruit_choice(value) -> str:
    if value not in workload.FRUITS:
        raise workload.WorkloadError(_("fruit must be one of %(fruits)s", fruits=", ".join(workload.FRUITS)))
    return value


def layout(**query):
    chosen, wrong = from_link(query)
    warning = (
        dbc.Alert([html.Strong(_("Parts of this link could not be used:") + " "),
                   _("%(problems)s. The rest of the link applies; anything it could not set keeps its default.",
                     problems="; ".join(wrong))],
                  color="warning", className="py-2 small", id=ids("link-problems"))
        if wrong
        else None
    )
    demo = [
        dbc.Card(
            dbc.CardBody(
                [
                    warning,
                    dbc.Row(workload_pickers(ids, chosen["region"], width=6, rows=chosen["rows"]), className="g-3"),
                    html.Div(
                        [
                            html.Div(_("The whole state of this page — copy it, bookmark it, send it:"), className="small text-muted"),
                            html.Div(
                                [html.Code(id=ids("link"), className="lab-link"), dcc.Clipboard(target_id=ids("link"), className="ms-2")],
                                className="d-flex align-items-center",
                            ),
                            html.Div(id=ids("link-bytes"), className="small text-muted"),
                            # The text the clientside callback below writes, in the visitor's language.
                            dcc.Store(
                                id=ids("texts"),
                                data={"bytes": _("The state is {bytes} bytes of query string; the data it selects stays on the server.")},
                            ),
                        ],
                        className="mt-3 lab-link-box",
                    ),
                    dcc.Loading(html.Div(id=ids("status"), className="small mt-2"), type="dot"),
                ]
            ),
            className="lab-card mb-3",
        ),
        consumers(ids, _("Summary of the selected data"), _("loading…"), fruit=chosen["fruit"]),
    ]
    return strategy.page(
        META,
        demo,
        instruments.panel(SLUG),
        source_panel(__name__),
        what=_(
            "The layout is a function of the query string: Dash pages pass ?region=…&rows=…&fruit=… to layout(), "
            "which validates each value and sets the controls from it. When a control changes, a clientside callback "
            "writes the new choices into the address with history.pushState — no request, no reload — so the address "
            "always describes what is on screen. The consumers compute from the controls as usual; the data behind a "
            "choice comes from a shared cache (single-flight: computed once for everyone)."
        ),
        when=_(
            "The state is a handful of choices a user would want to reload, bookmark, share or step back through: "
            "filters, tabs, the selected item, a date range."
        ),
        when_not=_(
            "The state is data rather than choices, is private, or is larger than a few hundred bytes: keep it "
            "on the server under a key (serverside, session-cache) and put at most that key in the link."
        ),
    )


# The address follows the controls, in the browser: a user's choice adds a history entry (Back
# undoes it) without Dash's router noticing, so the page is not rebuilt on every change. The
# initial call only normalizes the address (replaceState): a Back that lands on a bare or bad
# link must not push a new entry, or Back could never leave the page.
clientside_callback(
    """
    function (region, rows, fruit, texts) {
        const query = new URLSearchParams({region: region, rows: String(rows), fruit: fruit}).toString();
        const triggered = (window.dash_clientside.callback_context || {}).triggered || [];
        const initial = triggered.every(t => !t.prop_id || t.prop_id === ".");
        if (window.location.search !== "?" + query) {
            const url = window.location.pathname + "?" + query;
            if (initial) {
                window.history.replaceState(window.history.state, "", url);
            } else {
                window.history.pushState(window.history.state, "", url);
            }
        }
        const link = window.location.href;
        const said = (texts && texts.bytes) || "The state is {bytes} bytes of query string; the data it selects stays on the server.";
        return [link, said.replace("{bytes}", String(query.length))];
    }
    """,
    Output(ids("link"), "children"),
    Output(ids("link-bytes"), "children"),
    Input(ids("region"), "value"),
    Input(ids("rows"), "value"),
    Input(ids("fruit"), "value"),
    State(ids("texts"), "data"),
)


def _frame(region, rows):
    """The selected data from the shared cache, computed once for everyone (single-flight)."""
    lab = stores.current()
    region, rows = choices.region(region), _row_choice(rows)
    key = f"{SLUG}:frame:{rows}:{region}"  # under the page's prefix, so its bytes held are counted
    data, computed = lab.store.get(key), False
    if data is None:

        def compute() -> bytes:
            cleaned = workload.expensive_step(rows, region, delay=lab.settings.compute_delay)
            lab.count("compute", SLUG)
            lab.store.set(key, codec.frame_to_arrow(cleaned), ttl=CACHE_TTL)
            return b"1"  # the single-flight marker; the frame itself is under `key`

        _marker, computed = lab.memo(key, compute, ttl=10)
        data = lab.store.get(key)
        if data is None:
            raise stores.StoreError(
                _("the cached data for %(region)s, %(rows)s rows vanished as it was written; try again", region=region, rows=format(rows, ","))
            )
    lab.count("miss" if computed else "hit", SLUG)
    return codec.frame_from_arrow(data), computed


@callback(
    Output(ids("table"), "children"),
    Output(ids("status"), "children"),
    Input(ids("region"), "value"),
    Input(ids("rows"), "value"),
)
def summary(region, rows):
    started = time.perf_counter()
    try:
        frame, computed = _frame(region, rows)
    except EXPECTED as exc:
        return "", problem(exc)
    values = {"region": region, "rows": f"{int(rows):,}", "ms": f"{(time.perf_counter() - started) * 1000:,.0f}", "pid": os.getpid()}
    if computed:
        note = _("%(region)s, %(rows)s rows: computed now in %(ms)s ms by worker %(pid)s.", **values)
    else:
        note = _("%(region)s, %(rows)s rows: from the shared cache in %(ms)s ms by worker %(pid)s.", **values)
    return summary_table(frame), html.Span(note, id=ids("verdict"), **{"data-computed": "yes" if computed else "no"})


@callback(
    Output(ids("graph"), "figure"),
    Input(ids("region"), "value"),
    Input(ids("rows"), "value"),
    Input(ids("fruit"), "value"),
)
def scatter(region, rows, fruit):
    try:
        fruit = _fruit_choice(fruit)
        frame, _computed = _frame(region, rows)
    except EXPECTED as exc:
        return empty_figure(str(exc))
    return figures.fruit_scatter(frame, fruit)
