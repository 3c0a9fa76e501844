"""The server's own readings: counters and bytes held, read through the /benchmark page's read-only probe
callback (or, for the peer app, its /peer/stats endpoint)."""

from __future__ import annotations

import time

from stores.ids import PROBE_ASK_ID, PROBE_ID

from .dashclient import Browser, dumps, parse
from .specs import Spec

PROBE_OUTPUT = f"{PROBE_ID}.data"


class Probe:
    """Server counters and bytes held, read through the benchmark page's read-only probe callback."""

    def __init__(self, urls: list[str], timeout: float = 30.0, headers: dict[str, str] | None = None):
        self.browser = Browser(urls, timeout=timeout, headers=headers)
        self.available: bool | None = None

    def read(self, spec: Spec) -> dict | None:
        dirs = list(spec.server_dirs) + (["flask-cache"] if spec.flask_cache else [])
        ask = {"slugs": [spec.slug], "dirs": dirs, "t": time.time()}
        payload = {
            "output": PROBE_OUTPUT,
            "outputs": {"id": PROBE_ID, "property": "data"},
            "inputs": [{"id": PROBE_ASK_ID, "property": "data", "value": ask}],
            "changedPropIds": [f"{PROBE_ASK_ID}.data"],
            "parsedChangedPropsIds": [f"{PROBE_ASK_ID}.data"],
        }
        url = self.browser.next_url() + "/_dash-update-component"
        try:
            response = self.browser.http.post(url, data=dumps(payload), headers={"Content-Type": "application/json"},
                                              timeout=self.browser.timeout)
            if response.status_code != 200:
                self.available = False
                return None
            answer = parse(response.content)["response"][PROBE_ID]["data"]
        except (OSError, ValueError, KeyError, TypeError):
            self.available = False
            return None
        self.available = "error" not in answer
        return answer if self.available else None

    def close(self) -> None:
        self.browser.close()


class PeerProbe(Probe):
    """The peer app's own stats endpoint (GET /peer/stats): computations and cache bytes."""

    def read(self, spec: Spec) -> dict | None:
        try:
            response = self.browser.http.get(self.browser.urls[0] + "/peer/stats", timeout=self.browser.timeout)
            stats = response.json() if response.status_code == 200 else None
        except (OSError, ValueError):
            stats = None
        if not stats:
            self.available = False
            return None
        self.available = True
        return {"counters": {"compute": {spec.slug: stats.get("computations", 0)}}, "server_bytes": stats.get("cache_bytes")}
