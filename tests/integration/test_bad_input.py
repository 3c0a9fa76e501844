"""Bad input sent straight to the callbacks of a live 4-worker site, as a hostile or broken client could.

Bodies are built from the site's own /_dash-dependencies (tests/callbacks.py), so only the values
are forged. Every answer must be a clear message — in a 200 the page renders, or a 400 JSON —
never a 500 and never a traceback; nothing may be created in the store or on disk for a refused
request; and where the page is meant to handle the input, the gunicorn log gains no traceback.
"""

from __future__ import annotations

import json

import requests

from stores import open_store, sessions
from tests.callbacks import Callbacks, files_under, gunicorn_log

COLS = ["fruit", "x", "y", "amount", "revenue"]
GOOD_ROW = ["apples", 1.5, 2.5, 3, 4.5]


class Untouched:
    """What a refused request must not change: the store's keys and counters, the data directory's files,
    and (where the page handles the input) the absence of tracebacks in the gunicorn log."""

    def __init__(self, site):
        self.site = site
        self.store = open_store(site.settings)
        self.log = gunicorn_log(site)
        self.keys, self.counters, self.files = self._keys(), self._counters(), self._files()

    def _keys(self) -> set[str]:
        # Request records (the telemetry log) are expected, and so are rate-limit counters.
        return {k for k in self.store.scan("") if not k.startswith(("tel:req:", "log:tel", "logseq:tel", "ratelimit:"))}

    def _counters(self) -> dict[str, int]:
        return {k: self.store.get_int(k) for k in self.store.scan("tel:n:")}

    def _files(self) -> set[str]:
        return files_under(self.site.settings.data_dir, skip=(self.site.log_dir,))

    def check(self, log_too: bool = True) -> None:
        assert self._keys() - self.keys == set(), "a refused request created store keys"
        assert self._counters() == self.counters, "a refused request moved a counter (computed, hit, missed)"
        assert self._files() - self.files == set(), "a refused request created files"
        if log_too:
            assert "Traceback" not in self.log.since(), self.log.since()[-3000:]


def no_traceback(response: requests.Response) -> None:
    text = response.text
    assert "Traceback" not in text and 'File "/' not in text and "site-packages" not in text, text[-1500:]


def clear(response: requests.Response, *expected: str) -> str:
    """A handled refusal: 200 with the page's message, or 400 JSON with one; never a 500 or a traceback."""
    no_traceback(response)
    assert response.status_code in (200, 400), f"HTTP {response.status_code}: {response.text[:300]}"
    text = response.json()["message"] if response.status_code == 400 else response.text
    assert any(e in text for e in expected), f"none of {expected} in: {text[:600]}"
    return text


def forged_ids(site) -> dict[str, object]:
    """Session ids this site never issued, built around one it did (another session's)."""
    other = sessions.mint(site.settings.secret.encode())
    uuid, signature = other.split(".")
    guessed_uuid = "0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f"
    return {
        "wrong format": "not-a-session-id",
        "guessed uuid, copied signature": f"{guessed_uuid}.{signature}",
        "real uuid, guessed signature": f"{uuid}.{'0' * 32}",
        "real id in upper case": other.upper(),
        "real id with a suffix": other + "0",
        "10 KB string": "a" * 10_240,
        "relative path": "../../etc/passwd",
        "absolute path": "/etc/passwd",
        "path after a real id": f"{other}/../../../etc/passwd",
        "NUL byte": f"{uuid}\x00.{signature}",
        "Windows device": "CON",
        "empty": "",
        "missing": None,
        "a number": 12345,
        "a list": [other],
        "an object": {"id": other},
    }


def key_for(session_id) -> object:
    """A serverside browser key around a session id, as the producer would have built it."""
    return f"v1.1000.north@{session_id}" if isinstance(session_id, str) else session_id


