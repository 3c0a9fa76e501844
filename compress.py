"""Response compression as a deployment runs it: brotli or gzip per the client's Accept-Encoding.

(Named compress, not compression: Python 3.14's standard library has a `compression` package, which
flask-compress itself imports there; a top-level compression.py would shadow it.)

In production a Dash app's answers are compressed (flask-compress in the app, or the proxy in
front of it), while what a browser sends up never is: browsers do not compress request bodies.
Without this the site's "bytes down" were raw JSON, which no deployed app pays. The setting
STATELAB_COMPRESS (config.Settings.compress) picks the algorithms:

- "br":   brotli for a client that accepts it (every current browser), else gzip;
- "gzip": gzip only (what Dash's own `compress=True` sets up);
- "off":  nothing is compressed (the site as it was: raw bytes on the wire).

flask-compress does the work, installed on the Flask server, so it runs the same under gunicorn's
workers and under the ASGI server (a2wsgi wraps the same Flask app). app.py installs it before
telemetry, so its after_request hook runs after telemetry's (Flask runs them in reverse order):
telemetry keeps recording decoded bytes, the same figure whatever the setting.
"""

from __future__ import annotations

from flask import Flask
from flask_compress import Compress

from config import Settings

ALGORITHMS = {"br": ("br", "gzip"), "gzip": ("gzip",)}
# Below this a compressed body plus its header saves next to nothing (flask-compress's own default, and
# about what nginx and CDNs use): tiny callback answers (a no-op, a key) go out as they are.
MIN_SIZE = 500
# Brotli 4 and gzip 6: flask-compress's defaults, fast enough to compress every answer on the fly
# (a proxy's on-the-fly levels are similar; the highest levels are for precompressed files).
BR_LEVEL = 4
GZIP_LEVEL = 6


def install(server: Flask, settings: Settings) -> Compress | None:
    """Compress the server's answers as `settings.compress` says; None when it is "off"."""
    algorithms = ALGORITHMS.get(settings.compress)
    if algorithms is None:
        return None
    server.config.update(
        COMPRESS_ALGORITHM=list(algorithms),
        COMPRESS_MIN_SIZE=MIN_SIZE,
        COMPRESS_BR_LEVEL=BR_LEVEL,
        COMPRESS_LEVEL=GZIP_LEVEL,
        # Streamed answers (files sent in chunks, any event stream) are left exactly as they are: a
        # compressor would buffer an event stream's messages, and chunked bodies change no figure here.
        COMPRESS_STREAMS=False,
    )
    return Compress(server)
