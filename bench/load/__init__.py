"""The load scenario, and the load engine the capacity scenario shares: Locust (a master and worker processes,
on one machine or several) driving many browser sessions of the headless Dash client.

locustfile.py (the Locust side: one User = one session, the shape, the master's records) · swarm.py (Locust as
processes, from the bench process) · driver.py (one session: open, interact, check reads) · budget.py (Guard,
Gate) · wire.py (worker → master messages) · collect.py (the master's records read back) · ramp.py (the capacity
ramp's rules) · monitors.py (memory, CPU, the Redis restart) · analysis.py (pure: rows, events, timeline,
bounds) · run.py (the load's orchestration, LoadConfig) · scenario.py (python -m bench --scenario load).

    python -m bench --scenario load --sessions 50 --duration 60 --out DIR
    python -m bench --scenario load --redis auto --restart-redis-at 25 --out DIR

Locust user g (numbered over every worker) drives strategy g mod n (n = the strategies the site lists plus the
no-op floor) with the same headless renderer and the same declared specs as the standard run: its own cookies,
session ids and browser-held state, one interaction per task with a think time (--think ×0.5..1.5), until the
duration ends. The run is bounded three ways: the shape stops every session at the duration; an interaction in
flight then gets --stop-timeout (DRAIN_S) to finish, after which Locust kills it (recorded as unanswered, "hard
stop"); and the whole run sends at most --max-requests requests (each worker a share). A request already on the
wire is bounded by --timeout. An interaction still unanswered after --abandon-after seconds (a background job
whose task was lost polls for ever, as the browser would) is given up on: the session reloads its page and goes
on. Figures are collected on the master: every worker sends each session event to it as a Locust message, and
the master writes them to its records file, which the bench process replays into the analysis. Locust's own
stats (--json-file) count the same interactions (report field locust_interactions). Loopback only by default.

Memory: the resident set (RSS) of every gunicorn worker — the children of the master process the harness
started — and Redis's INFO memory (used_memory, used_memory_rss), sampled every SAMPLE_S seconds; the bound
applies to the peak over the run minus the reading at the start.

Redis restart (--redis auto --restart-redis-at T): the harness started its own redis-server, with no
persistence (--save "" --appendonly no), on a free port. At T (seconds after Locust's master began the load) it
stops it (SIGTERM), waits --redis-down-for seconds and starts it again on the same port. Every error, stale read
and unanswered interaction carries its time; those whose time span overlaps [down, up + grace] are the outage's,
the others count against the strategy. Values a strategy held in Redis before the restart are gone (no
persistence): a strategy "keeps" its state through the restart if it recomputes or reports the loss cleanly,
never shows another session's data, and errs only inside the window.

Several machines: on the machine that runs python -m bench, add --locust-bind 0.0.0.0 --remote-workers K (and
--url of the deployment); on each other machine, in a checkout of this project, run
python -m bench --locust-master HOST --load-processes N (it starts N Locust workers that join HOST's master).
"""