SESSION_CALLBACKS = {
    # output: (values for a forged id, the changed input, what the answer must say)
    "session-cache__table.children": (
        lambda sid: {
            "session-cache__fetch.n_clicks": 1,
            "session-cache__region.value": "north",
            "session-cache__rows.value": 1000,
            "session-cache__session.data": sid,
        },
        None,
        ("Rejected session id",),
    ),
    "session-cache__graph.figure": (
        lambda sid: {
            "session-cache__fetch.n_clicks": 1,
            "session-cache__fruit.value": "apples",
            "session-cache__region.value": "north",
            "session-cache__rows.value": 1000,
            "session-cache__session.data": sid,
        },
        ["session-cache__fruit.value"],
        ("session id",),
    ),
    "session-files__signal.data": (
        lambda sid: {
            "session-files__save.n_clicks": 1,
            "session-files__region.value": "north",
            "session-files__rows.value": 1000,
            "session-files__session.data": sid,
        },
        None,
        ("Rejected session id",),
    ),
    "session-files__graph.figure": (
        lambda sid: {
            "session-files__signal.data": {"written": 1, "region": "north"},
            "session-files__fruit.value": "apples",
            "session-files__session.data": sid,
        },
        None,
        ("session id",),
    ),
    "session-files__table.children": (
        lambda sid: {"session-files__signal.data": {"written": 1, "region": "north"}, "session-files__session.data": sid},
        None,
        ("Rejected session id",),
    ),
    "session-files__seed-verdict.children": (
        lambda sid: {"session-files__seed-name.value": "alice.csv", "session-files__session.data": sid},
        None,
        ("Rejected session id",),
    ),
    "serverside__key.data": (
        lambda sid: {"serverside__rows.value": "1000", "serverside__region.value": "north", "serverside__session.data": sid},
        None,
        ("Rejected session id",),
    ),
    "serverside__summary.children": (
        lambda sid: {"serverside__key.data": key_for(sid)},
        None,
        ("Rejected session id", "Unknown key", "No key"),
    ),
    "serverside__density.figure": (
        lambda sid: {"serverside__key.data": key_for(sid), "serverside__fruit.value": "apples"},
        None,
        ("Rejected session id", "Unknown key", "No key"),
    ),
}


def test_forged_session_ids_are_refused_and_create_nothing(site):
    callbacks, guard = Callbacks(site), Untouched(site)
    answered = 0
    for name, forged in forged_ids(site).items():
        for output, (values, changed, expected) in SESSION_CALLBACKS.items():
            response = callbacks.call(output, values(forged), changed)
            text = clear(response, *expected)
            # The forged id is never echoed back raw (it could carry markup or a 10 KB string).
            if isinstance(forged, str) and len(forged) > 100:
                assert forged not in text, f"{output} echoed the {name} id"
            answered += 1
    assert answered == len(forged_ids(site)) * len(SESSION_CALLBACKS)
    guard.check()


def test_typed_file_names_are_only_explained_never_opened(embedded_site):
    site = embedded_site
    callbacks, guard = Callbacks(site), Untouched(site)
    session_id = sessions.mint(site.settings.secret.encode())
    names = [
        "../../etc/passwd",
        "/etc/passwd",
        "..\\..\\boot.ini",
        "CON",
        "nul.txt",
        "COM1",
        "a\x00b.csv",
        "~/.bashrc",
        ".env",
        "x" * 10_240,
        "../" * 2000,
        "",
        "alice.csv",
    ]
    for name in names:
        response = callbacks.call(
            "session-files__seed-verdict.children",
            {"session-files__seed-name.value": name, "session-files__session.data": session_id},
        )
        text = clear(response, "The seed would open", "Its code would open")
        assert "Nothing above was opened" in text
        assert "\x00" not in text and "\\u0000" not in text, "the NUL byte came back raw"
    # The page named the session's file, but a name on screen is not a file on disk.
    assert not (site.settings.data_dir / "session-files").exists() or not any(
        p.name.startswith(session_id[:8]) for p in (site.settings.data_dir / "session-files").iterdir()
    )
    guard.check()


def frame_text(columns, rows) -> str:
    return json.dumps({"columns": columns, "data": rows})


# Frame-shaped data that came back from a browser: each must be refused with a reason.
BAD_FRAMES = {
    "not JSON": "{not json",
    "cut short": '{"columns": ["fruit", "x"',
    "a number": 42,
    "a list": [1, 2, 3],
    "columns not a list": {"columns": "fruit", "data": []},
    "rows not a list": {"columns": COLS, "data": "rows"},
    "a short row": {"columns": COLS, "data": [["apples", 1]]},
    "a missing column": {"columns": ["fruit", "x"], "data": [["apples", 1]]},
    "text where numbers belong": {"columns": COLS, "data": [["apples", "ten", 1, 1, 1]]},
    "a column twice": {"columns": [*COLS, "x"], "data": [[*GOOD_ROW, 9]]},
    "a list in a cell": {"columns": COLS, "data": [[["apples"], 1, 2, 3, 4]]},
    "an object in a cell": {"columns": COLS, "data": [[{"$ne": None}, 1, 2, 3, 4]]},
    "a 400-digit number": f'{{"columns": {json.dumps(COLS)}, "data": [["apples", 1{"0" * 400}, 2, 3, 4]]}}',
    "nested 100,000 deep": "[" * 100_000 + "]" * 100_000,
}


