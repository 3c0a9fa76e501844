"""The /_dash-update-component body: parsed strictly and checked for the shape Dash relies on.

Dash indexes into the body without checking it: an input item without "property" is a
KeyError, an integer item a TypeError, one input too few an IndexError — each a 500 with a
traceback. Python's JSON parser also takes the non-standard Infinity and NaN, which then
overflow int() in a page. A body nested deeper than MAX_DEPTH is refused too: nothing a page
sends is that deep, and a value that deep reaching a response would pass orjson's 255-level limit
(a 500 after the work). Everything here is refused before Dash sees the body, with a message that
quotes at most a couple of hundred characters of what was sent.
"""

from __future__ import annotations

import json
import re

from choices import quote
from i18n import _

# A lone UTF-16 surrogate ("\ud800" not followed by its low half, or a low half alone) parses
# into a Python str that no UTF-8 encoder accepts: the response would fail after the work.
_LONE_SURROGATE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


# Levels of arrays and objects a callback body may nest. Dash's own envelope takes 3 and a component
# tree sent back as State 3 per component, so 64 is far above any page here and far below orjson's 255.
MAX_DEPTH = 64
# Every byte but a bracket or a quote (a quote opens and closes the text whose brackets do not count).
_NOT_SHAPE = bytes(b for b in range(256) if b not in b'[]{}"')


class Malformed(ValueError):
    """A callback body Dash cannot take; the message says why."""


def _no_constant(name: str):
    raise Malformed(_("%(name)s is not JSON: send numbers as finite decimals", name=name))


