import pytest

from components.ids import Ids
from stores.telemetry import LAB, strategy_of, strategy_of_body


def test_strategy_comes_from_the_id_prefix():
    ids = Ids("hidden-div")
    assert strategy_of(f"..{ids('graph')}.figure...{ids('table')}.data..") == "hidden-div"
    assert strategy_of(f"{ids('store')}.data") == "hidden-div"


def test_pattern_matching_ids():
    assert strategy_of('{"ns":"session-cache","type":"row"}.children') == "session-cache"
    assert strategy_of('{"ns":"session-cache","type":"lab-stats"}.children') == LAB


def test_unprefixed_outputs_have_no_strategy():
    assert strategy_of("_pages_location.pathname") == ""


@pytest.mark.parametrize("slug", ["Hidden", "a__b", "with space", ""])
def test_bad_slugs_are_refused(slug):
    with pytest.raises(ValueError, match="slug"):
        Ids(slug)


def test_pattern_matching_requests_are_classified_by_their_concrete_outputs():
    wildcard = '{"ns":["MATCH"],"type":"row"}.children'
    body = {"output": wildcard, "outputs": {"id": {"ns": "session-cache", "type": "row"}, "property": "children"}}
    assert strategy_of_body(body) == "session-cache"
    body["outputs"] = [[{"id": {"ns": "patch", "type": "cell", "index": 1}, "property": "children"}]]
    assert strategy_of_body(body) == "patch"
    body["outputs"] = {"id": {"ns": "patch", "type": "lab-stats"}, "property": "children"}
    assert strategy_of_body(body) == LAB
    assert strategy_of_body({"output": "hidden-div__graph.figure", "outputs": {"id": "hidden-div__graph"}}) == "hidden-div"
    assert strategy_of_body("not a dict") == ""
