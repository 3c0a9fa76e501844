import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, dcc, html, no_update

import stores
import workload
from components import a11y, figures, instruments, strategy
from components import background_view as view
from components.ids import Ids
from components.source import source_panel
from i18n import _
from runtime import background_jobs as jobs
from strategies.background import STRATEGY

dash.register_page(__name__, **STRATEGY.page_args())
META = STRATEGY.meta()
ids = Ids(META["slug"])
SLUG = META["slug"]
instruments.register_stats(SLUG, jobs.stats)

STATES = [State(ids("rows"), "value"), State(ids("steps"), "value"), State(ids("token"), "data")]


def _example(number, title, text, body):
    return dbc.Col(
        dbc.Card(
            [
                dbc.CardHeader([html.Span(number, className="bg-num"), html.Span(title, className="fw-semibold")]),
                dbc.CardBody([html.P(text, className="small text-muted"), *body]),
            ],
            className="lab-card h-100",
        ),
        md=6,
        className="mb-3",
    )


def _buttons(example, cancel=False):
    items = [dbc.Button(_("Run job"), id=ids(f"ex{example}-run"), color="primary", size="sm", className="me-2")]
    if cancel:
        items.append(
            dbc.Button(_("Cancel"), id=ids(f"ex{example}-cancel"), color="secondary", outline=True, size="sm", disabled=True)
        )
    return html.Div(items, className="mb-2")


def _result(example):
    return html.Div(_("Not run yet."), id=ids(f"ex{example}-result"), className="bg-result-box small text-muted")


def _note(example):
    return html.Div(id=ids(f"ex{example}-note"), className="small text-muted mb-1")


def _js_texts():
    """The texts the page's JavaScript writes (the browser has no gettext): last State of those clientside callbacks."""
    return {
        "cancelled": _("Cancelled: the job was terminated, its result will never arrive."),
        "running": _("Running inside a web worker… {seconds} s"),
        "runningLimits": _(
            "Running inside a web worker… {seconds} s (the request timeout: {timeout} s, the job needs {needs} s)"
        ),
    }


