"""Progress pushed, not polled: the record of pages/live_progress.py (the live page is live/pages/progress.py).

Its texts and values are strategies/records/live_progress.toml; this module adds only what must be code.
"""

from __future__ import annotations

from strategies.datafile import record


def _figure(g) -> dict:
    """Click to first progress, pushed and polled, and the polls a job costs, from the push reference run."""
    polls = g.pushed("live-progress", "poll").get("polls_per_interaction")
    return {"push_first": g.push_ms("live-progress", "push", "first_progress_ms_p50"),
            "poll_first": g.push_ms("live-progress", "poll", "first_progress_ms_p50"),
            "polls": "unknown" if polls is None else f"{polls:g}"}


STRATEGY = record(__name__, figures={35: _figure})