def test_malformed_hidden_div_and_browser_store_data_get_a_clear_message(embedded_site):
    site = embedded_site
    callbacks, guard = Callbacks(site), Untouched(site)
    consumers = {
        "hidden-div__table.children": lambda bad: {"hidden-div__data.children": bad},
        "hidden-div__scatter-apples.figure": lambda bad: {"hidden-div__data.children": bad},
        "browser-store__session-view.children": lambda bad: {
            "browser-store__session.data": {"rows": 1000, "kept": 1, "region": "north", "frame": bad}
        },
    }
    for bad in BAD_FRAMES.values():
        for output, values in consumers.items():
            clear(callbacks.call(output, values(bad)), "Rejected data from the browser")

    # The store's envelope itself, wrong.
    good = {"columns": COLS, "data": [GOOD_ROW]}
    for envelope in [
        "just text",
        [],
        7,
        {"rows": "many", "kept": 1, "frame": good},
        {"rows": 1000, "kept": 1, "region": ["north"], "frame": good},
        {"rows": 1000, "kept": 1, "region": "north"},
    ]:
        clear(
            callbacks.call("browser-store__session-view.children", {"browser-store__session.data": envelope}),
            "Rejected data from the browser",
        )

    # Aggregates: the shipped views, wrong.
    binned = {"columns": ["x", "y", "n"], "data": [[1.0, 2.0, 3]]}
    for bad in [
        "{not json",
        "[]",
        5,
        {"summary": 5},
        {"binned": {}},
        {"binned": {"apples": "x"}},
        {"binned": {"apples": {"columns": ["x", "y", "n", "n"], "data": [[1, 2, 3, 4]]}}},
        {"binned": {"apples": {"columns": ["x", "y", "n"], "data": [[[1], 2, 3]]}}},
        "[" * 100_000 + "]" * 100_000,
    ]:
        for output in ("aggregates__line-apples.figure", "aggregates__bars.figure"):
            clear(callbacks.call(output, {"aggregates__data.children": bad}), "Rejected data from the browser")
    # One view wrong, the other fine: only the consumer of the wrong one refuses.
    summary = {"columns": ["fruit", "rows", "revenue"], "data": [[{"a": 1}, 1, 2]]}
    mixed = {"summary": summary, "binned": {"apples": binned}}
    clear(callbacks.call("aggregates__bars.figure", {"aggregates__data.children": mixed}), "Rejected data from the browser")
    line = callbacks.call("aggregates__line-apples.figure", {"aggregates__data.children": mixed})
    assert line.status_code == 200 and "mean y by x (3 rows)" in line.text
    guard.check()


def test_bad_values_for_producers_are_refused_before_any_work(site):
    callbacks, guard = Callbacks(site), Untouched(site)
    session_id = sessions.mint(site.settings.secret.encode())
    for region in ["../../etc/passwd", "north; rm -rf /", "", None, 5, ["north"], {"$gt": ""}, "n" * 10_240]:
        clear(callbacks.call("cache-signal__signal.data", {"cache-signal__region.value": region}), "region must be one of")
        clear(
            callbacks.call("cache-signal__graph-scatter.figure", {"cache-signal__signal.data": {"region": region}}),
            "region must be one of",
        )
        clear(
            callbacks.call(
                "serverside__key.data",
                {"serverside__rows.value": "1000", "serverside__region.value": region, "serverside__session.data": session_id},
            ),
            "region must be one of",
        )
    for rows in ["lots", -1, 0, 10**12, None, [1000], 1.5e300]:
        clear(
            callbacks.call("hidden-div__data.children", {"hidden-div__region.value": "north", "hidden-div__rows.value": rows}),
            "Cannot compute",
        )
        clear(
            callbacks.call(
                "session-cache__table.children",
                {
                    "session-cache__fetch.n_clicks": 1,
                    "session-cache__region.value": "north",
                    "session-cache__rows.value": rows,
                    "session-cache__session.data": session_id,
                },
            ),
            "row count must be", "rows must be one of",
        )
        clear(
            callbacks.call(
                "browser-store__memory.data",
                {
                    "browser-store__write.n_clicks": 1,
                    "browser-store__target.value": "session",
                    "browser-store__rows.value": rows,
                    "browser-store__region.value": "north",
                },
            ),
            "Cannot write",
        )
    for target in ["evil", "localStorage", None, ["session"]]:
        clear(
            callbacks.call(
                "browser-store__memory.data",
                {
                    "browser-store__write.n_clicks": 1,
                    "browser-store__target.value": target,
                    "browser-store__rows.value": 1000,
                    "browser-store__region.value": "north",
                },
            ),
            "storage type must be one of",
        )
    # A signal of the wrong shape: the consumer waits for a proper one.
    for signal in [5, "north; x", ["north"]]:
        clear(callbacks.call("cache-signal__graph-line.figure", {"cache-signal__signal.data": signal}), "region must be one of")
    guard.check()


