"""The JSON path: the record of pages/encodings.py (strategies/__init__.py says what a record is).

Not a place to keep state but a dimension of every strategy that ships data to the browser: how the
frame is encoded on its way (records through Dash's serializer, columnar JSON, gzip + base64).
"""

from __future__ import annotations

from strategies import Strategy

STRATEGY = Strategy(
    slug="encodings",
    title="Encodings: the JSON path",
    summary="What a strategy sends is as much a choice as where it keeps it: the same frame as records through "
    "Dash's serializer, as columnar JSON, or gzip + base64 decoded in the browser — serialize time, bytes each way "
    "(on the wire, compressed as deployed) and the browser's decode time, side by side.",
    lives="wherever the strategy keeps it: this page changes only how it travels",
    multi_worker_safe=True,
    shared_between_users=False,
    survives_reload=False,
    payload_growth="O(rows), times the encoding's bytes per row",
    pros=[
        "Columnar JSON is several times faster to serialize than records and about half the bytes",
        "A compressed payload also shrinks the upload, which no server setting compresses",
    ],
    cons=[
        "gzip + base64 costs server time to pack and browser time to unpack (DecompressionStream)",
        "A compressed value is opaque to Dash: Patch can only append whole chunks, not edit rows",
    ],
    order=135,
    claims_isolation=True,
    spec=None,  # measured by its own scenario: python -m bench --scenario encodings
    group="beyond",
)
