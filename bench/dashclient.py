"""A headless Dash renderer: the very HTTP requests a browser makes for a page's callbacks.

It reads the server's callback graph (/_dash-dependencies), fetches a page through the
renderer's own router callback, keeps every component's props as the browser holds
them, and when a prop is set it fires the callbacks that depend on it — then every
callback that depends on *their* outputs — carrying browser-held values (stores,
hidden divs, figures) back up as Input and State, in the order the renderer would
(a callback waits while anything upstream of it is still pending). Background
callbacks are polled with their signed cacheKey/job handles; Patch responses are
applied to the held value. Clientside callbacks run nowhere here (there is no
JavaScript): a page's spec may give a Python stand-in.

Every request is recorded: bytes up and down, milliseconds, the worker pid from
X-Worker-PID, status. It asks for compressed answers as Chromium does (Accept-Encoding), and
records each answer twice: `down_wire`, the body's bytes as they came over the wire (compressed),
and `down`, the decoded JSON. Request bodies go up raw, as a browser sends them.
"""

from __future__ import annotations

import html as html_lib
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import requests
from urllib3.util.request import ACCEPT_ENCODING as DECODABLE

from .dashgraph import (
    CONFIG_SCRIPT,
    PARALLEL,
    PID_HEADER,
    ROUTER_OUTPUT,
    Callback,
    DashClientError,
    Dep,
    Graph,
    components_in,
    dumps,
    may_hold_components,
    parse,
    split_output,
    stringify_id,
)
from .dashpatch import MISSING, apply_patch, is_patch

__all__ = ["MISSING", "PARALLEL", "Browser", "Call", "Callback", "DashClientError", "Dep", "Graph", "Interaction", "Page",
           "apply_patch", "dumps", "parse", "split_output", "stringify_id"]


# --------------------------------------------------------------------------- what was sent and received

# What Chromium sends (Chromium 123 and later), less what urllib3 here cannot decode (zstd needs a package).
CHROMIUM_ACCEPT_ENCODING = ("gzip", "deflate", "br", "zstd")
ACCEPT_ENCODING = ", ".join(e for e in CHROMIUM_ACCEPT_ENCODING if e in DECODABLE.split(","))


@dataclass
class Call:
    """One HTTP request to /_dash-update-component."""

    output: str
    host: str
    status: int
    up: int
    down: int
    ms: float
    pid: str
    started: float
    depth: int
    poll: bool = False
    error: str | None = None
    down_wire: int | None = None  # the body's bytes on the wire (compressed); None: not measured
    encoding: str = ""  # the answer's Content-Encoding ("br", "gzip"; "" when sent as it is)

    @property
    def wire(self) -> int:
        return self.down if self.down_wire is None else self.down_wire


@dataclass
class Interaction:
    """Everything one user action caused: its callbacks, bytes and wall time."""

    calls: list[Call] = field(default_factory=list)
    ms: float = 0.0
    skipped_clientside: int = 0
    errors: list[str] = field(default_factory=list)  # failures that are not one call's (a bad answer)

    @property
    def all_errors(self) -> list[str]:
        return [c.error for c in self.calls if c.error] + self.errors

    @property
    def up(self) -> int:
        return sum(c.up for c in self.calls)

    @property
    def down(self) -> int:
        return sum(c.down for c in self.calls)

    @property
    def down_wire(self) -> int:
        return sum(c.wire for c in self.calls)


@dataclass
class _Pending:
    cb: Callback
    binding: dict
    changed: dict  # "id.prop" -> None (ordered set)
    depth: int
    initial: bool = False

    @property
    def key(self):
        return (self.cb.index, tuple(sorted(self.binding.items())))


# --------------------------------------------------------------------------- the browser


