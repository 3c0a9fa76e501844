"""The ids, the JSON and the callback graph as Dash's renderer sees them (/_dash-dependencies)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import orjson

ROUTER_OUTPUT = "_pages_content.children"
PID_HEADER = "X-Worker-PID"
WILDCARDS = ("MATCH", "ALL", "ALLSMALLER")
CONFIG_SCRIPT = re.compile(r'<script id="_dash-config" type="application/json">(.*?)</script>', re.S)
# Browsers open at most this many connections per host (HTTP/1.1): parallel callbacks queue beyond it.
PARALLEL = 6


class DashClientError(RuntimeError):
    """The server answered something a browser could not have used."""


# --------------------------------------------------------------------------- JSON as the browser does it


def _js_float(literal: str):
    """JSON.parse keeps no difference between 50 and 50.0; JSON.stringify then writes 50."""
    value = float(literal)
    if value.is_integer() and abs(value) < 1e21:
        return int(value)
    return value


def parse(data: bytes):
    return json.loads(data, parse_float=_js_float)


def dumps(value) -> bytes:
    """JSON.stringify: no spaces, UTF-8, non-finite floats as null."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


# --------------------------------------------------------------------------- ids and the callback graph


def stringify_id(id_) -> str:
    """The renderer's stringifyId: dict ids as sorted-key JSON, strings as they are."""
    if not isinstance(id_, dict):
        return id_

    def value(v):
        if isinstance(v, list) and len(v) == 1 and v[0] in WILDCARDS:
            return v[0]
        return json.dumps(v, separators=(",", ":"), ensure_ascii=False)

    return "{" + ",".join(f"{json.dumps(k)}:{value(id_[k])}" for k in sorted(id_)) + "}"


def _is_wild(id_) -> bool:
    return isinstance(id_, dict) and any(isinstance(v, list) and len(v) == 1 and v[0] in WILDCARDS for v in id_.values())


def _wild_kind(value) -> str | None:
    if isinstance(value, list) and len(value) == 1 and value[0] in WILDCARDS:
        return value[0]
    return None


def split_output(output: str) -> list[tuple[object, str]]:
    """'a.children' or '..a.children...b.figure..' -> [(id, prop)]; ids may be JSON dicts."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    out = []
    for part in parts:
        if part.startswith("{"):
            end = part.rindex("}")
            out.append((json.loads(part[: end + 1]), part[end + 2 :]))
        else:
            ident, _, prop = part.rpartition(".")
            out.append((ident, prop))
    return out


@dataclass
class Dep:
    id: object
    property: str

    @property
    def prop(self) -> str:
        """The property without an allow_duplicate suffix ('figure@1a2b' -> 'figure')."""
        return self.property.split("@")[0]

    @property
    def wild(self) -> bool:
        return _is_wild(self.id)

    def matches_id(self, concrete) -> bool:
        if not self.wild:
            return stringify_id(self.id) == stringify_id(concrete)
        if not isinstance(concrete, dict) or set(concrete) != set(self.id):
            return False
        return all(_wild_kind(v) is not None or concrete[k] == v for k, v in self.id.items())

    def binding(self, concrete) -> dict:
        """The MATCH keys' values of a concrete id matching this pattern."""
        if not self.wild:
            return {}
        return {k: concrete[k] for k, v in self.id.items() if _wild_kind(v) == "MATCH"}

    def agrees(self, concrete, binding: dict) -> bool:
        return self.matches_id(concrete) and all(concrete.get(k) == v for k, v in binding.items() if k in self.id and _wild_kind(self.id[k]) == "MATCH")

    def multi(self) -> bool:
        return self.wild and any(_wild_kind(v) in ("ALL", "ALLSMALLER") for v in self.id.values())


@dataclass
class Callback:
    index: int
    output: str
    outputs: list[Dep]
    inputs: list[Dep]
    state: list[Dep]
    clientside: bool
    prevent_initial_call: bool
    background: dict | None
    running: dict | None
    no_output: bool
    raw: dict

    @classmethod
    def from_spec(cls, index: int, spec: dict) -> Callback:
        no_output = bool(spec.get("no_output"))
        outputs = [] if no_output else [Dep(i, p) for i, p in split_output(spec["output"])]
        return cls(
            index=index,
            output=spec["output"],
            outputs=outputs,
            inputs=[Dep(d["id"], d["property"]) for d in spec.get("inputs", [])],
            state=[Dep(d["id"], d["property"]) for d in spec.get("state", [])],
            clientside=bool(spec.get("clientside_function")),
            prevent_initial_call=bool(spec.get("prevent_initial_call")),
            background=spec.get("background"),
            running=spec.get("running"),
            no_output=no_output,
            raw=spec,
        )

    @property
    def multi_output(self) -> bool:
        return self.output.startswith("..")


def _feeds(upstream: Callback, downstream: Callback) -> bool:
    """Can an output of upstream be an input of downstream?"""
    for out in upstream.outputs:
        for inp in downstream.inputs:
            if out.prop != inp.prop:
                continue
            if not out.wild and not inp.wild:
                if stringify_id(out.id) == stringify_id(inp.id):
                    return True
            elif _ids_may_meet(out.id, inp.id):
                return True
    return False


def _ids_may_meet(a, b) -> bool:
    """Can two (pattern-matching) dict ids name the same component?"""
    if not (isinstance(a, dict) and isinstance(b, dict)) or set(a) != set(b):
        return False
    return all(_wild_kind(a[k]) or _wild_kind(b[k]) or a[k] == b[k] for k in a)


class Graph:
    """The app's callbacks and which of them can feed which (transitively)."""

    def __init__(self, specs: list[dict]):
        self.callbacks = [Callback.from_spec(i, s) for i, s in enumerate(specs)]
        direct = {cb.index: {up.index for up in self.callbacks if up is not cb and _feeds(up, cb)} for cb in self.callbacks}
        self.ancestors: dict[int, set[int]] = {}
        for cb in self.callbacks:
            seen, stack = set(), list(direct[cb.index])
            while stack:
                i = stack.pop()
                if i not in seen:
                    seen.add(i)
                    stack.extend(direct[i])
            self.ancestors[cb.index] = seen

    def by_output(self, output: str) -> Callback:
        for cb in self.callbacks:
            if cb.output == output or any(f"{stringify_id(o.id)}.{o.property}" == output for o in cb.outputs):
                return cb
        raise DashClientError(f"the server has no callback with output {output!r}")


# --------------------------------------------------------------------------- the layout the browser holds


def components_in(value, found: list):
    """Every component (dict with type/namespace/props) in value, in layout order."""
    if isinstance(value, dict):
        if "props" in value and "type" in value and "namespace" in value and isinstance(value["props"], dict):
            found.append(value)
            for child in value["props"].values():
                if isinstance(child, (dict, list)):
                    components_in(child, found)
        else:
            for child in value.values():
                if isinstance(child, (dict, list)):
                    components_in(child, found)
    elif isinstance(value, list):
        for child in value:
            if isinstance(child, (dict, list)):
                components_in(child, found)
    return found


def may_hold_components(value) -> bool:
    if isinstance(value, dict):
        return "props" in value and "type" in value
    if isinstance(value, list):
        return any(isinstance(v, dict) and "props" in v and "type" in v for v in value[:50])
    return False
