"""SessionFiles: one file per session, named only from a server-signed session id.

Every attack the seed's user-typed file name allows is tried against the real
filesystem in a temporary folder; none may create, read or remove anything.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest

from stores import sessions
from stores.files import FileMissing, SessionFiles, UnsafePath, explain_seed_name
from stores.sessions import InvalidSessionId

SECRET = b"unit-test-secret-for-session-files"
OTHER_SECRET = b"another-server-secret"


def check(session_id):
    return sessions.validate(session_id, SECRET)


def frame(n: int = 5) -> pd.DataFrame:
    return pd.DataFrame({"x": range(n), "fruit": ["figs"] * n})


def tree(base: Path) -> dict[str, int]:
    """Every path under base with its size: a before/after snapshot."""
    return {str(p.relative_to(base)): (p.lstat().st_size if p.is_file() else -1) for p in base.rglob("*")}


@pytest.fixture
def outer(tmp_path):
    (tmp_path / "app.py").write_text("print('the app')\n")  # what a traversal would aim at
    return tmp_path


@pytest.fixture
def files(outer):
    return SessionFiles(outer / "data" / "session-files", check, max_age=60, max_files=3)


def _forged_ids(victim: str) -> list:
    victim_uuid = victim.split(".")[0]
    mine_elsewhere = sessions.mint(OTHER_SECRET)
    return [
        "../../app.py",
        "../outside.arrow",
        "../../../../../../etc/passwd",
        "/etc/passwd",
        str(Path("/tmp") / "statelab-escape.arrow"),
        "C:\\Windows\\win.ini",
        "\\\\server\\share\\file",
        "a\x00b",
        victim + "\x00.txt",
        "CON",
        "NUL",
        "aux.txt",
        "COM1",
        "x" * 10_240,
        victim + "/../../app.py",
        " " + victim,
        victim.upper(),
        "",
        ".",
        "..",
        victim_uuid,  # another session's uuid, guessed, with no signature
        f"{victim_uuid}.{'0' * 32}",  # ... with a made-up signature
        f"{uuid.uuid4()}.{victim.split('.')[1]}",  # a guessed uuid with a copied signature
        mine_elsewhere,  # validly signed, but by another server's secret
        None,
        123,
        {"id": victim},
        [victim],
    ]


def test_forged_and_hostile_ids_are_rejected_without_touching_the_disk(files, outer):
    victim = sessions.mint(SECRET)
    files.write_frame(victim, frame(7))
    victim_file = files.path_for(victim)
    before = tree(outer)
    victim_bytes = victim_file.read_bytes()
    for hostile in _forged_ids(victim):
        for action in (files.path_for, files.read_frame, files.info, files.delete, lambda s: files.write_frame(s, frame(99))):
            with pytest.raises(InvalidSessionId):
                action(hostile)
    assert tree(outer) == before, "a rejected id created, removed or changed a file"
    assert victim_file.read_bytes() == victim_bytes
    assert not (outer.parent / "statelab-escape.arrow").exists()
    assert not Path("/tmp/statelab-escape.arrow").exists()


def test_a_valid_id_gets_its_uuid_as_file_name_inside_the_root(files):
    session_id = sessions.mint(SECRET)
    path = files.path_for(session_id)
    assert path.name == session_id.split(".")[0] + ".arrow"
    assert path.resolve().parent == files.root
    assert path.resolve().is_relative_to(files.root)


def test_write_then_read_round_trips_and_leaves_no_temp_files(files):
    session_id = sessions.mint(SECRET)
    files.write_frame(session_id, frame(3))
    info = files.write_frame(session_id, frame(8))  # a second write replaces the first atomically
    back, read_info = files.read_frame(session_id)
    assert len(back) == 8 and list(back.columns) == ["x", "fruit"]
    assert read_info.bytes == info.bytes == files.path_for(session_id).stat().st_size
    assert sorted(os.listdir(files.root)) == [files.path_for(session_id).name]


def test_sessions_do_not_see_each_others_files(files):
    alice, bob = sessions.mint(SECRET), sessions.mint(SECRET)
    files.write_frame(alice, frame(2))
    with pytest.raises(FileMissing, match="never saved"):
        files.read_frame(bob)
    files.write_frame(bob, frame(4))
    assert len(files.read_frame(alice)[0]) == 2 and len(files.read_frame(bob)[0]) == 4


def test_a_symlink_planted_at_a_session_path_is_refused(files, outer):
    session_id = sessions.mint(SECRET)
    files.root.mkdir(parents=True, exist_ok=True)
    os.symlink(outer / "app.py", files.root / (session_id.split(".")[0] + ".arrow"))
    with pytest.raises(UnsafePath):
        files.write_frame(session_id, frame())
    with pytest.raises(UnsafePath):
        files.read_frame(session_id)
    assert (outer / "app.py").read_text() == "print('the app')\n"


def test_an_expired_file_reads_as_missing_and_is_removed(files):
    session_id = sessions.mint(SECRET)
    files.write_frame(session_id, frame())
    path = files.path_for(session_id)
    old = time.time() - 3600
    os.utime(path, (old, old))
    with pytest.raises(FileMissing, match="expired"):
        files.read_frame(session_id)
    assert not path.exists()


def test_cleanup_removes_old_files_extra_files_and_abandoned_temp_files(files):
    now = time.time()
    ids = [sessions.mint(SECRET) for _ in range(6)]
    for age, session_id in zip((7200, 30, 20, 10, 5), ids[:5], strict=True):
        files.write_frame(session_id, frame())
        os.utime(files.path_for(session_id), (now - age, now - age))
    stale_temp, fresh_temp = files.root / ".tmp-dead.part", files.root / ".tmp-busy.part"
    stale_temp.write_bytes(b"half")
    os.utime(stale_temp, (now - 600, now - 600))
    fresh_temp.write_bytes(b"in progress")
    unrelated = files.root / "README.txt"
    unrelated.write_text("not ours")

    files.write_frame(ids[5], frame())  # every write cleans up

    left = {f.name for f in files.files()}
    newest = {files.path_for(s).name for s in (ids[5], ids[4], ids[3])}
    assert left == newest, "expected the written file plus the two newest others (max_files=3)"
    assert not stale_temp.exists() and fresh_temp.exists() and unrelated.exists()


def test_cleanup_never_removes_the_file_just_written(outer):
    files = SessionFiles(outer / "one", check, max_age=60, max_files=1)
    first, second = sessions.mint(SECRET), sessions.mint(SECRET)
    files.write_frame(first, frame())
    files.write_frame(second, frame(2))
    assert [f.name for f in files.files()] == [files.path_for(second).name]
    assert len(files.read_frame(second)[0]) == 2


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("../../etc/passwd", "escapes the folder"),
        ("/etc/passwd", "absolute"),
        ("C:\\boot.ini", "absolute"),
        ("a\x00b", "NUL byte"),
        ("CON", "Windows device"),
        ("aux.txt", "Windows device"),
        ("x" * 10_240, "longer than a file name"),
        ("..\\..\\boot.ini", "backslashes"),
        ("alice.csv", "chosen by the user"),
    ],
)
def test_the_seed_name_explainer_names_each_danger(typed, expected, tmp_path):
    folder = str(tmp_path / "data" / "session-files")
    before = tree(tmp_path)
    seed = explain_seed_name(typed, folder)
    assert any(expected in p for p in seed.problems), seed.problems
    assert tree(tmp_path) == before
    if typed == "/etc/passwd":
        assert seed.joined == "/etc/passwd"  # os.path.join dropped the folder
    if typed == "alice.csv":
        assert seed.problems == ["chosen by the user: anyone who types someone else's name reads and overwrites their file"]
