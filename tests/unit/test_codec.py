import json

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.pandas import column, data_frames

from stores.base import CorruptValue
from stores.codec import BadPayload, dumps, frame_from_arrow, frame_from_json, frame_to_arrow, frame_to_json, loads
from workload import expensive_step

frames = data_frames(
    [
        column("name", elements=st.text(max_size=20)),
        column("count", elements=st.integers(min_value=-(2**53), max_value=2**53)),
        column("value", elements=st.floats(allow_nan=False, allow_infinity=False, width=64)),
    ]
)


@given(frames)
def test_arrow_round_trip_keeps_every_value(df):
    back = frame_from_arrow(frame_to_arrow(df))
    assert back["name"].tolist() == df["name"].tolist()
    assert back["count"].tolist() == df["count"].tolist()
    assert back["value"].tolist() == df["value"].tolist()


@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_decode_as_a_frame_silently(data):
    try:
        frame = frame_from_arrow(data)
    except CorruptValue:
        return
    assert isinstance(frame, pd.DataFrame)


def test_truncated_arrow_is_reported_as_corrupt():
    data = frame_to_arrow(expensive_step(500, "north"))
    with pytest.raises(CorruptValue, match="not valid Arrow IPC"):
        frame_from_arrow(data[: len(data) // 2])


def test_json_round_trip_of_the_workload():
    cleaned = expensive_step(2000, "east")
    back = frame_from_json(frame_to_json(cleaned), required=("fruit", "x", "y"))
    assert back.shape == cleaned.shape
    assert back["revenue"].round(2).tolist() == cleaned["revenue"].tolist()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("{not json", "not valid JSON"),
        ([1, 2, 3], "must be an object"),
        ({"columns": "x", "data": []}, "list of column names"),
        ({"columns": ["x"], "data": {}}, "must be a list of rows"),
        ({"columns": ["x", "y"], "data": [[1, 2], [3]]}, "row 1 must be a list of 2 values"),
        ({"columns": ["x"], "data": [[1]]}, "lacks the column"),
    ],
)
def test_malformed_browser_data_gets_a_specific_message(payload, message):
    with pytest.raises(BadPayload, match=message):
        frame_from_json(payload, required=("x", "fruit"))


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(), lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)))
def test_any_json_shape_is_accepted_or_rejected_cleanly(payload):
    try:
        frame = frame_from_json(payload)
    except BadPayload:
        return
    accepted = json.loads(payload) if isinstance(payload, str) else payload
    assert list(frame.columns) == accepted["columns"]
    assert len(frame) == len(accepted["data"])


def test_json_values_round_trip_and_corruption_is_named():
    assert loads(dumps({"a": [1, 2.5, "x"]})) == {"a": [1, 2.5, "x"]}
    with pytest.raises(CorruptValue, match="not valid JSON"):
        loads(b"\x80garbage")
