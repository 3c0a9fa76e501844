"""A callback body's inputs and state must name the components the callback registered, in order: Dash hands
their values over by position, so a body naming another component (or an empty pattern id) would reach the
callback unchecked. Found by tests/integration/test_fuzz.py: the page router's pathname sent under the id {}."""

from __future__ import annotations

from components.envelope import problem

ROUTER = "..page.children...store.data.."
PATTERN = '{"index":["MATCH"],"type":"row"}'
CALLBACKS = {
    ROUTER: {"callback": object(), "inputs": [{"id": "_pages_location", "property": "pathname"},
                                                {"id": "_pages_location", "property": "search"}], "state": []},
    "out.children": {"callback": object(), "inputs": [{"id": PATTERN, "property": "value"}],
                     "state": [{"id": "keep", "property": "data"}]},
}
OUTPUTS = [{"id": "page", "property": "children"}, {"id": "store", "property": "data"}]


def router(first_id, first_property="pathname", path="/x"):
    return {"output": ROUTER, "outputs": OUTPUTS, "changedPropIds": [],
            "inputs": [{"id": first_id, "property": first_property, "value": path},
                       {"id": "_pages_location", "property": "search", "value": None}]}


def row(row_id, state_id="keep"):
    return {"output": "out.children", "outputs": {"id": "out", "property": "children"}, "changedPropIds": [],
            "inputs": [{"id": row_id, "property": "value", "value": 1}],
            "state": [{"id": state_id, "property": "data", "value": None}]}


def test_the_registered_ids_pass():
    assert problem(router("_pages_location"), CALLBACKS) is None
    assert problem(row({"index": 3, "type": "row"}), CALLBACKS) is None


def test_an_input_under_another_id_or_property_is_refused_by_position():
    said = problem(router({}, path=""), CALLBACKS)
    assert said == "inputs[0] must be '_pages_location.pathname', got '{}.pathname'"
    assert problem(router("elsewhere"), CALLBACKS).startswith("inputs[0] must be '_pages_location.pathname'")
    assert problem(router("_pages_location", "hash"), CALLBACKS).endswith("got '_pages_location.hash'")


def test_the_pathname_check_still_applies_once_the_id_is_right():
    assert "must be a path on this site" in problem(router("_pages_location", path=""), CALLBACKS)


def test_a_pattern_id_must_have_the_patterns_keys_and_state_is_checked_too():
    assert problem(row({"index": 3}), CALLBACKS).startswith("inputs[0] must be")
    assert problem(row("row"), CALLBACKS).startswith("inputs[0] must be")
    assert problem(row({"index": 3, "type": "row"}, state_id="other"), CALLBACKS) == (
        "state[0] must be 'keep.data', got 'other.data'")