def layout(**_query):
    settings = stores.current().settings
    manager = "CeleryManager" if settings.redis_url else "DiskcacheManager"
    step_seconds = f"{settings.compute_delay:g}"
    if settings.redis_url:
        where = _(
            "jobs go through the Redis queue to a Celery prefork worker (a separate program, possibly another host). "
            "Each step takes ~%(seconds)s s.",
            seconds=step_seconds,
        )
    else:
        where = _(
            "each job is a new process forked from the web worker that received the click; results go to diskcache "
            "files. Each step takes ~%(seconds)s s.",
            seconds=step_seconds,
        )
    needs = jobs.long_job_seconds(settings)
    controls = dbc.Card(
        dbc.CardBody(
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Label(_("Rows per step"), html_for=ids("rows"), className="small mb-1"),
                            dbc.RadioItems(
                                id=ids("rows"),
                                options=[{"label": f"{n:,}", "value": n} for n in workload.ROW_CHOICES],
                                value=workload.DEFAULT_ROWS,
                                inline=True,
                            ),
                        ],
                        md=4,
                    ),
                    dbc.Col(
                        [
                            dbc.Label(_("Steps (one region each)"), html_for=ids("steps"), className="small mb-1"),
                            dbc.RadioItems(
                                id=ids("steps"),
                                options=[{"label": str(n), "value": n} for n in jobs.STEP_CHOICES],
                                value=jobs.DEFAULT_STEPS,
                                inline=True,
                            ),
                        ],
                        md=3,
                    ),
                    dbc.Col(
                        html.Div(
                            [
                                dbc.Badge(manager, color="info", className="me-2"),
                                html.Span(where),
                            ],
                            className="small",
                        ),
                        md=5,
                    ),
                ],
                className="g-2 align-items-center",
            )
        ),
        className="lab-card mb-3",
    )
    examples = dbc.Row(
        [
            _example(
                "1",
                _("A simple background job"),
                _(
                    "background=True and nothing else: no sign that it runs. "
                    "Click twice quickly: the renderer cancels the first job (oldJob) and only the second answers."
                ),
                [_buttons(1), _result(1)],
            ),
            _example(
                "2",
                _("running= disables the button"),
                _(
                    "While the job runs, running= sets the button's disabled "
                    "to True, and back to False when it ends: no double submits."
                ),
                [_buttons(2), _result(2)],
            ),
            _example(
                "3",
                _("cancel= stops the job"),
                _(
                    "Cancel changes an input listed in cancel=; Dash terminates the "
                    "job's process (DiskcacheManager) or revokes the Celery task, and no result arrives."
                ),
                [_buttons(3, cancel=True), _note(3), _result(3)],
            ),
            _example(
                "4",
                _("progress= drives a progress bar"),
                _(
                    "The job calls set_progress after each step; each poll "
                    "brings the newest value. A watchdog declares the job lost after "
                    "%(seconds)s s without progress and cancels it, so polling always ends — "
                    "unless the job is still waiting in a Celery queue that live workers are serving.",
                    seconds=format(jobs.lost_after(settings), ".0f"),
                ),
                [
                    _buttons(4, cancel=True),
                    a11y.progress(_("Example 4: job progress"), id=ids("ex4-bar"), value=0, label="", striped=True, animated=True, className="mb-2 bg-bar"),
                    html.Div(id=ids("ex4-status"), className="mb-2"),
                    _result(4),
                    dcc.Interval(id=ids("ex4-watch"), interval=1000, disabled=True),
                    dcc.Store(id=ids("ex4-running"), data=False),
                    dcc.Store(id=ids("ex4-lost")),
                    dcc.Store(id=ids("ex4-cancelled")),
                ],
            ),
            _example(
                "5",
                _("progress_default= resets a progress graph"),
                _("progress= can set any property — here a figure. progress_default= is what it shows when no job runs."),
                [
                    _buttons(5, cancel=True),
                    dcc.Graph(
                        id=ids("ex5-graph"),
                        figure=figures.progress_figure(0, jobs.DEFAULT_STEPS),
                        config=figures.GRAPH_CONFIG,
                        className="bg-graph",
                    ),
                    _note(5),
                    _result(5),
                ],
            ),
            dbc.Col(
                dbc.Card(
                    [
                        dbc.CardHeader(
                            [html.Span("?", className="bg-num"), html.Span(_("Why a task queue"), className="fw-semibold")]
                        ),
                        dbc.CardBody(
                            [
                                html.P(
                                    _(
                                        "The same job twice: 4 steps, %(needs)s s in all. A request may run at most "
                                        "%(timeout)s s here (gunicorn's sync workers were killed at that point; "
                                        "this site's threaded workers stop the request themselves): run inside a request, "
                                        "the job never finishes; as a background job it does. One synchronous run at a "
                                        "time, site-wide.",
                                        needs=needs,
                                        timeout=settings.worker_timeout,
                                    ),
                                    className="small text-muted",
                                ),
                                dbc.Button(
                                    _("Run synchronously (%(needs)s s)", needs=needs),
                                    id=ids("sync-run"),
                                    color="danger",
                                    outline=True,
                                    size="sm",
                                    className="mb-2",
                                ),
                                html.Div(id=ids("sync-status"), className="small text-muted mb-1"),
                                html.Div(id=ids("sync-result")),
                                html.Div(id=ids("sync-alert")),
                                html.Hr(className="my-2"),
                                dbc.Button(
                                    _("Run in the background (%(needs)s s)", needs=needs),
                                    id=ids("twin-run"),
                                    color="success",
                                    outline=True,
                                    size="sm",
                                    className="mb-2",
                                ),
                                a11y.progress(_("Synchronous twin: progress"), id=ids("twin-bar"), value=0, label="", className="mb-2 bg-bar"),
                                html.Div(id=ids("twin-result"), className="small"),
                                dcc.Interval(id=ids("sync-tick"), interval=500, disabled=True),
                                dcc.Store(id=ids("sync-failed")),
                                dcc.Store(id=ids("limits"), data={"timeout": settings.worker_timeout, "needs": needs}),
                                dcc.Store(id=ids("texts"), data=_js_texts()),
                            ]
                        ),
                    ],
                    className="lab-card h-100",
                ),
                md=6,
                className="mb-3",
            ),
        ],
        className="g-3",
    )
    return strategy.page(
        META,
        [controls, examples, dcc.Store(id=ids("token"), data=jobs.new_token(stores.current()))],
        instruments.panel(SLUG),
        source_panel(__name__),
        what=_(
            "A callback with background=True does not run in the request. The first request hands the job to the "
            "manager and returns two signed handles (cacheKey, job) at once; the browser then re-posts them every "
            "interval and gets progress, then the result. DiskcacheManager runs the job in a new process next to the "
            "web worker; CeleryManager queues it in Redis for a Celery worker, so jobs can run on other machines. Web "
            "workers only ever answer short requests, so gunicorn's timeout no longer limits how long a job may take."
        ),
        when=_(
            "A job takes longer than a few seconds: long queries, model fits, report builds — anything that could "
            "come near the server's worker timeout, or that you want to show progress for or let users cancel."
        ),
        when_not=_(
            "The work takes well under a second (the polls cost more than they save), or the user needs the "
            "answer in the same request. Do not run DiskcacheManager in production: it forks a process per job on the "
            "web host with no queue and no limit."
        ),
    )


