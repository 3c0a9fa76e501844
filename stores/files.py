"""One file per session on disk (seed 003, option 1) — named by the server, never by the user.

The seed opens whatever file name the user typed. Here the name is built from the uuid of
a session id the server minted and signed ("<uuid>.arrow"), the path is checked to be
inside the root after resolving it, writes are atomic (temp file + os.replace), and old
files are cleaned up on every write: past max_age, beyond the newest max_files, and the oldest
others while the folder would pass max_bytes (the strategy's share of STATELAB_MAX_DATA_BYTES,
stores/budget.py); a file larger than the whole bound is refused and not written. Files live on this machine's disk only: workers on
one host share them, a second host would not see them.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from reports.fmt import human_bytes

from . import codec
from .base import StoreError
from .budget import OverBudget

SUFFIX = ".arrow"
_OURS = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.arrow$")
_TEMP_PREFIX, _TEMP_SUFFIX = ".tmp-", ".part"
TEMP_MAX_AGE = 120.0  # a temp file older than this was left by a writer that died

WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {f"{p}{n}" for p in ("COM", "LPT") for n in range(1, 10)}


class UnsafePath(StoreError):
    """A path that would fall outside the session-files root (never expected; checked anyway)."""


class SessionFileError(StoreError):
    """The disk refused a read or write (full, read-only, permissions)."""


class FileMissing(LookupError):
    """This session has no file (never saved, expired or cleaned up)."""


@dataclass(frozen=True)
class FileInfo:
    name: str
    bytes: int
    modified: float


class SessionFiles:
    def __init__(self, root: Path, check: Callable[[str], str], max_age: float = 3600.0, max_files: int = 200,
                 max_bytes: int | None = None, bound_text: str | None = None):
        if max_files < 1:
            raise ValueError("max_files must be at least 1")
        self.root = Path(root).resolve()
        self.check, self.max_age, self.max_files = check, max_age, max_files
        self.max_bytes = max_bytes
        # How the bound reads where it bites ("3.2 MB, session-files' share of ...").
        self.bound_text = bound_text or (human_bytes(max_bytes) if max_bytes is not None else "")

    def path_for(self, session_id) -> Path:
        """The file of a session id this server minted; InvalidSessionId for anything else."""
        raw = self.check(session_id).split(".", 1)[0]
        name = f"{uuid.UUID(raw)}{SUFFIX}"  # canonical form, built by us: hex digits and hyphens only
        path = self.root / name
        resolved = path.resolve()
        if resolved.parent != self.root or not resolved.is_relative_to(self.root):
            raise UnsafePath(f"refusing {name}: it resolves outside {self.root}")
        return path

    def _mkdir(self) -> None:
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise SessionFileError(f"cannot create the session-files folder {self.root}: {exc.strerror}") from exc

    def write_frame(self, session_id, frame: pd.DataFrame) -> FileInfo:
        """Write this session's frame atomically (readers see the old file or the new, never half)."""
        path = self.path_for(session_id)
        data = codec.frame_to_arrow(frame)
        if self.max_bytes is not None and len(data) > self.max_bytes:
            raise OverBudget(
                f"this file would be {human_bytes(len(data))}, more than the folder's whole bound of {self.bound_text}: "
                "not written. Pick fewer rows."
            )
        self._mkdir()
        self.cleanup(keep=path.name, incoming=len(data))  # room first: the folder never passes its bound
        try:
            fd, temp = tempfile.mkstemp(dir=self.root, prefix=_TEMP_PREFIX, suffix=_TEMP_SUFFIX)
        except OSError as exc:
            raise SessionFileError(f"cannot write in {self.root}: {exc.strerror}") from exc
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise SessionFileError(f"cannot write the session file: {exc.strerror}") from exc
        self.cleanup(keep=path.name)
        return FileInfo(path.name, len(data), time.time())

    def info(self, session_id) -> FileInfo | None:
        path = self.path_for(session_id)
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        return FileInfo(path.name, st.st_size, st.st_mtime)

    def read_frame(self, session_id) -> tuple[pd.DataFrame, FileInfo]:
        """This session's frame; FileMissing (with what to do) when there is none."""
        path = self.path_for(session_id)
        rules = f"files older than {self.max_age / 60:g} min, or beyond the newest {self.max_files}"
        if self.max_bytes is not None:  # the bound first: it is what bites when many sessions save
            rules = f"the oldest files go to keep the folder under {self.bound_text}; so do {rules}"
        missing = FileMissing(f"no file for this session: it was never saved, or it was cleaned up ({rules}). Save again.")
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            raise missing from None
        except OSError as exc:
            raise SessionFileError(f"cannot read the session file: {exc.strerror}") from exc
        with os.fdopen(fd, "rb") as source:
            st = os.fstat(source.fileno())
            if time.time() - st.st_mtime > self.max_age:
                with contextlib.suppress(OSError):
                    path.unlink()
                raise FileMissing(
                    f"this session's file expired ({self.max_age / 60:g} min without a save) and was removed. Save again."
                )
            data = source.read()
        return codec.frame_from_arrow(data), FileInfo(path.name, len(data), st.st_mtime)

    def delete(self, session_id) -> bool:
        path = self.path_for(session_id)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def files(self) -> list[FileInfo]:
        """Every session file in the root, newest first."""
        found = []
        try:
            entries = list(os.scandir(self.root))
        except FileNotFoundError:
            return []
        for entry in entries:
            if _OURS.match(entry.name) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):
                    st = entry.stat(follow_symlinks=False)
                    found.append(FileInfo(entry.name, st.st_size, st.st_mtime))
        return sorted(found, key=lambda f: f.modified, reverse=True)

    def cleanup(self, keep: str | None = None, now: float | None = None, incoming: int = 0) -> int:
        """Remove expired files, files beyond the newest max_files, the oldest others while the folder
        (with `incoming` bytes about to replace `keep`) would pass max_bytes, and abandoned temp files."""
        now = time.time() if now is None else now
        removed = 0
        try:
            entries = list(os.scandir(self.root))
        except FileNotFoundError:
            return 0
        for entry in entries:
            if entry.name.startswith(_TEMP_PREFIX) and entry.name.endswith(_TEMP_SUFFIX):
                with contextlib.suppress(FileNotFoundError):
                    if now - entry.stat(follow_symlinks=False).st_mtime > TEMP_MAX_AGE:
                        removed += self._remove(entry.name)
        kept = []
        for info in self.files():
            if info.name != keep and now - info.modified > self.max_age:
                removed += self._remove(info.name)
            else:
                kept.append(info)
        others = [f for f in kept if f.name != keep]  # newest first
        room = self.max_files - (len(others) < len(kept))  # the kept file takes one place
        for info in others[max(room, 0) :]:
            removed += self._remove(info.name)
        own = incoming or sum(f.bytes for f in kept if f.name == keep)
        return removed + self._trim_bytes(others[: max(room, 0)], own)

    def _trim_bytes(self, others: list[FileInfo], incoming: int) -> int:
        """Remove the oldest of `others` (newest first) until they and `incoming` fit max_bytes."""
        if self.max_bytes is None:
            return 0
        removed, held = 0, sum(f.bytes for f in others) + incoming
        for info in reversed(others):
            if held <= self.max_bytes:
                break
            removed += self._remove(info.name)
            held -= info.bytes
        return removed

    def _remove(self, name: str) -> int:
        try:
            (self.root / name).unlink()
        except FileNotFoundError:
            return 0
        return 1

    def bytes_held(self) -> int:
        return sum(f.bytes for f in self.files())


