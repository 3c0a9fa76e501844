"""A property-based fuzz over every callback a live 4-worker site registers, in both modes.

Bodies start from the site's own /_dash-dependencies and are then broken the ways a hostile or
buggy client can break them: values of every JSON type (Infinity, NaN, -0, 10^18, long strings
and lists, deep nesting, unicode), items without keys or of the wrong type, missing envelope
fields, empty or foreign changedPropIds. Every answer must be 200/204, or a 4xx carrying a short
JSON message — never a 5xx. At least FUZZ_EXAMPLES (default 2,000) requests per mode.
"""

from __future__ import annotations

import json
import math
import os

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CALLBACK = "/_dash-update-component"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2000"))
REFUSAL_BYTES = 2_000  # a refusal quotes at most ~200 characters of the input: its answer stays small

# What the pages offer, so that some requests reach the work behind the checks.
OFFERED = ["north", "west", 1000, "1000", 4, "apples", "patch", "memory", "/background", "/hidden-div", True, 1]
LEAF = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(10**19), max_value=10**19), st.sampled_from([0, -1, 10**18, -(10**18), 2**63, 10**6]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([-0.0, math.inf, -math.inf, math.nan, 1e308]),
    st.text(max_size=40), st.text(min_size=300, max_size=400), st.sampled_from(OFFERED),
    st.sampled_from(["x" * 5000, "../" * 50, "\x00", "🙂" * 100, "' OR 1=1 --", "<script>alert(1)</script>"]),
)
VALUE = st.recursive(
    LEAF,
    lambda inner: st.one_of(st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=8), inner, max_size=5)),
    max_leaves=12,
)


def deep(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


LARGE = st.sampled_from([list(range(3000)), ["north"] * 3000, deep(60), deep(900), {"a" * 20: "b" * 20000}])
ANY_VALUE = st.one_of(VALUE, VALUE, VALUE, VALUE, LARGE)


def _outputs(output: str) -> list[dict]:
    parts = output[2:-2].split("...") if output.startswith("..") and output.endswith("..") else [output]
    found = []
    for part in parts:
        component, prop = part.rsplit(".", 1)
        found.append({"id": json.loads(component) if component.startswith("{") else component,
                      "property": prop.split("@", 1)[0]})
    return found


def _concrete(dep_id: str):
    """A pattern id ({"ns": ["MATCH"], ...}) made concrete, as the renderer sends it."""
    if not dep_id.startswith("{"):
        return dep_id
    return {k: ("home" if isinstance(v, list) else v) for k, v in json.loads(dep_id).items()}


def template(dep: dict) -> dict:
    outputs = _outputs(dep["output"])
    for out in outputs:
        if isinstance(out["id"], dict):
            out["id"] = {k: ("home" if isinstance(v, list) else v) for k, v in out["id"].items()}
    return {
        "output": dep["output"],
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": [{"id": _concrete(d["id"]), "property": d["property"], "value": None} for d in dep["inputs"]],
        "changedPropIds": [f"{dep['inputs'][0]['id']}.{dep['inputs'][0]['property']}"] if dep["inputs"] else [],
        "state": [{"id": _concrete(d["id"]), "property": d["property"], "value": None} for d in dep["state"]],
    }


@st.composite
def bodies(draw, deps: list[dict]):
    """A request body: the template of one callback, its values drawn, and then perhaps broken."""
    body = template(draw(st.sampled_from(deps)))
    for item in body["inputs"] + body["state"]:
        item["value"] = draw(ANY_VALUE)
    damage = draw(st.sampled_from([None] * 6 + [
        "drop-envelope-key", "item-not-object", "item-without-key", "item-key-wrong-type", "changed-empty",
        "changed-wrong", "extra-item", "missing-item", "outputs-wrong", "output-unknown", "not-an-object",
        "pattern-id-garbage",
    ]))
    lists = [k for k in ("inputs", "state") if body[k]]
    if damage == "drop-envelope-key":
        del body[draw(st.sampled_from(["output", "outputs", "inputs", "state", "changedPropIds"]))]
    elif damage in ("item-not-object", "item-without-key", "item-key-wrong-type") and lists:
        items = body[draw(st.sampled_from(lists))]
        index = draw(st.integers(0, len(items) - 1))
        if damage == "item-not-object":
            items[index] = draw(st.one_of(st.integers(), st.text(max_size=20), st.lists(st.integers(), max_size=3)))
        elif damage == "item-without-key":
            items[index].pop(draw(st.sampled_from(["id", "property", "value"])), None)
        else:
            items[index][draw(st.sampled_from(["id", "property"]))] = draw(VALUE)
    elif damage == "changed-empty":
        body["changedPropIds"] = []
    elif damage == "changed-wrong":
        body["changedPropIds"] = draw(st.one_of(VALUE, st.lists(VALUE, max_size=4)))
    elif damage == "extra-item" and lists:
        body[draw(st.sampled_from(lists))].append({"id": "x", "property": "y", "value": draw(VALUE)})
    elif damage == "missing-item" and lists:
        body[draw(st.sampled_from(lists))].pop()
    elif damage == "outputs-wrong":
        body["outputs"] = draw(VALUE)
    elif damage == "output-unknown":
        body["output"] = draw(st.one_of(st.text(max_size=60), VALUE))
    elif damage == "not-an-object":
        body = draw(VALUE)
    elif damage == "pattern-id-garbage" and lists:
        items = body[draw(st.sampled_from(lists))]
        items[0]["id"] = draw(st.dictionaries(st.text(max_size=5), VALUE, max_size=3))
    return body


def fuzz(site) -> dict[int, int]:
    deps = requests.get(site.url + "/_dash-dependencies", timeout=30).json()
    assert len(deps) > 40, "the site registers its callbacks"
    http = requests.Session()  # keep-alive where the server allows it
    seen: dict[int, int] = {}
    failures: list[str] = []

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(body=bodies(deps), query=st.sampled_from([{}, {}, {}, {"cacheKey": "x~y", "job": "1~z"}, {"cancelJob": "1~x"}]))
    def one(body, query):
        raw = json.dumps(body, allow_nan=True)  # Python writes Infinity/NaN: exactly what must be refused
        answer = http.post(site.url + CALLBACK, params=query, data=raw.encode(),
                           headers={"Content-Type": "application/json"}, timeout=60)
        seen[answer.status_code] = seen.get(answer.status_code, 0) + 1
        if answer.status_code >= 500:
            failures.append(f"HTTP {answer.status_code} for {raw[:300]}: {answer.text[:300]}")
        assert answer.status_code < 500, failures[-1]
        assert "Traceback" not in answer.text
        if 400 <= answer.status_code < 500:
            assert answer.headers.get("Content-Type", "").startswith("application/json"), answer.text[:200]
            assert answer.json().get("message"), answer.text[:200]
            assert len(answer.content) <= REFUSAL_BYTES, f"a {len(answer.content):,}-byte refusal: {answer.text[:300]}"

    one()
    return seen


@pytest.mark.timeout(900)
def test_fuzzed_callback_requests_never_get_a_5xx(backend, site):
    seen = fuzz(site)
    total = sum(seen.values())
    assert total >= EXAMPLES, f"only {total} requests were sent"
    assert not any(code >= 500 for code in seen), seen
    assert seen.get(400, 0) > 0 and seen.get(200, 0) > 0, f"the fuzz must reach both refusals and answers: {seen}"
    print(f"{backend}: {total} requests, status counts {dict(sorted(seen.items()))}")
