"""DataFrame codecs: Arrow IPC for the server side, JSON shapes for the browser.

No pickle anywhere: a value read back from a store can only ever become a table.
"""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa

from .base import CorruptValue

_IPC_OPTIONS = pa.ipc.IpcWriteOptions(compression="lz4")


class BadPayload(ValueError):
    """Browser-held data that does not have the shape a strategy expects."""


def frame_to_arrow(df: pd.DataFrame) -> bytes:
    table = pa.Table.from_pandas(df, preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=_IPC_OPTIONS) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def frame_from_arrow(data: bytes) -> pd.DataFrame:
    try:
        with pa.ipc.open_stream(pa.py_buffer(data)) as reader:
            return reader.read_all().to_pandas()
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        raise CorruptValue(f"stored frame is not valid Arrow IPC ({exc})") from exc


def frame_to_json(df: pd.DataFrame) -> dict:
    """The 'split' shape the seeds use: {"columns": [...], "data": [[...], ...]}."""
    return json.loads(df.to_json(orient="split", index=False))


def frame_from_json(payload, required: tuple[str, ...] = ()) -> pd.DataFrame:
    """A frame from browser-held JSON, or BadPayload saying exactly what is wrong."""
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise BadPayload(f"data is not valid JSON ({exc.msg} at character {exc.pos})") from None
        except RecursionError:
            raise BadPayload("data is nested too deeply to be a frame") from None
    if not isinstance(payload, dict):
        raise BadPayload(f"data must be an object with 'columns' and 'data', got {type(payload).__name__}")
    columns, rows = payload.get("columns"), payload.get("data")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise BadPayload("data['columns'] must be a list of column names")
    if not isinstance(rows, list):
        raise BadPayload("data['data'] must be a list of rows")
    if len(set(columns)) != len(columns):
        raise BadPayload("data['columns'] names a column more than once")
    width = len(columns)
    for number, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            raise BadPayload(f"row {number} must be a list of {width} values")
    missing = [c for c in required if c not in columns]
    if missing:
        raise BadPayload(f"data lacks the column(s) {', '.join(missing)}")
    df = pd.DataFrame(rows, columns=columns)
    # Columns pandas could not type hold Python objects: each cell must still be one plain value.
    for column in df.columns[df.dtypes == "object"]:
        if set(map(type, df[column])) <= _PLAIN_TYPES:
            continue
        for number, value in enumerate(df[column]):
            if not _plain(value):
                raise BadPayload(f"row {number}, column {column!r}: {_kind(value)} where a single value belongs")
    return df


_PLAIN_TYPES = {str, float, bool, type(None)}


def _plain(value) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return -(2**63) <= value < 2**64
    return value is None or isinstance(value, (str, float, bool))


def _kind(value) -> str:
    return "a number too large" if isinstance(value, int) else f"a {type(value).__name__}"


def dumps(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


def loads(data: bytes):
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptValue(f"stored value is not valid JSON ({exc})") from exc