@dataclass(frozen=True)
class SeedName:
    """What the seed's `open(os.path.join(folder, name))` would have done with a typed name."""

    typed: str
    joined: str
    normalized: str
    problems: list[str]


def explain_seed_name(name: str, folder: str) -> SeedName:
    """Pure string analysis of a user-typed file name; never touches the filesystem."""
    name = name if isinstance(name, str) else ""
    joined = os.path.join(folder, name)
    normalized = os.path.normpath(joined)
    problems = []
    if not name:
        problems.append("empty: the source's code would open the folder itself and fail with a server error")
    if "\x00" in name:
        problems.append("contains a NUL byte: open() raises ValueError, a 500 for the source's code")
    if os.path.isabs(name) or name.startswith("\\") or re.match(r"^[A-Za-z]:", name):
        problems.append("absolute: os.path.join throws the folder away and uses this path as it is")
    if not (normalized + os.sep).startswith(folder.rstrip(os.sep) + os.sep):
        problems.append("escapes the folder: after '..' is resolved the file lies outside it")
    elif ".." in re.split(r"[\\/]", name):
        problems.append("contains '..': harmless here only by luck of the depth")
    if "\\" in name:
        problems.append("contains backslashes: path separators on Windows")
    parts = [p for p in re.split(r"[\\/]", name) if p]
    if any(p.split(".", 1)[0].upper().rstrip(" ") in WINDOWS_DEVICES for p in parts):
        problems.append("a Windows device name (CON, NUL, AUX, COM1 …): on Windows it opens a device, not a file")
    if any(len(p.encode("utf-8", "surrogatepass")) > 255 for p in parts) or len(joined) > 4096:
        problems.append("longer than a file name may be (255 bytes): the source's code fails with a server error")
    if any(p.startswith(".") and p not in (".", "..") for p in parts):
        problems.append("a hidden file name: could overwrite dot-files such as .env or .bashrc")
    problems.append("chosen by the user: anyone who types someone else's name reads and overwrites their file")
    return SeedName(name, joined, normalized, problems)
