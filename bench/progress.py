"""A small progress bar for the terminal (and plain lines when the output is not a terminal)."""

from __future__ import annotations

import sys
import threading
import time


class ProgressBar:
    def __init__(self, stream=None, width: int = 30):
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.started = time.monotonic()
        self.last_label = None
        self.last_draw = 0.0
        self._lock = threading.Lock()

    def __call__(self, done: int, total: int, label: str) -> None:
        with self._lock:
            if self.tty:
                now = time.monotonic()
                if now - self.last_draw < 0.1 and done < total and label == self.last_label:
                    return
                self.last_draw = now
                share = done / total if total else 1.0
                filled = int(self.width * share)
                bar = "█" * filled + "░" * (self.width - filled)
                elapsed = now - self.started
                line = f"\r{bar} {share:4.0%}  {elapsed:5.0f} s  {label}"
                self.stream.write(line[:160].ljust(100))
                self.stream.flush()
            elif label != self.last_label:
                self.stream.write(f"[{done}/{total}] {label}\n")
                self.stream.flush()
            self.last_label = label

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