def too_deep(raw: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON text nests arrays and objects more than `limit` levels (read before parsing it).

    Done in C, not a Python loop over the tokens (which cost half a second on a 5 MB table): the brackets
    outside strings alone, then `limit` passes that each delete the innermost empty pairs. A structure `d` levels deep is
    gone after exactly d passes, so whatever is left after `limit` is deeper. Unbalanced brackets stop the
    passes early and are left to the parser to refuse.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:  # too few brackets to be that deep: the common case
        return False
    # Escaped backslashes, then escaped quotes, out; then only brackets and quotes. Two quotes side by side
    # have nothing between them, so deleting them keeps every bracket inside or outside its string; what
    # is left between quotes then is text with brackets in it (rare), dropped. Exact for valid JSON.
    unescaped = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    shape = unescaped.translate(None, _NOT_SHAPE).replace(b'""', b"")
    if b'"' in shape:
        shape = b"".join(shape.split(b'"')[::2])
    for _pass in range(limit):
        # One level a pass: the innermost pairs become a mark first, so "[{}]" loses only its "{}".
        inner = shape.replace(b"[]", b".").replace(b"{}", b".").replace(b".", b"")
        if inner == shape:  # empty, or brackets that do not pair: not a deep structure
            return False
        shape = inner
    return bool(shape)


def parse(raw: bytes):
    """The body as Python values; Malformed for invalid, non-standard or too deeply nested JSON."""
    if too_deep(raw):
        raise Malformed(_("the body is nested too deeply: arrays and objects more than %(depth)s levels deep",
                          depth=MAX_DEPTH))
    if _LONE_SURROGATE.search(raw):
        raise Malformed(_("the body holds a lone UTF-16 surrogate (\\ud800–\\udfff), which is not text"))
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise Malformed(_("the body is nested too deeply")) from None
    except UnicodeDecodeError:
        raise Malformed(_("the body is not UTF-8 text")) from None
    except json.JSONDecodeError as exc:
        raise Malformed(_("the body is not valid JSON (%(error)s at character %(pos)s)", error=exc.msg, pos=exc.pos)) from None


def _is_id(value) -> bool:
    return isinstance(value, str) or (isinstance(value, dict) and all(isinstance(k, str) for k in value))


def _item_problem(item, where: str) -> str | None:
    if not isinstance(item, dict):
        return _("%(where)s must be an object with 'id' and 'property', got %(got)s", where=where, got=quote(item, 80))
    if not _is_id(item.get("id")):
        return _("%(where)s's 'id' must be a string or an object, got %(got)s", where=where, got=quote(item.get("id"), 80))
    if not isinstance(item.get("property"), str):
        return _("%(where)s's 'property' must be a string, got %(got)s", where=where,
                 got=quote(item.get("property"), 80))
    return None


def _wildcard(dep_id: str) -> bool:
    return '["ALL"]' in dep_id or '["ALLSMALLER"]' in dep_id


def _pattern_keys(dep_id: str) -> frozenset | None:
    # Dash registers a pattern-matching id as its JSON text, and a plain id as itself.
    try:
        parsed = json.loads(dep_id)
    except ValueError:
        return None
    return frozenset(parsed) if isinstance(parsed, dict) else None


def _names_problem(item: dict, dep: dict, keys: frozenset | None, where: str) -> str | None:
    # Dash hands values to the callback by position, not by id: an item naming another component (or none) would
    # reach the callback as if it were the registered one, past every check keyed on the id.
    same = item["id"] == dep["id"] if keys is None else isinstance(item["id"], dict) and item["id"].keys() == keys
    if not same or item["property"] != dep["property"]:
        return _("%(where)s must be %(expected)s, got %(got)s", where=where,
                 expected=quote(f"{dep['id']}.{dep['property']}", 80),
                 got=quote(f"{json.dumps(item['id']) if isinstance(item['id'], dict) else item['id']}."
                           f"{item['property']}", 80))
    return None


def _list_problem(items, registered: list[dict], name: str) -> str | None:
    if not isinstance(items, list):
        return _("'%(name)s' must be a list", name=name)
    if len(items) != len(registered):
        return _("'%(name)s' must have %(count)s item(s) for this callback, got %(got)s", name=name,
                 count=len(registered), got=format(len(items), ","))
    for index, (item, dep) in enumerate(zip(items, registered, strict=True)):
        where, keys = f"{name}[{index}]", _pattern_keys(dep["id"])
        if isinstance(item, list) and _wildcard(dep["id"]):
            for sub, each in enumerate(item[:10_000]):
                if problem := _item_problem(each, f"{where}[{sub}]") or _names_problem(each, dep, keys, f"{where}[{sub}]"):
                    return problem
            if len(item) > 10_000:
                return _("%(where)s matches more than 10,000 components", where=where)
        elif problem := _item_problem(item, where) or _names_problem(item, dep, keys, where):
            return problem
    return None


def _outputs_problem(outputs, output: str) -> str | None:
    parts = output[2:-2].split("...") if output.startswith("..") and output.endswith("..") else [output]
    if len(parts) > 1:
        if not isinstance(outputs, list) or len(outputs) != len(parts):
            return _("'outputs' must be a list of %(count)s outputs for this callback", count=len(parts))
        items = outputs
    else:
        items = [outputs]
    for index, (item, part) in enumerate(zip(items, parts, strict=True)):
        # Only a wildcard (ALL) output is a list of the components it matched; any other is one object.
        if isinstance(item, list) and _wildcard(part):
            if problem := next((p for each in item[:10_000] if (p := _item_problem(each, f"outputs[{index}]"))), None):
                return problem
        elif problem := _item_problem(item, f"outputs[{index}]"):
            return problem
    return None


def problem(body, callback_map) -> str | None:
    """What is wrong with a parsed callback body, or None if Dash can take it."""
    if not isinstance(body, dict):
        return _("the body must be a JSON object")
    output = body.get("output")
    if not isinstance(output, str):
        return _("'output' must be a string")
    callback = callback_map.get(output)
    if callback is None:
        return _("no callback has the output %(output)s", output=quote(output, 120))
    if "callback" not in callback:
        return _("this output is computed in the browser (a clientside callback): the server runs nothing for it")
    if "outputs" not in body:
        return _("'outputs' is missing")
    if not callback.get("no_output") and (found := _outputs_problem(body["outputs"], output)):
        return found
    for name, registered in (("inputs", callback["inputs"]), ("state", callback["state"])):
        if name == "state" and "state" not in body and not registered:
            continue
        if found := _list_problem(body.get(name, None if name == "inputs" else []), registered, name):
            return found
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        return _("'changedPropIds' must be a list of strings")
    if len(changed) > 1_000:
        return _("'changedPropIds' names %(count)s changes", count=format(len(changed), ","))
    # Dash's page router turns a pathname that is not text into a bare 500.
    for item in body["inputs"] + body.get("state", []):
        location = isinstance(item, dict) and item.get("id") == "_pages_location"
        if location and item["property"] in ("pathname", "search") and not isinstance(item.get("value"), str | None):
            return _("the page location's %(property)s must be text, not %(type)s", property=item["property"],
                     type=type(item.get("value")).__name__)
        path = item.get("value") if location and item["property"] == "pathname" else None
        if isinstance(path, str) and (not path.startswith("/") or len(path) > 16_000):
            return _("the page location's pathname must be a path on this site, got %(got)s", got=quote(path, 80))
    return None
