"""The site's languages (i18n.py, translations/): complete catalogs, and who chooses the language.

- every message of translations/messages.pot has a non-empty, non-fuzzy translation in each catalog
  (zh_Hans, ja), whose placeholders match; a catalog holds no message the template no longer has; the
  template holds exactly what the code marks (pybabel extract with babel.cfg);
- the locale selector: ?lang= beats the cookie, the cookie beats Accept-Language, anything else is English;
- the live app's middleware chooses the same way and sets the cookie only for ?lang=;
- catalogs compile at start-up only when stale, through a temporary file; a compiled one translates.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import flask
import flask_babel
import pytest
from babel.messages import pofile
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

import i18n
from components.strategy import GROUPS
from reports.fmt import human_bytes
from strategies import GROUPS as RECORD_GROUPS

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
LOCALES = ("zh_Hans", "ja")
KEYWORDS = {"_": None, "lazy_gettext": None, "N_": None, "ngettext": (1, 2)}  # as the README's pybabel extract -k


def _read(path: Path):
    with path.open("rb") as f:
        return pofile.read_po(f)


def _ids(catalog) -> set:
    return {m.id for m in catalog if m.id}


def test_the_catalogs_are_the_locales_the_site_offers():
    assert set(i18n.LANGUAGES) == set(i18n.CATALOGS) == set(i18n.TAGS)
    assert {i18n.CATALOGS[c] for c in i18n.LANGUAGES if c != i18n.DEFAULT} == set(LOCALES)
    for locale in LOCALES:
        assert (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").is_file(), locale


def test_the_template_holds_what_the_code_marks():
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    marked = {msg for _file, _line, msg, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS)}
    marked = {m if isinstance(m, str) else m[0] for m in marked}
    in_template = _ids(_read(TEMPLATE))
    in_template = {m if isinstance(m, str) else m[0] for m in in_template}
    assert marked - in_template == set(), "marked in the code, missing from messages.pot: run pybabel extract (README, Languages)"
    assert in_template - marked == set(), "in messages.pot, no longer in the code: run pybabel extract (README, Languages)"


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated_and_none_is_stale(locale):
    template = _read(TEMPLATE)
    catalog = _read(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po")
    wanted = _ids(template)
    problems = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id, message.context)
        strings = [] if found is None else (list(found.string) if isinstance(found.string, tuple) else [found.string])
        if found is None:
            problems.append(f"missing: {message.id!r}")
        elif not strings or not all(s and s.strip() for s in strings):
            problems.append(f"untranslated: {message.id!r}")
        elif found.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
    problems += [f"stale (not in messages.pot): {m.id!r}" for m in catalog if m.id and m.id not in wanted]
    problems += [f"obsolete entry left in the catalog: {m.id!r}" for m in catalog.obsolete.values()]
    # Babel's own checks: python-format placeholders the same in the translation as in the message.
    problems += [f"{m.id!r}: {err}" for m, errors in catalog.check() for err in errors]
    assert not problems, f"{locale}: " + "; ".join(problems)


# The technical words of the source texts (assets/sources/), as their translators wrote them.
VOCABULARY = {
    "callback": {"zh_Hans": "回调", "ja": "コールバック"},
    "global variable": {"zh_Hans": "全局变量", "ja": "グローバル変数"},
    "session": {"zh_Hans": "会话", "ja": "セッション"},
    "cache": {"zh_Hans": "缓存", "ja": "キャッシュ"},
}


def _prose(text: str) -> str:
    # Code spans, code blocks and {fields} are not prose: `session_id` is not the word "session".
    return re.sub(r"```.*?```|`[^`]*`|'[^']*'|<[^<>]*>|\{[^{}]*\}|%\([^)]*\)s|[\w.-]*_[\w.-]*|[\w-]+\.[\w.-]+|[\w]+-[\w-]+",
                  " ", text, flags=re.S)


# Where "session" names a value of dcc.Store's storage_type ('session' / 'local'), kept as written.
STORAGE_TYPE_NAMES = {
    "session and local",
    "session / local keep the data across reloads (local across tabs and restarts).",
    "Writes to the page's default store (storage_type='session'); its consumer reads it as Input.",
}


@pytest.mark.parametrize("locale", LOCALES)
def test_the_source_vocabulary_is_used(locale):
    catalog = _read(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po")
    problems = []
    for message in catalog:
        if not message.id or message.id in STORAGE_TYPE_NAMES:
            continue
        english = _prose(message.id if isinstance(message.id, str) else message.id[0]).lower()
        translated = message.string if isinstance(message.string, str) else " ".join(message.string)
        for term, words in VOCABULARY.items():
            if re.search(rf"\b{term}[sd]?\b", english) and words[locale] not in translated:
                problems.append(f"{term!r} -> {words[locale]!r}: {message.id!r} = {translated!r}")
    assert not problems, f"{locale}: " + "\n".join(problems)


def test_every_group_label_of_the_records_is_marked_for_translation():
    assert list(GROUPS) == list(RECORD_GROUPS)
    missing = set(RECORD_GROUPS.values()) - _ids(_read(TEMPLATE))
    assert not missing, f"strategies.GROUPS labels not marked (N_) or not extracted: {sorted(missing)}"
    assert dict(GROUPS) == RECORD_GROUPS  # outside a request: English, as str


def _site(translations: Path | None = None) -> flask.Flask:
    site = flask.Flask("i18n-probe")
    if translations is not None:
        site.config["BABEL_TRANSLATION_DIRECTORIES"] = str(translations)
    flask_babel.Babel(site, locale_selector=i18n.select_locale)
    return site


def _chosen(site, query="", cookie=None, accept=None) -> str:
    headers = {}
    if cookie is not None:
        headers["Cookie"] = f"{i18n.COOKIE}={cookie}"
    if accept is not None:
        headers["Accept-Language"] = accept
    with site.test_request_context("/" + query, headers=headers):
        return str(flask_babel.get_locale())


def test_the_query_beats_the_cookie_which_beats_accept_language():
    site = _site()
    assert _chosen(site, "?lang=ja", cookie="zh", accept="en") == "ja"
    assert _chosen(site, "?lang=zh", cookie="ja", accept="ja") == "zh_Hans"
    assert _chosen(site, "", cookie="ja", accept="zh-CN,zh;q=0.9") == "ja"
    assert _chosen(site, "", accept="zh-CN,zh;q=0.9,en;q=0.8") == "zh_Hans"
    assert _chosen(site, "", accept="ja-JP") == "ja"
    assert _chosen(site, "", accept="en-US, zh;q=0.5") == "en"  # the browser's order, not the first we offer
    assert _chosen(site, "", accept="fr, de, ja;q=0.2") == "ja"
    assert _chosen(site) == "en"


@pytest.mark.parametrize("query, cookie, accept, expected", [
    ("?lang=xx", "zh", None, "zh_Hans"),           # a junk ?lang= is ignored: the cookie decides
    ("?lang=", None, "ja", "ja"),
    ("?lang=%00%FF", "nonsense", "ja;q=0.9", "ja"),  # junk query and cookie: Accept-Language decides
    ("?lang=de", "de", "fr-CA, *;q=0.1", "en"),      # nothing we offer: English
    ("", None, ";;;q=abc,,\x7f", "en"),
    ("", None, "*", "en"),
    ("?lang=ZH", None, None, "zh_Hans"),             # case and blanks forgiven
])
def test_junk_is_ignored_never_an_error(query, cookie, accept, expected):
    assert _chosen(_site(), query, cookie=cookie, accept=accept) == expected


def test_the_html_lang_tag_follows_the_choice():
    site = _site()
    for query, tag in (("?lang=zh", "zh-Hans"), ("?lang=ja", "ja"), ("?lang=en", "en"), ("", "en")):
        with site.test_request_context("/" + query):
            assert i18n.tag() == tag
    assert i18n.tag() == "en"  # outside any request


def _live_request(query=b"", headers=()):
    seen = {}

    async def endpoint(scope, receive, send):
        seen["language"] = i18n.current()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})

    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "path": "/live/progress", "query_string": query, "headers": list(headers), "scheme": "http"}
    # In a thread of its own: in the full suite, Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, i18n.LanguageMiddleware(endpoint)(scope, receive, send)).result()
    cookies = [v.decode() for k, v in sent[0]["headers"] if k == b"set-cookie"]
    return seen["language"], cookies


def test_the_live_app_chooses_the_same_way_and_sets_the_cookie_for_a_query_only():
    language, cookies = _live_request(b"lang=zh", [(b"cookie", b"statelab_lang=ja"), (b"accept-language", b"ja")])
    assert language == "zh"
    assert len(cookies) == 1 and cookies[0].startswith("statelab_lang=zh;") and "SameSite=Lax" in cookies[0]
    assert "Max-Age=31536000" in cookies[0]
    assert _live_request(b"", [(b"cookie", b"other=1; statelab_lang=ja"), (b"accept-language", b"zh")]) == ("ja", [])
    assert _live_request(b"lang=ja", [(b"cookie", b"statelab_lang=ja")]) == ("ja", [])  # nothing to change
    assert _live_request(b"lang=%ff%00", [(b"cookie", b"\xff\xfe;;="), (b"accept-language", b"zh-TW")]) == ("zh", [])
    assert _live_request() == ("en", [])
    assert i18n.current() == "en"  # the request's language does not outlive it


def test_the_flask_site_sets_the_cookie_for_a_query_only(tmp_path):
    site = _site()
    site.after_request(i18n._remember_choice)
    site.add_url_rule("/", "index", lambda: "<!doctype html><p>ok</p>")
    client = site.test_client()
    response = client.get("/?lang=ja")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("statelab_lang=ja;") and "SameSite=Lax" in cookie and "Max-Age=31536000" in cookie
    assert {"Accept-Language", "Cookie"} <= set(response.vary)
    assert "Set-Cookie" not in client.get("/?lang=ja").headers  # the cookie already says so
    assert "Set-Cookie" not in client.get("/?lang=xx").headers


def _copy_catalogs(to: Path) -> list[Path]:
    copied = []
    for locale in LOCALES:
        target = to / locale / "LC_MESSAGES"
        target.mkdir(parents=True)
        copied.append(Path(shutil.copy(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", target)))
    return copied


def test_catalogs_compile_when_stale_and_translate(tmp_path):
    source, dest = tmp_path / "source", tmp_path / "data" / "locale"
    pos = _copy_catalogs(source)
    mos = [dest / p.relative_to(source).with_suffix(".mo") for p in pos]
    written = i18n.compile_catalogs(dest, source)
    assert sorted(written) == sorted(mos)
    assert not list(source.rglob("*.mo"))  # the source tree is only read
    assert all(mo.stat().st_mode & 0o077 == 0 for mo in mos)  # private, as everything in the data directory
    # and so is every directory it made, the missing parents too, whatever the process's umask
    assert all(d.stat().st_mode & 0o077 == 0 for d in [tmp_path / "data", *(tmp_path / "data").rglob("*")] if d.is_dir())
    assert i18n.compile_catalogs(dest, source) == []  # up to date: nothing written
    later = mos[0].stat().st_mtime_ns + 10**9
    os.utime(pos[0], ns=(later, later))
    assert i18n.compile_catalogs(dest, source) == [mos[0]]
    assert not list(tmp_path.rglob("*.tmp"))

    site = _site(dest)
    with site.test_request_context("/?lang=ja"):
        assert i18n._("Measure") == "計測"
        label = i18n.lazy_gettext("Pages")
        assert str(label) == "ページ" and isinstance(str(label), str)
        assert i18n._("Malformed callback request: %(problem)s", problem="x").endswith("：x")
    with site.test_request_context("/?lang=zh"):
        assert i18n._("Measure") == "测量"
        assert dict(GROUPS) == {"guides": "来自指南", "beyond": "指南之外"}
        assert all(type(v) is str for v in GROUPS.values())  # a Dash prop never gets a lazy string
    with site.test_request_context("/"):
        assert i18n._("Measure") == "Measure"
        assert i18n._("Background job not started: %(reason)s", reason="50%") == "Background job not started: 50%"


def test_workers_compiling_at_once_leave_whole_catalogs(tmp_path):
    source, dest = tmp_path / "source", tmp_path / "locale"
    _copy_catalogs(source)
    with ThreadPoolExecutor(8) as pool:  # eight workers starting at once
        runs = [pool.submit(i18n.compile_catalogs, dest, source) for _ in range(8)]
    assert [run.exception() for run in runs] == [None] * 8
    assert not list(tmp_path.rglob("*.tmp"))
    site = _site(dest)
    with site.test_request_context("/?lang=zh"):
        assert i18n._("Language") == "语言"


def test_numbers_follow_the_locale_and_english_bytes_are_the_reports_own():
    for n in (0, 1, 1023.6, 1024, 1536, 2.45 * 1024, 10**6, 123_456_789, 5 * 2**30, 3 * 2**40, None):
        assert i18n.format_bytes(n) == human_bytes(n)
    site = _site()
    for query in ("", "?lang=zh", "?lang=ja"):
        with site.test_request_context("/" + query):
            assert i18n.format_decimal(1234567.5) == "1,234,567.5"
            assert i18n.format_percent(0.25) == "25%"
            assert i18n.format_bytes(1536) == "1.5 KB"
    with site.test_request_context("/?lang=ja"):
        assert i18n.locale().language == "ja"
