import os
import time

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html

import choices
import stores
import workload
from components import figures, instruments, strategy
from components.ids import Ids
from components.sentence import gap, inline
from components.serverstate import (
    EXPECTED,
    ago,
    clock,
    consumers,
    empty_figure,
    error_text,
    first_frame,
    first_view_note,
    kb,
    mint_session,
    problem,
    session_badge,
    session_files,
    summary_table,
    workload_pickers,
)
from components.source import source_panel
from i18n import _
from stores.files import explain_seed_name
from strategies.session_files import STRATEGY

dash.register_page(__name__, **STRATEGY.page_args())
META = STRATEGY.meta()
ids = Ids(META["slug"])
SLUG = META["slug"]
FIRST_REGION = workload.REGIONS[1]
DATA_DIR = "<data dir>"  # what the page shows instead of the server's real data directory
EXAMPLES = ["../../app.py", "/etc/passwd", "CON", "aux.txt", "..\\..\\boot.ini", "alice.csv"]


def on_disk(lab):
    files = session_files(lab, STRATEGY.store_prefix)
    listed = files.files()
    return [(_("session files"), f"{len(listed)} / {files.max_files}"), (_("bytes on disk"), kb(sum(f.bytes for f in listed)))]


instruments.register_stats(SLUG, on_disk)


def layout(**_query):
    session_id, trouble = mint_session()
    controls = dbc.Row(
        [
            *workload_pickers(ids, FIRST_REGION, width=4),
            dbc.Col(dbc.Button(_("Compute and save to my file"), id=ids("save"), color="primary", className="w-100"), md=4),
        ],
        className="g-3 align-items-end",
    )
    seed_box = dbc.Card(
        [
            dbc.CardHeader(
                [
                    html.Span(_("Why the source's version is dangerous"), className="fw-semibold"),
                    html.Span(" — " + _("type the file name source 003's example would have used"), className="text-muted small"),
                ]
            ),
            dbc.CardBody(
                [
                    html.P(
                        inline(
                            _("Source 003 (English notes on Dash's “Sharing data between callbacks” guide) reads a file "
                              "name from a text box and calls %(call)s. Whatever is typed becomes a path on the server. "
                              "Try %(examples)s."),
                            call=html.Code("open(name)"),
                            examples=[html.Code(e, className="me-1") for e in EXAMPLES],
                        ),
                        className="small",
                    ),
                    dbc.Input(
                        id=ids("seed-name"),
                        value="../../app.py",
                        placeholder=_("a file name, as a user would type it"),
                        debounce=False,
                        autoComplete="off",
                        className="font-monospace",
                    ),
                    html.Div(id=ids("seed-verdict"), className="mt-3"),
                ]
            ),
        ],
        className="lab-card mb-3",
    )
    demo = [
        dbc.Card(
            dbc.CardBody(
                [
                    html.Div(
                        [
                            session_badge(session_id),
                            html.Span(" " + _("your file is named after this signed id, by the server."), className="small text-muted"),
                        ],
                        className="mb-3",
                    ),
                    controls,
                    dcc.Loading(
                        html.Div(
                            trouble
                            or html.Div(
                                _("Press the button: the expensive step runs and its result is written "
                                  "to your session's file; the graph and the table read that file."),
                                className="small text-muted",
                            ),
                            id=ids("status"),
                            className="mt-3",
                        ),
                        type="dot",
                    ),
                    dcc.Store(id=ids("session"), data=session_id),
                    dcc.Store(id=ids("signal")),
                ]
            ),
            className="lab-card mb-3",
        ),
        consumers(ids, _("Read back from your file"), _("no file yet"), fruit=workload.FRUITS[1]),
        seed_box,
    ]
    return strategy.page(
        META,
        demo,
        instruments.panel(SLUG),
        source_panel(__name__),
        what=_("Source 003 (English notes on Dash's “Sharing data between callbacks” guide) gives, as its first "
               "option, each session its own file. Here the file is "
               "<data_dir>/session-files/<uuid>.arrow, where the uuid is the part of your session id the server minted "
               "and signed — a forged or guessed id is refused before any path is built. The path is built by the "
               "server and checked to lie inside the folder after resolving it; writes go to a temporary file that "
               "replaces the old one in one step, so a reader never sees half a file; every write removes files older "
               "than an hour and all but the newest session_threshold files. Embedded mode puts the files on this "
               "machine: every gunicorn worker here sees them, a second web host would not."),
        when=_("One machine, a handful of users, data too big for the browser, and no Redis or database to run."),
        when_not=_("Several web hosts (each has its own disk; use a shared store such as Redis), heavy "
                   "concurrent writes, or anything where a cache (session-cache, serverside) does the job without files."),
    )


def arrival_frame():
    """What the page shows before this session has a file: the shared first view of its default inputs."""
    return first_frame(stores.current(), SLUG, workload.DEFAULT_ROWS, FIRST_REGION)


