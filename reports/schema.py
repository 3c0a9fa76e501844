"""What a benchmark report is: its schema name, the keys of a result row, and the check a file must pass."""

from __future__ import annotations

import json
import time
from pathlib import Path

SCHEMA = "statelab.bench/1"

# The keys every result row has, in the order the CSV and the table show them.
# Bytes per interaction, as deployed: request_bytes is the bodies sent up, raw — browsers never compress
# a request body, so there is no "wire" figure apart from it; response_bytes is the answers decoded
# (the JSON the renderer parses) and response_bytes_wire the same answers as they crossed the wire
# (compressed per content_encoding: "br", "gzip" or "identity"); compression_down = decoded / wire.
FIELDS = [
    "strategy", "kind", "scenario", "rows", "latency_ms_p50", "latency_ms_p95", "producer_ms_p50", "consumer_ms_p50",
    "request_bytes", "response_bytes", "response_bytes_wire", "compression_down", "content_encoding", "requests_per_interaction", "workers_hit", "requests_per_worker",
    "requests_per_host", "computations", "cache_hits", "cache_misses", "cache_hit_rate", "interactions", "reads",
    "unverified_reads", "stale_reads", "leaks", "server_bytes", "browser_bytes", "errors",
]


class ReportError(ValueError):
    """A file that is not a benchmark report this version can read."""


def check(report) -> dict:
    if not isinstance(report, dict) or report.get("schema") != SCHEMA:
        raise ReportError(f"not a {SCHEMA} report (schema {report.get('schema') if isinstance(report, dict) else None!r})")
    if not isinstance(report.get("results"), list) or not isinstance(report.get("config"), dict):
        raise ReportError("a report needs a 'config' object and a 'results' list")
    return report


def load(path: Path | str) -> dict:
    report = json.loads(Path(path).read_text())
    check(report)
    return report


def envelope(started: float, config: dict, results: list[dict]) -> dict:
    """The fields every report begins with, whatever the scenario; `started` is the run's time.time() at its start."""
    return {
        "schema": SCHEMA,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seconds": round(time.time() - started, 1),
        "config": config,
        "results": results,
    }
