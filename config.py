"""The one place that reads the environment.

Precedence: an explicit argument, then an environment variable, then the default.
Everything else (stores, pages, tests) receives a `Settings` object.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent

# Environment variable for each setting; the launcher passes settings to its child
# processes (gunicorn workers, the Celery worker) through these same names.
ENV_NAMES = {
    "data_dir": "STATELAB_DATA_DIR",
    "redis_url": "REDIS_URL",
    "secret": "STATELAB_SECRET",
    "compute_delay": "STATELAB_COMPUTE_DELAY",
    "redis_timeout": "STATELAB_REDIS_TIMEOUT",
    "session_threshold": "STATELAB_SESSION_THRESHOLD",
    "serverside_max_bytes": "STATELAB_SERVERSIDE_MAX_BYTES",
    "max_request_bytes": "STATELAB_MAX_REQUEST_BYTES",
    "worker_timeout": "STATELAB_WORKER_TIMEOUT",
    "singleflight_timeout": "STATELAB_SINGLEFLIGHT_TIMEOUT",
    "operator_token": "STATELAB_OPERATOR_TOKEN",
    "self_url": "STATELAB_SELF_URL",
    "telemetry_max_records": "STATELAB_TELEMETRY_MAX_RECORDS",
    "rate_limits": "STATELAB_RATE_LIMITS",
    "any_rows": "STATELAB_ANY_ROWS",
    "max_data_bytes": "STATELAB_MAX_DATA_BYTES",
    "data_shares": "STATELAB_DATA_SHARES",
    "compress": "STATELAB_COMPRESS",
    "server": "STATELAB_SERVER",
    "header_deadline": "STATELAB_HEADER_DEADLINE",
    "ws_origins": "STATELAB_WS_ORIGINS",
    "ws_max_sockets": "STATELAB_WS_MAX_SOCKETS",
    "ws_idle_timeout": "STATELAB_WS_IDLE_TIMEOUT",
}


COMPRESS_CHOICES = ("br", "gzip", "off")
# How gunicorn serves the site (serve.gunicorn_command): "asgi" (uvicorn workers: the Flask site through
# a2wsgi plus the live app's WebSocket callbacks), "gthread" (threaded WSGI workers), "sync".
SERVER_CHOICES = ("asgi", "gthread", "sync")


class ConfigError(ValueError):
    """A setting has a value the site cannot use."""


# Each strategy's share of STATELAB_MAX_DATA_BYTES, by the store prefix it writes under. "site" is
# everything else the site holds (the secret, locks, rate-limit counters, job records, benchmark
# results, first views, url-state's frames); "overhead" is room for the stores' own files (SQLite's
# pages and journal, the file system's blocks, Redis's per-key bookkeeping). They add up to 1.
DEFAULT_SHARES = {
    "serverside": 0.30,
    "session-cache": 0.20,
    "session-files": 0.20,
    "cache-signal": 0.05,
    "background": 0.05,
    "telemetry": 0.05,
    "site": 0.05,
    "overhead": 0.10,
}


def parse_shares(text: str) -> dict[str, float]:
    """DEFAULT_SHARES with the overrides of "name=fraction,..." applied; ConfigError unless they fit."""
    shares = dict(DEFAULT_SHARES)
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        name, _, raw = part.partition("=")
        name = name.strip()
        if name not in shares:
            raise ConfigError(f"STATELAB_DATA_SHARES names {name[:40]!r}, not one of {', '.join(shares)}")
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"STATELAB_DATA_SHARES: {name}={raw[:40]!r} is not a fraction") from None
        if not 0 <= value <= 1:
            raise ConfigError(f"STATELAB_DATA_SHARES: {name}={value:g} must lie between 0 and 1")
        shares[name] = value
    if sum(shares.values()) > 1 + 1e-9:
        raise ConfigError(
            f"STATELAB_DATA_SHARES: the shares add up to {sum(shares.values()):.3g}, more than the whole "
            "STATELAB_MAX_DATA_BYTES; lower some ({})".format(", ".join(f"{k}={v:g}" for k, v in shares.items()))
        )
    return shares


@dataclass(frozen=True)
class Settings:
    data_dir: Path = PROJECT_DIR / "data"
    redis_url: str | None = None
    secret: str | None = None
    # Simulated cost of the expensive step, seconds (the seeds use time.sleep(5)).
    compute_delay: float = 2.0
    # Connect and socket timeout of every Redis client: a down or hung Redis must
    # fail a request in this long, well inside gunicorn's worker timeout.
    redis_timeout: float = 1.0
    session_threshold: int = 20
    serverside_max_bytes: int = 256 * 1024 * 1024
    max_request_bytes: int = 32 * 1024 * 1024
    worker_timeout: int = 30
    singleflight_timeout: float = 60.0
    # Who may publish benchmark runs and reset telemetry site-wide (components/operator.py).
    operator_token: str | None = None
    # Where this server listens, set by whoever binds it (serve.Site): the only address the
    # benchmark job ever connects to — never one a browser names.
    self_url: str | None = None
    # Telemetry is a capped log: at most this many request records, oldest dropped first.
    telemetry_max_records: int = 5000
    # Per-client rate limits on expensive callbacks (components/ratelimit.py); "off" for a site
    # whose every client is one loopback address on purpose (the benchmark's own site, tests).
    rate_limits: str = "on"
    # "on" lets callbacks take any row count up to workload.MAX_ROWS, not only those the pages offer: for
    # a site only the benchmark talks to, whose stampede needs a row count nobody asked for yet.
    any_rows: str = "off"
    # Every byte the site holds for its visitors (store, session files, caches, job results, telemetry)
    # stays under this total; each strategy gets a share of it (stores/budget.py).
    max_data_bytes: int = 1024 * 1024 * 1024
    # Overrides of those shares, "serverside=0.4,session-cache=0.2" (fractions of the total; they must
    # add up to at most 1 with the defaults of the strategies not named).
    data_shares: str = ""
    # Response compression as a deployment runs it (compression.py): "br" (brotli, gzip for a client
    # without it, per Accept-Encoding), "gzip", or "off". Request bodies are never compressed: browsers don't.
    compress: str = "br"
    # The web server kind (SERVER_CHOICES); the benchmark and the tests pick one by replacing it.
    server: str = "asgi"
    # Seconds a new connection may take to send its request headers before it is closed (idle or dribbling).
    header_deadline: float = 30.0
    # Origins besides the site's own whose WebSocket handshakes the live app accepts, comma-separated
    # ("https://lab.example.org"): needed only behind a proxy that rewrites the Host header.
    ws_origins: str = ""
    # Open WebSockets per worker process (more handshakes are refused), and the seconds a socket may stay
    # silent — the renderer sends a heartbeat every 30 s — before the server closes it (asgi.py).
    ws_max_sockets: int = 256
    ws_idle_timeout: float = 90.0

    @property
    def shares(self) -> dict[str, float]:
        return parse_shares(self.data_shares)

    @property
    def mode(self) -> str:
        return "redis" if self.redis_url else "embedded"

    def to_env(self) -> dict[str, str]:
        """Environment variables that make a child process load these settings."""
        env = {}
        for name, var in ENV_NAMES.items():
            value = getattr(self, name)
            if value is not None:
                env[var] = str(value)
        return env

    def replace(self, **changes) -> Settings:
        return replace(self, **changes)


def _convert(name: str, raw: str, kind: type):
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(
            f"{ENV_NAMES[name]}={raw!r} is not a valid {kind.__name__}"
        ) from None
    if kind in (int, float) and value < 0:
        raise ConfigError(f"{ENV_NAMES[name]}={raw!r} must not be negative")
    return value


def load_settings(env: dict | None = None, **overrides) -> Settings:
    """Settings from explicit overrides, else `env` (default: os.environ), else defaults."""
    env = os.environ if env is None else env
    defaults = Settings()
    values = {}
    for name, var in ENV_NAMES.items():
        if name in overrides and overrides[name] is not None:
            values[name] = overrides[name]
            continue
        raw = env.get(var)
        if raw in (None, ""):
            continue
        kind = type(getattr(defaults, name))
        if name == "data_dir":
            values[name] = Path(raw)
        elif kind in (int, float):
            values[name] = _convert(name, raw, kind)
        else:
            values[name] = raw
    values["data_dir"] = Path(values.get("data_dir", defaults.data_dir)).resolve()
    redis_url = values.get("redis_url")
    if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(
            f"REDIS_URL={redis_url!r} is not a Redis URL (expected redis://host:port/db)"
        )
    settings = Settings(**values)
    _check_shares(settings)
    if settings.compress not in COMPRESS_CHOICES:
        raise ConfigError(f"STATELAB_COMPRESS={settings.compress[:40]!r} is not one of {', '.join(COMPRESS_CHOICES)}")
    if settings.server not in SERVER_CHOICES:
        raise ConfigError(f"STATELAB_SERVER={settings.server[:40]!r} is not one of {', '.join(SERVER_CHOICES)}")
    if settings.header_deadline <= 0 or settings.ws_idle_timeout <= 0:
        raise ConfigError("STATELAB_HEADER_DEADLINE and STATELAB_WS_IDLE_TIMEOUT must be more than 0 seconds")
    return settings


def _check_shares(settings: Settings) -> None:
    shares = settings.shares  # raises ConfigError for a malformed value
    if settings.max_data_bytes < 1:
        raise ConfigError("STATELAB_MAX_DATA_BYTES must be at least 1")
    del shares
