"""The capacity scenario: how many concurrent sessions each strategy serves on each server kind before it
saturates (p95 over a limit or errors over 1 %), measured with Locust (bench/load/locustfile.py).

scenario.py (options, orchestration) · figures.py (per step and per strategy, pure). The report's own fields,
words, targets and HTML are reports/capacity.py.

    python -m bench --scenario capacity --strategies baseline-noop,serverside,session-cache,hidden-div,peer-dash-extensions --out DIR
"""

from .scenario import add_options, check_args, run

__all__ = ["add_options", "check_args", "run"]