# 1 — the simple background callback of the guide, on the shared workload.
@callback(
    Output(ids("ex1-result"), "children"),
    Input(ids("ex1-run"), "n_clicks"),
    *STATES,
    background=True,
    prevent_initial_call=True,
)
def simple_job(n_clicks, rows, steps, token):
    lab = stores.current()
    return view.guarded(lambda: view.result_view(jobs.run(lab, jobs.ticket(token, "1", n_clicks), rows, steps)))


# 2 — running= disables the button while the job runs.
@callback(
    Output(ids("ex2-result"), "children"),
    Input(ids("ex2-run"), "n_clicks"),
    *STATES,
    background=True,
    running=[(Output(ids("ex2-run"), "disabled"), True, False)],
    prevent_initial_call=True,
)
def job_with_running(n_clicks, rows, steps, token):
    lab = stores.current()
    return view.guarded(lambda: view.result_view(jobs.run(lab, jobs.ticket(token, "2", n_clicks), rows, steps)))


# 3 — cancel= : the Cancel button terminates the job.
@callback(
    Output(ids("ex3-result"), "children"),
    Input(ids("ex3-run"), "n_clicks"),
    *STATES,
    background=True,
    running=[(Output(ids("ex3-run"), "disabled"), True, False), (Output(ids("ex3-cancel"), "disabled"), False, True)],
    cancel=[Input(ids("ex3-cancel"), "n_clicks")],
    prevent_initial_call=True,
)
def cancellable_job(n_clicks, rows, steps, token):
    lab = stores.current()
    return view.guarded(lambda: view.result_view(jobs.run(lab, jobs.ticket(token, "3", n_clicks), rows, steps)))


# In the browser: say what Cancel did (the result never comes) in the result box itself, so it never
# reads "Not run yet." beside a note that the job was cancelled; the next run clears the note.
for _example_number in ("3", "5"):
    clientside_callback(
        """function (_run, _cancel, texts) {
            const t = dash_clientside.callback_context.triggered_id || "";
            if (!t.endsWith("-cancel")) return ["", dash_clientside.no_update];
            return ["", (texts && texts.cancelled) || "Cancelled: the job was terminated, its result will never arrive."];
        }""",
        Output(ids(f"ex{_example_number}-note"), "children"),
        Output(ids(f"ex{_example_number}-result"), "children", allow_duplicate=True),
        Input(ids(f"ex{_example_number}-run"), "n_clicks"),
        Input(ids(f"ex{_example_number}-cancel"), "n_clicks"),
        State(ids("texts"), "data"),
        prevent_initial_call=True,
    )


# 4 — progress= drives a progress bar; the watchdog's "lost" signal is a cancel input too.
@callback(
    Output(ids("ex4-result"), "children"),
    Input(ids("ex4-run"), "n_clicks"),
    *STATES,
    background=True,
    running=[
        (Output(ids("ex4-run"), "disabled"), True, False),
        (Output(ids("ex4-cancel"), "disabled"), False, True),
        (Output(ids("ex4-watch"), "disabled"), False, True),
        (Output(ids("ex4-running"), "data"), True, False),
    ],
    cancel=[Input(ids("ex4-cancel"), "n_clicks"), Input(ids("ex4-lost"), "data")],
    progress=[Output(ids("ex4-bar"), "value"), Output(ids("ex4-bar"), "label")],
    interval=500,
    prevent_initial_call=True,
)
def progress_bar_job(set_progress, n_clicks, rows, steps, token):
    lab = stores.current()
    if jobs.already_cancelled():
        return no_update

    def report(done, total, _region, record):
        set_progress((round(100 * done / total), view.progress_label(done, total, record)))

    return view.guarded(lambda: view.result_view(jobs.run(lab, jobs.ticket(token, "4", n_clicks), rows, steps, on_step=report)))


# The watchdog: every second while job 4 runs, and once when it stops.
@callback(
    Output(ids("ex4-status"), "children"),
    Output(ids("ex4-lost"), "data"),
    Input(ids("ex4-watch"), "n_intervals"),
    Input(ids("ex4-running"), "data"),
    State(ids("ex4-run"), "n_clicks"),
    State(ids("ex4-cancelled"), "data"),
    State(ids("token"), "data"),
    prevent_initial_call=True,
)
def watch_progress_job(_tick, running, n_clicks, cancelled_run, token):
    if not n_clicks:
        return no_update, no_update
    lab = stores.current()
    try:
        verdict = jobs.watch(lab, jobs.ticket(token, "4", n_clicks), running=bool(running), cancelled=cancelled_run == n_clicks)
    except (stores.StoreError, jobs.JobError) as exc:
        return view.error_view(exc), no_update
    return view.watch_view(verdict), (n_clicks if verdict.lost_now else no_update)