def test_global_variable_survives_a_forged_history(embedded_site):
    callbacks, guard = Callbacks(embedded_site), Untouched(embedded_site)
    for history in [
        "junk",
        5,
        None,
        [1, "x", {"action": "set"}, {"action": "read", "pid": "1", "value": 3}],
        [{"action": "set", "pid": 1, "value": "<script>alert(1)</script>"}] * 500,
    ]:
        for value in ["ok", "v" * 10_240, {"a": 1}, None]:
            response = callbacks.call(
                "global-variable__safe-result.children",
                {
                    "global-variable__safe-set.n_clicks": 1,
                    "global-variable__safe-value.value": value,
                    "global-variable__safe-history.data": history,
                },
            )
            clear(response, "wrote")
            answer = response.json()["response"]
            kept = answer["global-variable__safe-store"]["data"]
            assert kept is None or len(kept) <= 40, "the store kept a value longer than the page allows"
            assert len(answer["global-variable__safe-history"]["data"]) <= 60, "the history grew past its bound"
    guard.check()


def test_unknown_pages_and_malformed_envelopes_never_show_a_traceback(embedded_site):
    site = embedded_site
    callbacks = Callbacks(site)
    for path in ["/no-such-page", "/..%2F..%2Fetc%2Fpasswd", "/%00", "/" + "p" * 5000, "/session-cache/../../app.py"]:
        response = requests.get(site.url + path, timeout=10)
        no_traceback(response)
        assert response.status_code in (200, 400, 404, 414), (path, response.status_code)
    for pathname in ["/no-such-page", "/../../etc/passwd", "/\x00", "/" + "p" * 5000, None, 5]:
        response = callbacks.call("_pages_content.children", {"_pages_location.pathname": pathname, "_pages_location.search": ""})
        no_traceback(response)
        if isinstance(pathname, str):  # what a browser can send: Dash's router shows its not-found page
            assert response.status_code == 200, (pathname, response.status_code, response.text[:300])
            assert "Page not found" in response.text
        elif pathname is not None:  # no browser sends this; Dash's router alone would answer a bare 500
            assert response.status_code == 400, (pathname, response.status_code)
            assert "the page location's pathname must be text, not int" in response.json()["message"]

    body = callbacks.body("hidden-div__table.children", {"hidden-div__data.children": "{}"})
    broken = {
        "unknown output": {**body, "output": "no-such__thing.children"},
        "no inputs": {k: v for k, v in body.items() if k != "inputs"},
        "no output": {k: v for k, v in body.items() if k != "output"},
        "no outputs": {k: v for k, v in body.items() if k != "outputs"},
        "inputs not a list": {**body, "inputs": "x"},
        "an input without a value": {**body, "inputs": [{"id": "hidden-div__data", "property": "children"}]},
        "empty object": {},
        "an array": [],
    }
    for name, envelope in broken.items():
        response = callbacks.post(envelope)
        no_traceback(response)
        if name != "an input without a value":  # Dash takes that one: the value is simply None
            assert response.status_code == 400, (name, response.status_code)
            assert response.json()["message"].startswith("Malformed callback request: "), name
    for raw in [b"{{{", b"", b"\xff\xfe", ("[" * 100_000 + "]" * 100_000).encode()]:
        response = callbacks.post(raw)
        no_traceback(response)
        assert response.status_code == 400 and "Malformed callback request" in response.json()["message"], raw[:10]
    # A real callback whose input value nests past orjson's 255 levels: refused before Dash sees it (the
    # answer would fail to encode after the work), by components/envelope.MAX_DEPTH; a modest depth passes.
    deep, modest = [1], [1]
    for _ in range(300):
        deep = [deep]
    for _ in range(30):
        modest = [modest]
    response = callbacks.call("hidden-div__table.children", {"hidden-div__data.children": deep})
    no_traceback(response)
    assert response.status_code == 400, response.status_code
    assert "nested too deeply" in response.json()["message"]
    response = callbacks.call("hidden-div__table.children", {"hidden-div__data.children": modest})
    no_traceback(response)
    assert response.status_code == 200, (response.status_code, response.text[:300])
