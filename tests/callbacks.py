"""Raw-HTTP access to a running site's Dash callbacks and to its processes, for the fault and bad-input tests.

A callback request body is built from the site's own /_dash-dependencies, so the "output"
string, the output ids and the input/state ids are exactly what the browser would send;
only the values are the test's.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil
import requests

from tests.support import wait_until

CALLBACK = "/_dash-update-component"


class Callbacks:
    """The callbacks of one site, looked up by their output string."""

    def __init__(self, site):
        self.site = site
        self.deps = requests.get(site.url + "/_dash-dependencies", timeout=10).json()

    def dependency(self, output: str) -> dict:
        """The callback whose output string is `output` ("slug__name.prop" or "..a.p...b.p..")."""
        found = [d for d in self.deps if d["output"] == output]
        if not found:  # several outputs: the string is "..a.p...b.p.."; match on one of them
            found = [d for d in self.deps if output in _outputs(d["output"])]
        assert len(found) == 1, f"{len(found)} callbacks have the output {output!r}"
        return found[0]

    def body(self, output: str, values: dict | None = None, changed: list[str] | None = None) -> dict:
        """A request body for the callback of `output`; values maps "id.prop" to the value sent (None otherwise)."""
        values = values or {}
        dep = self.dependency(output)
        outs = [_split(o) for o in _outputs(dep["output"])]
        outputs = [{"id": i, "property": p} for i, p in outs]

        def given(items):
            return [{"id": d["id"], "property": d["property"], "value": values.get(f"{d['id']}.{d['property']}")} for d in items]

        unknown = set(values) - {f"{d['id']}.{d['property']}" for d in dep["inputs"] + dep["state"]}
        assert not unknown, f"{output}: no input or state {unknown}"
        return {
            "output": dep["output"],
            "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": given(dep["inputs"]),
            "changedPropIds": changed if changed is not None else [f"{dep['inputs'][0]['id']}.{dep['inputs'][0]['property']}"],
            "state": given(dep["state"]),
        }

    def post(self, body, timeout: float = 30) -> requests.Response:
        if isinstance(body, (bytes, str)):
            return requests.post(
                self.site.url + CALLBACK, data=body, headers={"Content-Type": "application/json"}, timeout=timeout
            )
        return requests.post(self.site.url + CALLBACK, json=body, timeout=timeout)

    def call(self, output: str, values: dict | None = None, changed: list[str] | None = None) -> requests.Response:
        return self.post(self.body(output, values, changed))


def _outputs(output: str) -> list[str]:
    if output.startswith("..") and output.endswith(".."):
        return output[2:-2].split("...")
    return [output]


def _split(output: str) -> tuple[str, str]:
    component, prop = output.rsplit(".", 1)
    return component, prop.split("@", 1)[0]


# SQLite journals come and go with every write; they are not files the site chose to create.
_JOURNALS = ("-wal", "-shm", "-journal")


def files_under(root: Path, skip: tuple[Path, ...] = ()) -> set[str]:
    """Every file below root (relative paths), without SQLite journals and the skipped folders."""
    found = set()
    for path in root.rglob("*"):
        if any(path.is_relative_to(s) for s in skip) or path.name.endswith(_JOURNALS) or not path.is_file():
            continue
        found.add(str(path.relative_to(root)))
    return found


class Log:
    """What a process log gained between two points of a test."""

    def __init__(self, path: Path):
        self.path = path
        self.start = path.stat().st_size if path.exists() else 0

    def since(self) -> str:
        if not self.path.exists():
            return ""
        with open(self.path, "rb") as source:
            source.seek(self.start)
            return source.read().decode(errors="replace")


def gunicorn_log(site) -> Log:
    return Log(site.log_dir / f"gunicorn-{site.port}.log")


class Workers:
    """The gunicorn workers of a site, as the operating system sees them."""

    def __init__(self, site):
        self.site = site
        self.master = psutil.Process(site.web.pid)

    def pids(self) -> set[int]:
        return {child.pid for child in self.master.children()}

    def connections(self) -> dict[int, int]:
        """Client connections each worker holds. Keep-alive is off, so an established connection is
        a request being read or served; a gthread worker serves several at once, so two requests
        may be in one worker."""
        held = {}
        for pid in self.pids():
            try:
                connections = psutil.Process(pid).net_connections(kind="tcp")
            except psutil.NoSuchProcess:
                continue
            count = sum(c.status == psutil.CONN_ESTABLISHED and c.laddr.port == self.site.port for c in connections)
            if count:
                held[pid] = count
        return held

    def kill_all(self, timeout: float = 60.0) -> set[int]:
        """SIGKILL every worker; return their pids once the master has started as many new ones."""
        old = self.pids()
        assert len(old) == self.site.workers, f"expected {self.site.workers} workers, found {old}"
        for pid in old:
            os.kill(pid, signal.SIGKILL)

        def respawned():
            now = self.pids()
            return len(now) == self.site.workers and not (now & old)

        wait_until(respawned, timeout, 0.1, f"the master to start {self.site.workers} new workers")
        return old