# Remember, in the browser, which run the user cancelled (no request needed).
clientside_callback(
    "function (_cancel, runClicks) { return runClicks || 0; }",
    Output(ids("ex4-cancelled"), "data"),
    Input(ids("ex4-cancel"), "n_clicks"),
    State(ids("ex4-run"), "n_clicks"),
    prevent_initial_call=True,
)


# 5 — progress= sets a figure; progress_default= is the figure shown when no job runs.
@callback(
    Output(ids("ex5-result"), "children"),
    Input(ids("ex5-run"), "n_clicks"),
    *STATES,
    background=True,
    running=[(Output(ids("ex5-run"), "disabled"), True, False), (Output(ids("ex5-cancel"), "disabled"), False, True)],
    cancel=[Input(ids("ex5-cancel"), "n_clicks")],
    progress=Output(ids("ex5-graph"), "figure"),
    progress_default=figures.progress_figure(0, jobs.DEFAULT_STEPS),
    interval=500,
    prevent_initial_call=True,
)
def progress_graph_job(set_progress, n_clicks, rows, steps, token):
    lab = stores.current()
    return view.guarded(
        lambda: view.result_view(
            jobs.run(
                lab,
                jobs.ticket(token, "5", n_clicks),
                rows,
                steps,
                on_step=lambda done, total, _region, _record: set_progress(figures.progress_figure(done, total)),
            )
        )
    )


# Why a task queue, synchronous: the job runs inside the request, and gunicorn kills the worker.
@callback(
    Output(ids("sync-result"), "children"),
    Input(ids("sync-run"), "n_clicks"),
    State(ids("rows"), "value"),
    State(ids("token"), "data"),
    prevent_initial_call=True,
)
def synchronous_job(n_clicks, rows, token):
    lab = stores.current()
    return view.guarded(lambda: view.run_sync(lab, token, n_clicks, rows))


# The browser notices the failed request (assets/background.js) and keeps a clock meanwhile.
clientside_callback(
    ClientsideFunction(namespace="background", function_name="syncWatch"),
    Output(ids("sync-tick"), "disabled"),
    Output(ids("sync-run"), "disabled"),
    Output(ids("sync-status"), "children"),
    Output(ids("sync-failed"), "data"),
    Input(ids("sync-run"), "n_clicks"),
    Input(ids("sync-tick"), "n_intervals"),
    State(ids("limits"), "data"),
    State(ids("texts"), "data"),
    prevent_initial_call=True,
)


@callback(
    Output(ids("sync-alert"), "children"),
    Input(ids("sync-failed"), "data"),
    State(ids("token"), "data"),
    prevent_initial_call=True,
)
def explain_killed_worker(failure, token):
    lab = stores.current()
    if not isinstance(failure, dict):
        return None  # a new run cleared the last failure
    try:
        record = jobs.load(lab, jobs.ticket(token, "sync", failure.get("clicks")))
    except (stores.StoreError, jobs.JobError):
        record = None
    return view.sync_autopsy(failure, record, lab.settings.worker_timeout, jobs.long_job_seconds(lab.settings))


# Why a task queue, in the background: the same job, and it finishes.
@callback(
    Output(ids("twin-result"), "children"),
    Input(ids("twin-run"), "n_clicks"),
    State(ids("rows"), "value"),
    State(ids("token"), "data"),
    background=True,
    running=[(Output(ids("twin-run"), "disabled"), True, False)],
    progress=[Output(ids("twin-bar"), "value"), Output(ids("twin-bar"), "label")],
    prevent_initial_call=True,
)
def background_twin(set_progress, n_clicks, rows, token):
    lab = stores.current()
    seconds = jobs.long_job_seconds(lab.settings)

    def report(done, total, _region, record):
        set_progress((round(100 * done / total), view.progress_label(done, total, record)))

    def job():
        record = jobs.run(lab, jobs.ticket(token, "twin", n_clicks), rows, 4, step_delay=seconds / 4, on_step=report)
        return view.result_view(
            record,
            _(
                "Finished: %(seconds)s s, past the %(timeout)s s worker timeout",
                seconds=format(record["seconds"], ".1f"),
                timeout=lab.settings.worker_timeout,
            ),
        )

    return view.guarded(job)