class Browser:
    """One visitor: its own cookies, connections and page state.

    urls: the servers to talk to. With several, callbacks go round-robin over them,
    as a load balancer without sticky sessions would send them (scale-out).
    """

    def __init__(self, urls: str | Iterable[str], timeout: float = 120.0, user_agent: str = "statelab-bench/1",
                 headers: dict[str, str] | None = None):
        self.urls = [u.rstrip("/") for u in ([urls] if isinstance(urls, str) else urls)]
        if not self.urls:
            raise ValueError("at least one server URL is needed")
        self.timeout = timeout
        self.http = requests.Session()
        # Dash's endpoints never redirect: a redirect means something else answered, and following
        # it would let that server send the harness (and the site's own benchmark job) anywhere.
        self.http.max_redirects = 0
        self.http.headers["User-Agent"] = user_agent
        self.http.headers["Accept-Encoding"] = ACCEPT_ENCODING
        self.http.headers.update(headers or {})
        adapter = requests.adapters.HTTPAdapter(pool_connections=len(self.urls), pool_maxsize=PARALLEL)
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)
        self._turn = itertools.count()
        self._lock = threading.Lock()

    def next_url(self) -> str:
        with self._lock:
            return self.urls[next(self._turn) % len(self.urls)]

    def close(self) -> None:
        self.http.close()


