"""The callback body's nesting cap (components/envelope.py): deeper than MAX_DEPTH is refused before
Dash sees it, brackets inside strings do not count, and every valid body at or under the cap passes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components import envelope
from components.envelope import MAX_DEPTH, Malformed, parse, too_deep


def nested(levels: int, leaf=1):
    value = leaf
    for level in range(levels):
        value = [value] if level % 2 else {"k": value}
    return value


def depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def test_a_body_at_the_cap_parses_and_one_level_more_is_refused_with_the_reason():
    at_cap = json.dumps({"output": "x", "inputs": [nested(MAX_DEPTH - 2)]}).encode()
    assert depth(json.loads(at_cap)) == MAX_DEPTH
    assert parse(at_cap)["output"] == "x"
    over = json.dumps({"output": "x", "inputs": [nested(MAX_DEPTH - 1)]}).encode()
    with pytest.raises(Malformed, match=f"nested too deeply: arrays and objects more than {MAX_DEPTH} levels"):
        parse(over)


def test_orjsons_limit_and_far_beyond_are_refused_without_parsing():
    for levels in (255, 256, 100_000):
        with pytest.raises(Malformed, match="nested too deeply"):
            parse(b"[" * levels + b"]" * levels)


@pytest.mark.parametrize("text", ["[" * 500, "]" * 500, "{" * 300 + "}" * 300, '\\"' + "[" * 400, "\\\\" + "[[" * 200])
def test_brackets_inside_strings_do_not_count(text):
    body = json.dumps({"output": "x", "inputs": [{"id": "a", "property": "value", "value": text}]}).encode()
    assert not too_deep(body)
    assert parse(body)["inputs"][0]["value"] == text


def test_unbalanced_brackets_are_left_to_the_parser():
    assert not too_deep(b"[" * 100 + b"}" * 100)
    with pytest.raises(Malformed, match="not valid JSON"):
        parse(b"[" * 100 + b"}" * 100)


_leaf = st.one_of(st.integers(), st.sampled_from(["[", "]", "{", "}", '"', "\\", '\\"[', "plain", ""]))


@settings(max_examples=300, deadline=None)
@given(st.recursive(_leaf, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text("[]{}\"\\ab", max_size=4), kids, max_size=3),
                    max_leaves=40), st.integers(min_value=MAX_DEPTH - 6, max_value=MAX_DEPTH + 6))
def test_the_cap_agrees_with_the_parsed_depth(inner, wrap):
    value = nested(wrap, inner)
    assert too_deep(json.dumps(value).encode()) == (depth(value) > MAX_DEPTH)


def test_the_cap_is_sane():
    assert 16 <= envelope.MAX_DEPTH < 255  # under orjson's limit, above anything a page sends
