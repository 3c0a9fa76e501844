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
from components.serverstate import (
    EXPECTED,
    ago,
    clock,
    consumers,
    empty_figure,
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
    return [("session files", f"{len(listed)} / {files.max_files}"), ("bytes on disk", kb(sum(f.bytes for f in listed)))]


instruments.register_stats(SLUG, on_disk)


def layout(**_query):
    session_id, trouble = mint_session()
    controls = dbc.Row(
        [
            *workload_pickers(ids, FIRST_REGION, width=4),
            dbc.Col(dbc.Button("Compute and save to my file", id=ids("save"), color="primary", className="w-100"), md=4),
        ],
        className="g-3 align-items-end",
    )
    seed_box = dbc.Card(
        [
            dbc.CardHeader(
                [
                    html.Span("Why the source's version is dangerous", className="fw-semibold"),
                    html.Span(" — type the file name source 003's example would have used", className="text-muted small"),
                ]
            ),
            dbc.CardBody(
                [
                    html.P(
                        [
                            "Source 003 (English notes on Dash's “Sharing data between callbacks” guide) reads a file name from a "
                            "text box and calls ",
                            html.Code("open(name)"),
                            ". Whatever is typed becomes a path on the server. Try ",
                            *[x for e in EXAMPLES for x in (html.Code(e, className="me-1"),)],
                            ".",
                        ],
                        className="small",
                    ),
                    dbc.Input(
                        id=ids("seed-name"),
                        value="../../app.py",
                        placeholder="a file name, as a user would type it",
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
                            html.Span(" your file is named after this signed id, by the server.", className="small text-muted"),
                        ],
                        className="mb-3",
                    ),
                    controls,
                    dcc.Loading(
                        html.Div(
                            trouble
                            or html.Div(
                                "Press the button: the expensive step runs and its result is written "
                                "to your session's file; the graph and the table read that file.",
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
        consumers(ids, "Read back from your file", "no file yet", fruit=workload.FRUITS[1]),
        seed_box,
    ]
    return strategy.page(
        META,
        demo,
        instruments.panel(SLUG),
        source_panel(__name__),
        what="Source 003 (English notes on Dash's “Sharing data between callbacks” guide) gives, as its first "
        "option, each session its own file. Here the file is "
        "<data_dir>/session-files/<uuid>.arrow, where the uuid is the part of your session id the server minted "
        "and signed — a forged or guessed id is refused before any path is built. The path is built by the "
        "server and checked to lie inside the folder after resolving it; writes go to a temporary file that "
        "replaces the old one in one step, so a reader never sees half a file; every write removes files older "
        "than an hour and all but the newest session_threshold files. Embedded mode puts the files on this "
        "machine: every gunicorn worker here sees them, a second web host would not.",
        when="One machine, a handful of users, data too big for the browser, and no Redis or database to run.",
        when_not="Several web hosts (each has its own disk; use a shared store such as Redis), heavy "
        "concurrent writes, or anything where a cache (session-cache, serverside) does the job without files.",
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
            html.Strong(f"Saved {region}, {len(cleaned):,} rows in {ms:,.0f} ms"),
            html.Div(
                [
                    "written to ",
                    html.Code(f"session-files/{path.name}"),
                    f" — {kb(info.bytes)}, atomically (temp file + os.replace)",
                ],
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
            return figures.empty("no file yet: press the button")
        return figures.fruit_scatter(frame, fruit)
    try:
        frame, _ = session_files(stores.current(), STRATEGY.store_prefix).read_frame(session_id)
        if fruit not in workload.FRUITS:
            raise workload.WorkloadError(f"fruit must be one of {', '.join(workload.FRUITS)}")
    except EXPECTED as exc:
        return empty_figure(str(exc))
    return figures.fruit_scatter(frame, fruit)


@callback(Output(ids("table"), "children"), Input(ids("signal"), "data"), State(ids("session"), "data"))
def display_summary(signal, session_id):
    if not signal:
        frame = arrival_frame()
        if frame is None:
            return "no file yet"
        holds = "No file has been written for this session yet."
        return html.Div([summary_table(frame), first_view_note(FIRST_REGION, workload.DEFAULT_ROWS, holds, "the button")])
    started = time.perf_counter()
    try:
        frame, info = session_files(stores.current(), STRATEGY.store_prefix).read_frame(session_id)
    except EXPECTED as exc:
        return problem(exc)
    ms = (time.perf_counter() - started) * 1000
    note = html.Div(
        f"{info.name[:8]}….arrow, {kb(info.bytes)}, written at {clock(info.modified)} ({ago(info.modified)}); read in {ms:.1f} ms",
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
        return text if len(text) <= 160 else f"{text[:160]}… ({len(text):,} characters)"

    return html.Div(
        [
            html.Div(f"Its code would open (paths relative to the site's data directory, {DATA_DIR})", className="lab-fact-key"),
            html.Code(shown(seed.joined, joined=True), className="d-block text-break", id=ids("seed-joined")),
            html.Div("which is", className="lab-fact-key mt-2"),
            html.Code(shown(seed.normalized), className="d-block text-break"),
            html.Ul([html.Li(p) for p in seed.problems], className="small text-danger mt-2 mb-2", id=ids("seed-problems")),
            dbc.Alert(
                [
                    html.Strong("This page: ignored. "),
                    "The name comes from your session id: ",
                    html.Code(f"session-files/{ours}"),
                    ". Nothing above was opened, created or even looked up on disk.",
                ],
                color="success",
                className="py-2 small mb-0",
            ),
        ]
    )
