"""Dash Patch responses applied to the value the browser holds, as the renderer's handlePatch does."""

from __future__ import annotations

from .dashgraph import DashClientError

MISSING = object()


def _get_path(value, path):
    for key in path:
        if isinstance(value, dict):
            value = value.get(key, MISSING)
        elif isinstance(value, list) and isinstance(key, int) and -len(value) <= key < len(value):
            value = value[key]
        else:
            return MISSING
        if value is MISSING:
            return MISSING
    return value


def _set_path(value, path, new):
    if not path:
        return new
    key, rest = path[0], path[1:]
    if isinstance(value, list):
        copy = list(value)
        copy[key] = _set_path(copy[key], rest, new)
        return copy
    copy = dict(value or {})
    copy[key] = _set_path(copy.get(key), rest, new)
    return copy


def _del_path(value, path):
    if len(path) == 1:
        if isinstance(value, list):
            return value[: path[0]] + value[path[0] + 1 :]
        return {k: v for k, v in value.items() if k != path[0]}
    key = path[0]
    if isinstance(value, list):
        copy = list(value)
        copy[key] = _del_path(copy[key], path[1:])
        return copy
    copy = dict(value)
    copy[key] = _del_path(copy[key], path[1:])
    return copy


def _insert(prev, params):
    items = list(prev)
    index = params["index"]
    items.insert(len(items) + index if index < 0 else index, params["value"])
    return items


# Each operation: the value held at the location and the operation's params -> the new value there.
OPERATIONS = {
    "Assign": lambda prev, params: params["value"],
    "Merge": lambda prev, params: {**(prev or {}), **params["value"]},
    "Extend": lambda prev, params: list(prev or []) + list(params["value"]),
    "Insert": _insert,
    "Append": lambda prev, params: list(prev or []) + [params["value"]],
    "Prepend": lambda prev, params: [params["value"]] + list(prev or []),
    "Add": lambda prev, params: prev + params["value"],
    "Sub": lambda prev, params: prev - params["value"],
    "Mul": lambda prev, params: prev * params["value"],
    "Div": lambda prev, params: prev / params["value"],
    "Clear": lambda prev, params: type(prev)() if isinstance(prev, (list, dict, str)) else None,
    "Reverse": lambda prev, params: list(reversed(prev)),
    "Remove": lambda prev, params: [item for item in prev if item != params["value"]],
}


def apply_patch(previous, patch: dict):
    """The renderer's handlePatch: Dash Patch operations applied to the held value."""
    if previous is MISSING:
        raise DashClientError("the server sent a Patch for a prop the browser does not hold")
    value = previous
    for op in patch.get("operations", []):
        location, current = [], value
        for step in op["location"]:
            if isinstance(step, int) and step < 0 and isinstance(current, list):
                step = len(current) + step
            location.append(step)
            current = _get_path(current, [step])
        name, params = op["operation"], op.get("params", {})
        if name == "Delete":
            value = _del_path(value, location)
        elif name in OPERATIONS:
            value = _set_path(value, location, OPERATIONS[name](_get_path(value, location), params))
        else:
            raise DashClientError(f"unknown Patch operation {name!r}")
    return value


def is_patch(value) -> bool:
    return isinstance(value, dict) and "__dash_patch_update" in value
