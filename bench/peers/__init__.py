"""Peers the benchmark measures beside Dash State Lab's own strategies.

`start_peer(port, data_dir)` starts the dash-extensions peer app under gunicorn, like
serve.Site starts the site, and returns the process (stop it with `stop_peer`). See
bench/peers/README.md for what the peer exposes to the harness.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from config import PROJECT_DIR, load_settings
from serve import child_env, stop, wait_http

PEER_SLUG = "peer-dash-extensions"
TARGET = "peer_site.dash_extensions_app:server"  # a site, not harness: it lives outside bench/
DIR_ENV = "STATELAB_PEER_DIR"
REDIS_ENV = "STATELAB_PEER_REDIS_URL"
COUNTER_FILE = "computations.log"
STATS_PATH = "/peer/stats"
RESET_PATH = "/peer/reset"


def default_data_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"statelab-{PEER_SLUG}"


def peer_data_dir() -> Path:
    """The peer's directory: STATELAB_PEER_DIR as given by whoever started it, else under the temp dir."""
    raw = os.environ.get(DIR_ENV)
    directory = Path(raw).resolve() if raw else default_data_dir()
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def peer_cache_dir(data_dir: Path) -> Path:
    return data_dir / "serverside-cache"


def peer_redis_url() -> str | None:
    return os.environ.get(REDIS_ENV) or None


def peer_command(host: str, port: int, workers: int, timeout: int = 30) -> list[str]:
    return [
        sys.executable, "-m", "gunicorn", TARGET,
        "--chdir", str(PROJECT_DIR),
        "--bind", f"{host}:{port}",
        "--workers", str(workers),
        "--worker-class", "sync",
        "--timeout", str(timeout),
        "--graceful-timeout", "5",
        "--log-level", "warning",
    ]  # fmt: skip


def start_peer(
    port: int,
    data_dir,
    workers: int = 4,
    compute_delay: float | None = None,
    redis_url: str | None = None,
    host: str = "127.0.0.1",
    log: Path | None = None,
    wait: bool = True,
    timeout: float = 90.0,
) -> subprocess.Popen:
    """Start the dash-extensions peer (gunicorn, `workers` sync workers) and wait until it answers.

    data_dir holds its FileSystemBackend cache and its computation counter; compute_delay
    defaults to the Settings default, so pass the site's own to compare like with like.
    redis_url switches it to dash-extensions' RedisBackend (keys prefixed "peer-dash-extensions:").
    """
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = load_settings(env={}, data_dir=data_dir)
    if compute_delay is not None:
        settings = settings.replace(compute_delay=compute_delay)
    env = child_env(settings)
    env[DIR_ENV] = str(data_dir)
    env.pop(REDIS_ENV, None)
    if redis_url:
        env[REDIS_ENV] = redis_url
    out = open(log, "ab") if log else None  # noqa: SIM115 - the child owns it for its life
    process = subprocess.Popen(
        peer_command(host, port, workers), env=env, cwd=PROJECT_DIR, start_new_session=True,
        stdout=out, stderr=subprocess.STDOUT if out else None,
    )
    if wait:
        try:
            wait_http(f"http://{host}:{port}{STATS_PATH}", timeout, process)
        except BaseException:
            stop(process)
            raise
    return process


def stop_peer(process: subprocess.Popen | None) -> None:
    """Stop a peer started by start_peer (its whole process group)."""
    stop(process)
