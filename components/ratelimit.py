"""Per-client rate limits on the callbacks that cost the server work.

`limits` (the library under flask-limiter) counts in fixed windows; its storage here is the
site's own Store — diskcache shared by the workers of one host, or the site's Redis — so every
worker and host sees one count per client. A request over a limit gets HTTP 429 with a JSON
message (the page shows it as a toast) saying the bound and when to try again.

Which requests count: starting a job (a background callback without its polling handles, the
synchronous demo), the producers that run the expensive step, and, far more generously, every
other callback. Polls of a running job, the instruments' ticks and the page router are cheap
and are not limited beyond that.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import g, request
from limits import parse
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter

from i18n import _, ngettext
from stores.base import Store, StoreError

PREFIX = "ratelimit:"


class StoreStorage(Storage):
    """A `limits` storage on the site's Store: counters with a TTL, shared by every process."""

    STORAGE_SCHEME = ["statelab-store"]

    def __init__(self, store: Store):
        super().__init__()
        self.store = store

    @property
    def base_exceptions(self):
        return StoreError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        count = self.store.incr(PREFIX + key, amount)
        if count == amount or self.store.get(PREFIX + key + ":end") is None:
            # The first hit opens the window (or its end was lost): counter and end expire together.
            self.store.touch(PREFIX + key, expiry)
            self.store.add(PREFIX + key + ":end", repr(time.time() + expiry).encode(), ttl=expiry)
        return count

    def get(self, key: str) -> int:
        return self.store.get_int(PREFIX + key)

    def get_expiry(self, key: str) -> float:
        raw = self.store.get(PREFIX + key + ":end")
        return float(raw) if raw else time.time()

    def check(self) -> bool:
        try:
            self.store.ping()
        except StoreError:
            return False
        return True

    def reset(self) -> int | None:
        return None  # never wipe every client's counters from a request path

    def clear(self, key: str) -> None:
        self.store.delete(PREFIX + key)
        self.store.delete(PREFIX + key + ":end")


@dataclass(frozen=True)
class Rule:
    name: str
    limit: str  # in `limits` notation: "20 per 10 seconds"
    what: str  # what it counts (refusal() says it, translated, in the 429 message)


JOBS = Rule("jobs", "6 per 1 minute", "job starts")
COMPUTE = Rule("compute", "30 per 10 seconds", "computations")
CALLBACKS = Rule("callbacks", "150 per 10 seconds", "callback requests")

# The producers: each of these runs the expensive step (or reads it through a cache that may).
COMPUTING = (
    "..hidden-div__data.", "..aggregates__data.", "..clientside__data.", "..serverside__key.",
    "..cache-signal__signal.", "..url-state__table.", "url-state__graph.", "..browser-store__memory.data",
    "..session-files__signal.", "..session-cache__table.", "session-cache__graph.",
)
FREE = ("_pages_", "..{\"ns\"", "{\"ns\"")  # the router and the instruments' panel (MATCH ids)


def rule_for(body: dict, callback: dict) -> Rule | None:
    """Which limit a callback request counts against, or None."""
    output = body.get("output", "")
    if request.args.get("cacheKey"):
        return None  # a poll of a job that was already admitted
    if callback.get("background") or output.startswith("background__sync-result"):
        return JOBS
    if output.startswith(FREE) or any(isinstance(i, dict) and i.get("id") == "_pages_location"
                                      for i in body.get("inputs", [])):
        return None
    if output.startswith(COMPUTING):
        return COMPUTE
    return CALLBACKS


class Limiter:
    """The site's limiter; check() answers None, or the 429 message for this request."""

    def __init__(self, store: Store, enabled: bool = True):
        self.enabled = enabled
        self.strategy = FixedWindowRateLimiter(StoreStorage(store))
        self.parsed = {rule.name: parse(rule.limit) for rule in (JOBS, COMPUTE, CALLBACKS)}

    @staticmethod
    def client() -> str:
        # The peer address: a header could be forged by the client it is meant to limit.
        return (request.remote_addr or "unknown")[:64]

    def check(self, body: dict, callback: dict) -> str | None:
        # The benchmark page's own job (a signed pass, runtime/bench_pass.py): all its sessions share
        # loopback, and it is bounded where it starts (one run site-wide, within the visitor's limits).
        if not self.enabled or g.get("statelab_bench"):
            return None
        rule = rule_for(body, callback)
        if rule is None:
            return None
        item, client = self.parsed[rule.name], self.client()
        if self.strategy.hit(item, rule.name, client):
            return None
        reset = self.strategy.get_window_stats(item, rule.name, client).reset_time
        wait = max(1, round(reset - time.time()))
        return refusal(rule, item, wait)


def _bound(rule: Rule, item) -> str:
    """The rule's bound for people ("6 per 1 minute", as `limit` says it in English), in the visitor's language."""
    granularity = getattr(getattr(item, "GRANULARITY", None), "name", None)
    if granularity == "minute":
        return ngettext("%(amount)s per %(num)d minute", "%(amount)s per %(num)d minutes", item.multiples,
                        amount=item.amount)
    if granularity == "second":
        return ngettext("%(amount)s per %(num)d second", "%(amount)s per %(num)d seconds", item.multiples,
                        amount=item.amount)
    return rule.limit


def refusal(rule: Rule, item, wait: int) -> str:
    """The 429 message: which limit, its bound, and when to try again (one sentence per rule: word order differs)."""
    bound = _bound(rule, item)
    if rule.name == JOBS.name:
        return _("Too many job starts from your address: at most %(limit)s per visitor on this site. "
                 "Try again in %(wait)s s.", limit=bound, wait=wait)
    if rule.name == COMPUTE.name:
        return _("Too many computations from your address: at most %(limit)s per visitor on this site. "
                 "Try again in %(wait)s s.", limit=bound, wait=wait)
    return _("Too many callback requests from your address: at most %(limit)s per visitor on this site. "
             "Try again in %(wait)s s.", limit=bound, wait=wait)
