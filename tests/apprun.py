"""`python app.py` run as an operator runs it, for the tests of the launcher itself."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from config import PROJECT_DIR


class AppProcess:
    """`python app.py` as an operator runs it, with its output collected line by line."""

    def __init__(self, *args: str, data_dir: Path, workers: int = 2):
        # An operator's environment: none of ours, but the server kind when pytest's environment names one.
        env = {k: v for k, v in os.environ.items()
               if (not k.startswith("STATELAB_") or k == "STATELAB_SERVER") and k != "REDIS_URL"}
        env.update(STATELAB_COMPUTE_DELAY="0.2", PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, "app.py", "--data-dir", str(data_dir), "--workers", str(workers), *args],
            cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        for stream, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err)):
            threading.Thread(target=lambda s=stream, k=lines: k.extend(iter(s.readline, "")), daemon=True).start()

    def said(self, text: str) -> bool:
        return any(text in line for line in self.out + self.err)

    def stop(self) -> int | None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(10)
        return self.process.returncode