class Page:
    """A page of a Dash (pages) app as one browser tab holds it."""

    def __init__(self, browser: Browser, path: str, scope: Callable[[Callback], bool] | None = None,
                 clientside: dict[str, Callable] | None = None, graph: Graph | None = None):
        self.browser = browser
        self.path = path
        self.scope = scope or (lambda cb: True)
        self.clientside = clientside or {}
        self.graph = graph
        self.config: dict = {}
        self.root: dict = {}
        self.index: dict[str, dict] = {}  # stringified id -> the component dict
        self.order: list[str] = []
        self.ids: dict[str, object] = {}  # stringified id -> the id itself
        self.load_calls: list[Call] = []

    # -- loading ------------------------------------------------------------------
    def open(self) -> Interaction:
        """GET the page, the app shell and the callback graph; route to the page; run its initial callbacks."""
        http, base = self.browser.http, self.browser.urls[0]
        response = http.get(base + self.path, timeout=self.browser.timeout)
        _ok(response, self.path)
        match = CONFIG_SCRIPT.search(response.text)
        if not match:
            raise DashClientError(f"{base + self.path} is not a Dash page (no _dash-config)")
        self.config = json.loads(html_lib.unescape(match.group(1)))
        prefix = self.config.get("requests_pathname_prefix") or "/"
        self.prefix = prefix
        if self.graph is None:
            deps = http.get(base + prefix + "_dash-dependencies", timeout=self.browser.timeout)
            _ok(deps, "_dash-dependencies")
            self.graph = Graph(parse(deps.content))
        layout = http.get(base + prefix + "_dash-layout", timeout=self.browser.timeout)
        _ok(layout, "_dash-layout")
        self.root = parse(layout.content)
        self._reindex()
        interaction = Interaction()
        started = time.perf_counter()
        router = next((cb for cb in self.graph.callbacks if ROUTER_OUTPUT in cb.output), None)
        if router is not None:
            location = "_pages_location"
            changed = {}
            for prop, value in (("pathname", self.path.split("?")[0]), ("search", "?" + self.path.split("?", 1)[1] if "?" in self.path else "")):
                self._set(location, prop, value)
                changed[f"{location}.{prop}"] = None
            self._run([_Pending(router, {}, changed, 0)], interaction)
        else:  # a single-page app: its layout is the page
            self._run(self._layout_callbacks(set(self.index)), interaction)
        interaction.ms = (time.perf_counter() - started) * 1000
        self.load_calls = interaction.calls
        return interaction

    # -- state ------------------------------------------------------------------
    def _reindex(self) -> None:
        self.index, self.order, self.ids = {}, [], {}
        for comp in components_in(self.root, []):
            ident = comp["props"].get("id")
            if ident is None:
                continue
            key = stringify_id(ident)
            self.index[key] = comp
            self.order.append(key)
            self.ids[key] = ident

    def has(self, ident) -> bool:
        return stringify_id(ident) in self.index

    def get(self, ident, prop: str, default=None):
        comp = self.index.get(stringify_id(ident))
        if comp is None:
            return default
        return comp["props"].get(prop, default)

    def component(self, ident) -> dict | None:
        return self.index.get(stringify_id(ident))

    def components(self) -> list[dict]:
        return [self.index[k] for k in self.order]

    def _set(self, ident, prop: str, value) -> bool:
        """Store a prop value; True when it may have inserted components (a re-index happened)."""
        key = stringify_id(ident)
        comp = self.index.get(key)
        if comp is None:
            return False
        props = comp["props"]
        if is_patch(value):
            value = apply_patch(props.get(prop, MISSING), value)
        old = props.get(prop)
        props[prop] = value
        if may_hold_components(value) or may_hold_components(old):
            self._reindex()
            return True
        return False

    # -- acting -----------------------------------------------------------------
    def set_props(self, changes: list[tuple[object, str, object]]) -> Interaction:
        """What a user does: set props (e.g. a dropdown's value), then every callback that follows."""
        interaction = Interaction()
        started = time.perf_counter()
        changed = {}
        for ident, prop, value in changes:
            if not self.has(ident):
                raise DashClientError(f"the page {self.path} has no component {stringify_id(ident)!r}")
            self._set(ident, prop, value)
            changed[f"{stringify_id(ident)}.{prop}"] = None
        self._run(self._triggered(changed, depth=0), interaction)
        interaction.ms = (time.perf_counter() - started) * 1000
        return interaction

    def initial_callbacks(self) -> Interaction:
        """Fire the in-scope callbacks a freshly inserted layout fires (already done by open)."""
        interaction = Interaction()
        self._run(self._layout_callbacks(set(self.index)), interaction)
        return interaction

    # -- which callbacks fire ------------------------------------------------------
    def _in_layout(self, dep: Dep) -> bool:
        if not dep.wild:
            return stringify_id(dep.id) in self.index
        return any(dep.matches_id(self.ids[k]) for k in self.order)

    def _triggered(self, changed: dict, depth: int) -> list[_Pending]:
        found: dict = {}
        for cb in self.graph.callbacks:
            if not self.scope(cb):
                continue
            for prop_id in changed:
                ident_str, _, prop = prop_id.rpartition(".")
                ident = self.ids.get(ident_str, ident_str)
                for dep in cb.inputs:
                    if dep.prop != prop or not dep.matches_id(ident):
                        continue
                    pending = _Pending(cb, dep.binding(ident), {}, depth)
                    pending = found.setdefault(pending.key, pending)
                    pending.changed[prop_id] = None
        return [p for p in found.values() if self._runnable(p)]

    def _layout_callbacks(self, inserted: set[str]) -> list[_Pending]:
        """Callbacks a newly inserted layout chunk fires: outputs or inputs in the chunk."""
        found: dict = {}
        for cb in self.graph.callbacks:
            if not self.scope(cb) or cb.prevent_initial_call:
                continue
            bindings = [{}]
            if any(d.wild for d in cb.outputs + cb.inputs):
                bindings = []
                for key in self.order:
                    for dep in cb.outputs + cb.inputs:
                        if dep.wild and dep.matches_id(self.ids[key]):
                            b = dep.binding(self.ids[key])
                            if b not in bindings:
                                bindings.append(b)
            for binding in bindings:
                touches = any(
                    (stringify_id(d.id) in inserted) if not d.wild else any(d.agrees(self.ids[k], binding) for k in inserted if k in self.ids)
                    for d in cb.outputs + cb.inputs
                )
                if not touches:
                    continue
                pending = _Pending(cb, binding, {}, 0, initial=True)
                for dep in cb.inputs:
                    if not dep.wild and stringify_id(dep.id) in inserted and not any(stringify_id(o.id) in inserted for o in cb.outputs):
                        pending.changed[f"{stringify_id(dep.id)}.{dep.property}"] = None
                if self._runnable(pending):
                    found.setdefault(pending.key, pending)
        return list(found.values())

    def _runnable(self, pending: _Pending) -> bool:
        cb = pending.cb
        if any(not d.wild and not self._in_layout(d) for d in cb.inputs):
            return False
        return not cb.outputs or any(self._in_layout(d) for d in cb.outputs)

    # -- the scheduler -------------------------------------------------------------
    def _run(self, start: list[_Pending], interaction: Interaction) -> None:
        pending: dict = {p.key: p for p in start}
        inflight: dict = {}
        with ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="dash-cb") as pool:
            while pending or inflight:
                busy = {p.cb.index for p in pending.values()} | {p.cb.index for p in inflight.values()}
                ready = [p for p in pending.values() if not (self.graph.ancestors[p.cb.index] & (busy - {p.cb.index}))]
                if not ready and not inflight:  # a cycle: let the renderer's tie-break order decide
                    ready = [next(iter(pending.values()))]
                for p in ready:
                    del pending[p.key]
                    future = self._submit(pool, p, interaction)
                    if future is not None:
                        inflight[future] = p
                if not inflight:
                    continue
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for future in done:
                    p = inflight.pop(future)
                    try:
                        result = future.result()
                    except DashClientError as exc:
                        interaction.errors.append(str(exc))
                        continue
                    self._settle(p, result, interaction, pending)

    def _submit(self, pool: ThreadPoolExecutor, p: _Pending, interaction: Interaction):
        """Send one callback (or run its Python stand-in); None for a clientside callback nothing stands in for."""
        if p.cb.clientside:
            stand_in = self.clientside.get(p.cb.output)
            if stand_in is None:
                interaction.skipped_clientside += 1
                return None
            payload = self._payload(p)
            return pool.submit(lambda payload=payload, fn=stand_in: {"local": fn(payload)})
        payload = self._payload(p)
        self._side(p.cb.running and p.cb.running.get("running"))
        return pool.submit(self._post, p, payload)

    def _settle(self, p: _Pending, result: dict, interaction: Interaction, pending: dict) -> None:
        """Apply one callback's answer to the held layout and queue what it triggers."""
        if "local" in result:
            updates, side, calls = result["local"] or {}, {}, []
        else:
            updates, side, calls = result["updates"], result["side"], result["calls"]
            self._side(p.cb.running and p.cb.running.get("runningOff"))
        interaction.calls.extend(calls)  # a failed call carries its own error
        changed, inserted = {}, set()
        for ident_str, props in list(updates.items()) + list(side.items()):
            if ident_str not in self.index:
                continue
            before = set(self.index)
            for prop, value in (props or {}).items():
                if self._set(self.ids[ident_str], prop, value):
                    inserted |= set(self.index) - before
                changed[f"{ident_str}.{prop}"] = None
        for q in self._triggered(changed, p.depth + 1) + (self._layout_callbacks(inserted) if inserted else []):
            if q.key in pending:
                pending[q.key].changed.update(q.changed)
            else:
                q.depth = p.depth + 1
                pending[q.key] = q

    def _side(self, updates: dict | None) -> None:
        """running / runningOff: props the renderer sets itself around a callback."""
        for prop_id, value in (updates or {}).items():
            ident_str, _, prop = prop_id.rpartition(".")
            if ident_str in self.index:
                self.index[ident_str]["props"][prop] = value

    def _values(self, deps: list[Dep], binding: dict, with_values: bool = True) -> list:
        filled = []
        for dep in deps:
            if not dep.wild:
                item = {"id": dep.id, "property": dep.property}
                if with_values:
                    value = self.get(dep.id, dep.prop, MISSING)
                    if value is not MISSING:
                        item["value"] = value
                filled.append(item)
                continue
            matches = []
            for key in self.order:
                concrete = self.ids[key]
                if dep.agrees(concrete, binding):
                    item = {"id": concrete, "property": dep.property}
                    if with_values:
                        value = self.index[key]["props"].get(dep.prop, MISSING)
                        if value is not MISSING:
                            item["value"] = value
                    matches.append(item)
            filled.append(matches if dep.multi() else (matches[0] if matches else None))
        return filled

    def _payload(self, p: _Pending) -> dict:
        cb = p.cb
        outputs = self._values(cb.outputs, p.binding, with_values=False)
        changed = list(p.changed)
        payload = {
            "output": cb.output,
            "outputs": outputs if cb.multi_output else (outputs[0] if outputs else []),
            "inputs": self._values(cb.inputs, p.binding),
            "changedPropIds": changed,
            "parsedChangedPropsIds": [_parse_prop_id(c) for c in changed],
        }
        if cb.state:
            payload["state"] = self._values(cb.state, p.binding)
        return payload

    def _post(self, p: _Pending, payload: dict) -> dict:
        """POST one callback (and its background polls); the outputs to apply and the calls made."""
        body = dumps(payload)
        calls: list[Call] = []
        args = []
        if self.config.get("end_id"):
            args.append(("endId", self.config["end_id"]))
        background = p.cb.background
        handles: list[tuple[str, str]] = []
        side: dict = {}
        while True:
            base = self.browser.next_url()
            url = base + self.prefix + "_dash-update-component"
            query = args + handles
            if query:
                url += "?" + "&".join(f"{k}={v}" for k, v in query)
            send = body
            if handles:  # polls carry the inputs' shape only, no values
                blank = dict(payload)
                blank["inputs"] = [_blank(i) for i in payload["inputs"]]
                if payload.get("state"):
                    blank["state"] = [_blank(s) for s in payload["state"]]
                send = dumps(blank)
            started = time.perf_counter()
            wall = time.time()
            try:
                response = self.browser.http.post(url, data=send, timeout=self.browser.timeout,
                                                  headers={"Content-Type": "application/json", "Accept": "application/json"})
            except requests.RequestException as exc:
                ms = (time.perf_counter() - started) * 1000
                calls.append(Call(p.cb.output, base, 0, len(send), 0, ms, "?", wall, p.depth, bool(handles), f"{type(exc).__name__}: {exc}"))
                return {"updates": {}, "side": side, "calls": calls}
            content = response.content
            ms = (time.perf_counter() - started) * 1000
            call = Call(p.cb.output, base, response.status_code, len(send), len(content), ms, response.headers.get(PID_HEADER, "?"),
                        wall, p.depth, bool(handles), down_wire=wire_bytes(response),
                        encoding=response.headers.get("Content-Encoding", "")[:20])
            calls.append(call)
            if response.status_code == 204:
                return {"updates": {}, "side": side, "calls": calls}
            if response.status_code != 200:
                call.error = f"HTTP {response.status_code} from {p.cb.output[:80]}: {_message(content)}"
                return {"updates": {}, "side": side, "calls": calls}
            try:
                data = parse(content)
            except ValueError:
                call.error = f"{p.cb.output[:80]} answered non-JSON"
                return {"updates": {}, "side": side, "calls": calls}
            for ident, props in (data.get("sideUpdate") or {}).items():
                side.setdefault(ident, {}).update(props)
            # progress is keyed by "<id>.<prop>" (Dash's _progress_background_callback), not by id
            for prop_id, value in (data.get("progress") or {}).items():
                ident, _, prop = prop_id.rpartition(".")
                side.setdefault(ident, {})[prop] = value
            if not handles and (data.get("cacheKey") or data.get("job")):
                handles = [(k, data[k]) for k in ("cacheKey", "job") if data.get(k)]
            if background and data.get("response") is None:
                if not handles:
                    call.error = f"background callback {p.cb.output[:80]} answered neither a job nor a result"
                    return {"updates": {}, "side": side, "calls": calls}
                interval = (background.get("interval") or 500) / 1000
                time.sleep(interval)
                continue
            return {"updates": self._response(p, data), "side": side, "calls": calls}

    def _response(self, p: _Pending, data: dict) -> dict:
        response = data.get("response") or {}
        if data.get("multi"):
            return response
        ident = p.cb.output.rpartition(".")[0]
        return {ident: response.get("props", {})}


def wire_bytes(response: requests.Response) -> int:
    """The body's bytes as they came over the wire: urllib3 counts what it read before decoding
    (after de-chunking), so for a compressed answer this is the compressed size."""
    raw = getattr(response, "raw", None)
    try:
        counted = int(raw.tell())
    except (AttributeError, TypeError, ValueError):
        counted = 0
    return counted or len(response.content)


def _blank(item):
    if isinstance(item, list):
        return [_blank(i) for i in item]
    if isinstance(item, dict):
        blank = dict(item)
        blank["value"] = None
        return blank
    return item


def _parse_prop_id(prop_id: str):
    if prop_id.startswith("{"):
        end = prop_id.rindex("}")
        return json.loads(prop_id[: end + 1])
    return prop_id


def _message(content: bytes) -> str:
    try:
        return str(json.loads(content).get("message", ""))[:200]
    except (ValueError, AttributeError):
        return content[:120].decode("utf-8", "replace")


def _ok(response: requests.Response, what: str) -> None:
    if response.status_code != 200:
        raise DashClientError(f"GET {what} answered HTTP {response.status_code}")
