"""The benchmark job's signed pass: the header its requests carry so the server caps the expensive step's
delay at the CLI's for those requests only (workload.DELAY_CAP) and telemetry leaves them out of "visitors".

Checked before every request (app.py installs the hook); minted by the job (runtime/bench_job.py).
"""

from __future__ import annotations

import hashlib
import hmac
import time

import flask

import stores
import workload

PASS_HEADER = "X-Statelab-Bench-Pass"
PASS_TTL = 3600
PAGE_DELAY = 0.2  # the CLI's default (bench/cli.py): page runs measure what the README's runs measure


def page_delay(lab: stores.Lab) -> float:
    """The delay a page run measures with: the CLI's, never more than the site's own."""
    return min(PAGE_DELAY, lab.settings.compute_delay)


def _pass_signature(secret: bytes, expires: int, delay: str) -> str:
    return hmac.new(secret, f"statelab bench pass|{expires}|{delay}".encode(), hashlib.sha256).hexdigest()


def make_pass(lab: stores.Lab, delay: float, ttl: float = PASS_TTL) -> str:
    expires, text = int(time.time() + ttl), f"{delay:g}"
    return f"{expires}.{text}.{_pass_signature(lab.secret, expires, text)}"


def pass_delay(value, lab: stores.Lab) -> float | None:
    """The delay cap a request's pass grants, or None (no pass, expired, forged, or not a listed delay)."""
    if not isinstance(value, str) or len(value) > 120:
        return None
    # "<expires>.<delay>.<signature>"; the delay itself may hold a dot ("0.2")
    head, _, sig = value.rpartition(".")
    expires_text, _, delay_text = head.partition(".")
    if not expires_text.isdigit() or delay_text != f"{page_delay(lab):g}":
        return None
    try:
        expected = _pass_signature(lab.secret, int(expires_text), delay_text)
    except stores.StoreError:
        return None
    if int(expires_text) < time.time() or not hmac.compare_digest(sig.encode("ascii", "replace"), expected.encode()):
        return None
    return float(delay_text)


def apply_pass(value, lab: stores.Lab) -> None:
    """Before a request: with a valid pass, cap its compute delay and mark it as the benchmark's own."""
    if value is None:
        return
    delay = pass_delay(value, lab)
    if delay is not None:
        workload.DELAY_CAP.set(delay)
        flask.g.statelab_bench = True


def clear_pass() -> None:
    workload.DELAY_CAP.set(None)