@callback(
    Output(ids("signal"), "data"),
    Output(ids("status"), "children"),
    Input(ids("save"), "n_clicks"),
    State(ids("region"), "value"),
    State(ids("rows"), "value"),
    State(ids("session"), "data"),
    prevent_initial_call=True,
    running=[(Output(ids("save"), "disabled"), True, False)],
)
def save_to_file(_clicks, region, rows, session_id):
    lab = stores.current()
    started = time.perf_counter()
    try:
        files = session_files(lab, STRATEGY.store_prefix)
        path = files.path_for(session_id)  # validates the signed id first: nothing is computed for a forged one
        rows, region = choices.rows(rows), choices.region(region)  # only what the page offers
        cleaned = workload.expensive_step(rows, region, delay=lab.settings.compute_delay)
        lab.count("compute", SLUG)
        info = files.write_frame(session_id, cleaned)
    except EXPECTED as exc:
        return None, problem(exc)
    ms = (time.perf_counter() - started) * 1000
    status = html.Div(
        [
            html.Strong(_("Saved %(region)s, %(rows)s rows in %(ms)s ms", region=region, rows=format(len(cleaned), ","),
                          ms=format(ms, ",.0f"))),
            html.Div(
                inline(
                    _("written to %(file)s — %(size)s, atomically (temp file + os.replace)"),
                    file=html.Code(f"session-files/{path.name}"),
                    size=kb(info.bytes),
                ),
                id=ids("written"),
                className="small mt-1",
            ),
        ]
    )
    return {"written": info.modified, "region": region}, status


@callback(
    Output(ids("graph"), "figure"),
    Input(ids("signal"), "data"),
    Input(ids("fruit"), "value"),
    State(ids("session"), "data"),
)
def display_scatter(signal, fruit, session_id):
    if not signal:
        frame = arrival_frame()
        if frame is None or fruit not in workload.FRUITS:
            return figures.empty(_("no file yet: press the button"))
        return figures.fruit_scatter(frame, fruit)
    try:
        frame, _info = session_files(stores.current(), STRATEGY.store_prefix).read_frame(session_id)
        if fruit not in workload.FRUITS:
            raise workload.WorkloadError(_("fruit must be one of %(options)s", options=", ".join(workload.FRUITS)))
    except EXPECTED as exc:
        return empty_figure(error_text(exc))
    return figures.fruit_scatter(frame, fruit)


@callback(Output(ids("table"), "children"), Input(ids("signal"), "data"), State(ids("session"), "data"))
def display_summary(signal, session_id):
    if not signal:
        frame = arrival_frame()
        if frame is None:
            return _("no file yet")
        holds = _("No file has been written for this session yet.")
        press = _("Press the button: the expensive step then runs for this session alone.")
        return html.Div([summary_table(frame), first_view_note(FIRST_REGION, workload.DEFAULT_ROWS, holds, press)])
    started = time.perf_counter()
    try:
        frame, info = session_files(stores.current(), STRATEGY.store_prefix).read_frame(session_id)
    except EXPECTED as exc:
        return problem(exc)
    ms = (time.perf_counter() - started) * 1000
    note = html.Div(
        _("%(file)s, %(size)s, written at %(clock)s (%(ago)s); read in %(ms)s ms", file=info.name[:8] + "….arrow",
          size=kb(info.bytes), clock=clock(info.modified), ago=ago(info.modified), ms=format(ms, ".1f")),
        id=ids("file-info"),
        className="small text-muted mt-2",
    )
    return html.Div([summary_table(frame), note])


@callback(Output(ids("seed-verdict"), "children"), Input(ids("seed-name"), "value"), State(ids("session"), "data"))
def explain_name(name, session_id):
    lab = stores.current()
    try:
        files = session_files(lab, STRATEGY.store_prefix)
        ours = files.path_for(session_id).name
    except EXPECTED as exc:
        return problem(exc)
    seed = explain_seed_name(name or "", str(files.root))
    data_dir = str(lab.settings.data_dir)

    def shown(text, joined=False):
        # Relative to the data directory: where the server keeps its files is no business of a visitor's.
        # A name typed as an absolute path replaces the folder (os.path.join): it is shown as typed.
        if joined and not os.path.isabs(seed.typed):
            text = os.path.join(DATA_DIR, os.path.relpath(files.root, data_dir), seed.typed)
        elif not (os.path.isabs(seed.typed) and text.startswith(seed.typed)):
            text = os.path.join(DATA_DIR, os.path.relpath(text, data_dir))
        text = text.replace("\x00", "\\0")
        return text if len(text) <= 160 else _("%(text)s… (%(count)s characters)", text=text[:160], count=format(len(text), ","))

    return html.Div(
        [
            html.Div(_("Its code would open (paths relative to the site's data directory, %(folder)s)", folder=DATA_DIR),
                     className="lab-fact-key"),
            html.Code(shown(seed.joined, joined=True), className="d-block text-break", id=ids("seed-joined")),
            html.Div(_("which is"), className="lab-fact-key mt-2"),
            html.Code(shown(seed.normalized), className="d-block text-break"),
            html.Ul([html.Li(error_text(p)) for p in seed.problems], className="small text-danger mt-2 mb-2", id=ids("seed-problems")),
            dbc.Alert(
                [
                    html.Strong(_("This page: ignored.") + gap()),
                    *inline(
                        _("The name comes from your session id: %(file)s. Nothing above was opened, created or even "
                          "looked up on disk."),
                        file=html.Code(f"session-files/{ours}"),
                    ),
                ],
                color="success",
                className="py-2 small mb-0",
            ),
        ]
    )
