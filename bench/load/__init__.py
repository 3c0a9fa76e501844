"""The load scenario: many sessions for a fixed time over every strategy, the memory of every
gunicorn worker and of Redis at the start and the end, and optionally Redis restarted midway.

budget.py (Guard, Gate) · driver.py (the sessions) · monitors.py (memory, the Redis restart) ·
analysis.py (pure: rows, events, timeline, bounds) · run.py (orchestration, LoadConfig).

    python -m bench --scenario load --sessions 50 --duration 60 --out DIR
    python -m bench --scenario load --redis auto --restart-redis-at 25 --out DIR

Session i drives strategy i mod n (n = the strategies the site lists plus the no-op floor) with
the same headless renderer and the same declared specs as the standard run: its own cookies,
session ids and browser-held state, one round after another with a short think time, until the
duration ends. The run is bounded three ways: no round starts after the duration; rounds still
running get DRAIN_S seconds, after which every further request of every session fails at once;
and the whole run sends at most --max-requests requests. A request already on the wire is bounded
by --timeout. An interaction still unanswered after --abandon-after seconds (a background job whose
task was lost polls for ever, as the browser would) is given up on: the session reloads its page
and goes on. Interactions given up on are counted as "unanswered", with their start time, apart
from errors. Loopback only: the harness starts the site itself (or drives --url).

Memory: the resident set (RSS) of every gunicorn worker — the children of the master process the
harness started — and Redis's INFO memory (used_memory, used_memory_rss), sampled every
SAMPLE_S seconds; the bound applies to the peak over the run minus the reading at the start.

Redis restart (--redis auto --restart-redis-at T): the harness started its own redis-server, with
no persistence (--save "" --appendonly no), on a free port. At T it stops it (SIGTERM), waits
--redis-down-for seconds and starts it again on the same port. Every error, stale read and
unanswered interaction carries its time; those whose time span overlaps [down, up + grace] are the outage's,
the others count against the strategy. Values a strategy held in Redis before the restart are gone
(no persistence): a strategy "keeps" its state through the restart if it recomputes or reports the
loss cleanly, never shows another session's data, and errs only inside the window.
"""

from .run import LoadConfig, run

__all__ = ["LoadConfig", "run"]
