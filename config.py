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
}


class ConfigError(ValueError):
    """A setting has a value the site cannot use."""


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
    return Settings(**values)
