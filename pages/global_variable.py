import os
import secrets

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from components import instruments, strategy, worker_state
from components.ids import Ids
from components.sentence import inline
from components.source import source_panel
from i18n import _
from strategies.global_variable import STRATEGY

dash.register_page(__name__, **STRATEGY.page_args())
META = STRATEGY.meta()
ids = Ids(META["slug"])
instruments.register_counters(META["slug"], ())  # no expensive step, no cache: only the workers matter here

# THE BUG under study: one copy of this per worker process, shared by every user of that process.
shared_value = None


def side(prefix: str, title: str, badge: dbc.Badge, hint: str, name: str) -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader([html.Span(title, className="fw-semibold me-2"), badge]),
            dbc.CardBody(
                [
                    html.P(hint, className="small text-muted"),
                    dbc.Label(_("Value to set and read back (%(title)s)", title=title), html_for=ids(f"{prefix}value"), className="visually-hidden"),
                    dbc.InputGroup(
                        [
                            dbc.Input(id=ids(f"{prefix}value"), value=name, maxLength=40, debounce=False),
                            dbc.Button(_("Set"), id=ids(f"{prefix}set"), color="primary"),
                            dbc.Button(_("Read"), id=ids(f"{prefix}read"), color="secondary"),
                        ],
                        size="sm",
                        className="mb-2",
                    ),
                    html.Div(_("Reading the value once on arrival…"), id=ids(f"{prefix}result"), className="gv-result"),
                    html.Div(id=ids(f"{prefix}score")),
                    html.Div(id=ids(f"{prefix}table")),
                    html.H2(_("What went wrong") if not prefix else _("Why it holds"), className="h6 mt-2"),
                    html.Div(id=ids(f"{prefix}diagnosis"), className="gv-diagnosis"),
                    dcc.Store(id=ids(f"{prefix}history"), data=[]),
                ]
            ),
        ],
        className=f"lab-card mb-3 gv-side gv-{'safe' if prefix else 'broken'}",
    )


def layout(**_query):
    name = f"tab-{secrets.token_hex(2)}-1"  # a fresh name per load, so two tabs are told apart
    demo = html.Div(
        [
            dbc.Alert(
                inline(
                    _("Open this page in a second tab (or another browser) and press {read} there: it will show the value "
                      "this tab wrote. Every answer shows the worker pid that produced it."),
                    read=html.B(_("Read")),
                ),
                color="light",
                className="small py-2",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        side(
                            "",
                            _("Broken: module global"),
                            dbc.Badge("global shared_value", color="danger"),
                            _("Set assigns a module-level variable in whichever worker answers; Read returns that worker's copy."),
                            name,
                        ),
                        md=6,
                    ),
                    dbc.Col(
                        [
                            side(
                                "safe-",
                                _("Correct: value in a dcc.Store"),
                                dbc.Badge("dcc.Store", color="success"),
                                _("Set sends the value back to this tab's dcc.Store; Read gets it from the tab as State."),
                                name,
                            ),
                            dcc.Store(id=ids("safe-store")),
                        ],
                        md=6,
                    ),
                ]
            ),
        ]
    )
    return strategy.page(
        META,
        demo,
        instruments.panel(META["slug"]),
        source_panel(__name__),
        what=_("A module-level variable lives in the memory of one Python process. gunicorn runs this site with 4 worker "
        "processes and hands each request to whichever one is free, so Set changes the copy inside one worker and the "
        "next Read may be answered by a worker that never saw it. And because all users' requests land on the same few "
        "workers, a value one user writes is what the next user reads. Even with a single worker the leak between users "
        "stays. The fix is to keep callbacks pure: reassign to a local variable inside the callback "
        "(as the “Sharing data between callbacks” guide does: filtered_df = df[df.c == value]) and send anything that must outlive the request back to the "
        "browser (dcc.Store, right) or to a shared server store."),
        when=_("Only for read-only values set at start-up: a lookup table, a loaded model, configuration. Reading a "
        "global never breaks; changing it does."),
        when_not=_("For anything a callback changes: per-user choices, intermediate results, caches, counters. It fails "
        "silently on several workers and leaks between users on one."),
    )


def said(item: dict) -> html.Div:
    if item["action"] == "set":
        text = _("wrote {value}")
    else:
        text = _("read on arrival {value}") if item.get("arrival") else _("read {value}")
    return html.Div(
        [
            dbc.Badge(_("worker %(pid)s", pid=item["pid"]), color="dark", className="me-2"),
            *inline(text, value=html.Code(worker_state.shown(item["value"]))),
        ],
        **{"data-pid": str(item["pid"]), "data-action": item["action"], "data-value": str(item["value"])},
    )


def report(item: dict, history: list[dict], name: str, value) -> tuple:
    """What both versions show; after a write the input moves on to the next value."""
    facts = worker_state.analyse(history)
    following = worker_state.bump(value) if item["action"] == "set" else no_update
    return (
        said(item),
        history,
        worker_state.scoreboard(facts, name),
        worker_state.history_table(history),
        worker_state.diagnosis(facts),
        following,
    )


@callback(
    Output(ids("result"), "children"),
    Output(ids("history"), "data"),
    Output(ids("score"), "children"),
    Output(ids("table"), "children"),
    Output(ids("diagnosis"), "children"),
    Output(ids("value"), "value"),
    Input(ids("set"), "n_clicks"),
    Input(ids("read"), "n_clicks"),
    State(ids("value"), "value"),
    State(ids("history"), "data"),
)
def use_global(_set, _read, value, history):
    # Runs once on arrival too (nothing triggered): a first Read, so the page shows a worker's copy without a click.
    global shared_value
    if ctx.triggered_id == ids("set"):
        shared_value = worker_state.clean(value)  # do not do this: only this worker's copy changes, and every user sees it
        item = worker_state.entry("set", value, os.getpid())
    else:
        item = worker_state.entry("read", shared_value, os.getpid(), arrival=ctx.triggered_id is None)
    return report(item, worker_state.append(history, item), "broken", value)


@callback(
    Output(ids("safe-result"), "children"),
    Output(ids("safe-history"), "data"),
    Output(ids("safe-score"), "children"),
    Output(ids("safe-table"), "children"),
    Output(ids("safe-diagnosis"), "children"),
    Output(ids("safe-value"), "value"),
    Output(ids("safe-store"), "data"),
    Input(ids("safe-set"), "n_clicks"),
    Input(ids("safe-read"), "n_clicks"),
    State(ids("safe-value"), "value"),
    State(ids("safe-store"), "data"),
    State(ids("safe-history"), "data"),
)
def use_store(_set, _read, value, stored, history):
    if ctx.triggered_id == ids("safe-set"):
        stored = worker_state.clean(value)  # a local name: the new value leaves the function only as the Store's output
        item = worker_state.entry("set", value, os.getpid())
    else:
        stored = worker_state.clean(stored)  # the Store's value came from the browser: short text, or nothing
        item = worker_state.entry("read", stored, os.getpid(), arrival=ctx.triggered_id is None)
    return *report(item, worker_state.append(history, item), "safe", value), stored
