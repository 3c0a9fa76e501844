"""The JSON path: the record of pages/encodings.py (strategies/__init__.py says what a record is).

Not a place to keep state but a dimension of every strategy that ships data to the browser: how the
frame is encoded on its way (records through Dash's serializer, columnar JSON, gzip + base64).
Its texts and values are strategies/records/encodings.toml.
"""

from __future__ import annotations

from strategies.datafile import record

STRATEGY = record(__name__)
