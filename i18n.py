"""The site's languages: which one a visitor reads, its translated messages, its number formats.

A visitor's language is, in order: `?lang=en|zh|ja` on the URL (which also sets the `statelab_lang`
cookie, so a link carries it), that cookie, the browser's `Accept-Language`, else English. Anything else
a browser sends is ignored, never an error. The Flask site asks through Flask-Babel (`install`); the live
app (Dash on FastAPI, no Flask request) through `LanguageMiddleware`, which reads the same three.

Code marks its texts with `_`, `ngettext`, (module level) `lazy_gettext` and `N_` (marked, left English); a lazy string must be made a
str (`str(...)`) before it reaches a Dash prop, which is JSON. The catalogs are translations/<locale>/
LC_MESSAGES/messages.po; their .mo files are build outputs, compiled by `compile_catalogs` at start-up
into the data directory (<data dir>/locale/), the one place the site writes. Outside a request (a job, a report),
`speaking(code)` says which language; `load_catalogs` compiles them there and reads them without Flask-Babel, as
`python -m bench --lang` does to write report.html.
"""

from __future__ import annotations

import contextlib
import contextvars
import decimal
import functools
import logging
import os
import tempfile
from pathlib import Path
from urllib.parse import parse_qs

import flask
import flask_babel
from babel import Locale, numbers, support
from babel.messages import mofile, pofile
from flask_babel.speaklater import LazyString
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import dump_cookie, parse_accept_header

log = logging.getLogger("statelab.i18n")

# The site's language codes (as ?lang= and the cookie spell them) and their names, in their own language.
LANGUAGES = {"en": "English", "zh": "简体中文", "ja": "日本語"}
DEFAULT = "en"
# Each code's catalog locale (translations/<locale>/) and its BCP 47 tag (<html lang>, hreflang).
CATALOGS = {"en": "en", "zh": "zh_Hans", "ja": "ja"}
TAGS = {"en": "en", "zh": "zh-Hans", "ja": "ja"}
QUERY = "lang"
COOKIE = "statelab_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
TRANSLATIONS = Path(__file__).resolve().with_name("translations")
DOMAIN = "messages"

# The live app's current request's language (LanguageMiddleware sets it; outside a request: English).
_ASGI_LANGUAGE: contextvars.ContextVar[str] = contextvars.ContextVar("statelab_language", default=DEFAULT)


def _code(value) -> str | None:
    """A language code if `value` names one (any case, surrounding blanks ignored), else None."""
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    return value if value in LANGUAGES else None


def choose(query=None, cookie=None, accept_language=None) -> str:
    """The language code for what a request carries: ?lang=, then the cookie, then Accept-Language, else en."""
    chosen = _code(query) or _code(cookie)
    if chosen:
        return chosen
    if isinstance(accept_language, str):
        # In the browser's order of preference (werkzeug sorts by quality, stably); a language matches by its
        # primary subtag (en-US -> en, zh-CN and zh-Hant -> zh, ja-JP -> ja); "*" and the rest are skipped.
        for value, quality in parse_accept_header(accept_language[:1000], LanguageAccept):
            primary = value.split("-")[0].split("_")[0].strip().lower()
            if quality > 0 and primary in LANGUAGES:
                return primary
    return DEFAULT


def current() -> str:
    """The visitor's language code: the Flask request's, else the live app's request's, else English."""
    if flask.has_request_context():
        req = flask.request
        return choose(req.args.get(QUERY), req.cookies.get(COOKIE), req.headers.get("Accept-Language"))
    return _ASGI_LANGUAGE.get()


@contextlib.contextmanager
def speaking(code: str | None):
    """gettext in language `code` (junk: English) where no request says which: a background job, a report.
    Inside a Flask application context Flask-Babel's choice still wins."""
    token = _ASGI_LANGUAGE.set(_code(code) or DEFAULT)
    try:
        yield
    finally:
        _ASGI_LANGUAGE.reset(token)


def tag() -> str:
    """The visitor's language as a BCP 47 tag, for <html lang>: en, zh-Hans or ja."""
    return TAGS[current()]


def select_locale() -> str:
    """Flask-Babel's locale selector: the catalog locale of the visitor's language."""
    return CATALOGS[current()]


# Where compile_catalogs put the .mo files (install sets it: inside the data directory, the one place the site
# writes); the live app's catalogs are read from there (the Flask site's by Flask-Babel, from the same place).
_COMPILED: list[Path] = []


@functools.cache
def _catalog(code: str) -> support.NullTranslations:
    # English is the msgids; a catalog not compiled (yet) reads as English too.
    if code == DEFAULT or not _COMPILED:
        return support.NullTranslations()
    return support.Translations.load(str(_COMPILED[0]), [CATALOGS[code]], DOMAIN)


def _translations() -> support.NullTranslations:
    # Flask-Babel's in a site that installed it; a Flask app without it (the peer sites the benchmark
    # measures import some of the site's views) reads as the ASGI side does.
    if flask.has_app_context() and "babel" in flask.current_app.extensions:
        return flask_babel.get_translations()
    return _catalog(_ASGI_LANGUAGE.get())


def gettext(string: str, **variables) -> str:
    """`string` in the visitor's language; %(name)s placeholders filled from `variables`."""
    text = _translations().ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num, **variables) -> str:
    """The singular or plural form for `num` (available as %(num)d) in the visitor's language."""
    variables.setdefault("num", num)
    return _translations().ungettext(singular, plural, num) % variables


def ungettext(singular: str, plural: str, num) -> str:
    """The singular or plural form for `num`, its placeholders unfilled: for Jinja2's newstyle gettext, which fills
    them itself (reports/templating.py)."""
    return _translations().ungettext(singular, plural, num)


def lazy_gettext(string: str, **variables) -> LazyString:
    """`gettext` when the text is used, for module-level texts; str() it before it reaches a Dash prop."""
    return LazyString(gettext, string, **variables)


_ = gettext


def N_(text: str) -> str:
    """Marks a text for translation (babel.cfg's -k N_) where it must stay English, e.g. a page's registry name;
    the code that shows it translates it then with gettext."""
    return text


@functools.cache
def _locale(code: str) -> Locale:
    return Locale.parse(CATALOGS[code])


def locale() -> Locale:
    """The visitor's Babel locale."""
    return _locale(current())


def format_decimal(number, format: str | None = None) -> str:
    """A number in the visitor's locale (Babel's format_decimal)."""
    return numbers.format_decimal(number, format=format, locale=locale())


def format_percent(number, format: str | None = None) -> str:
    """A fraction as a percentage in the visitor's locale (0.25 -> 25%)."""
    return numbers.format_percent(number, format=format, locale=locale())


def format_bytes(n) -> str:
    """Bytes for people in the visitor's locale, as reports.fmt.human_bytes writes them in English: whole
    bytes below 1 KB, then KB, MB, GB with one decimal (powers of 1024). Rounded by Python first, so
    English is byte-for-byte human_bytes; Babel only writes the digits in the locale's symbols."""
    if n is None:
        return "–"
    n = float(n)
    units = iter(("B", "KB", "MB", "GB"))
    unit = next(units)
    while n >= 1024 and unit != "GB":
        n /= 1024
        unit = next(units)
    if unit == "B":
        return f"{format_decimal(decimal.Decimal(f'{n:.0f}'), '#,##0')} {unit}"
    return f"{format_decimal(decimal.Decimal(f'{n:.1f}'), '#,##0.0')} {unit}"


def _private_dirs(path: Path) -> None:
    """`path` and any missing parent, each created 0700 (mkdir(parents=True) gives parents the umask's mode)."""
    for directory in [*reversed(path.parents), path]:
        if not directory.exists():
            directory.mkdir(mode=0o700, exist_ok=True)


def compile_catalogs(dest: Path, root: Path = TRANSLATIONS) -> list[Path]:
    """Compile each <root>/<locale>/LC_MESSAGES/<domain>.po to <dest>/<locale>/LC_MESSAGES/<domain>.mo when
    that .mo is missing or older; returns the .mo files written. The source tree is only read.

    Safe when several workers start at once: each writes a private temporary file beside the .mo and renames
    it over the .mo (os.replace), so a reader sees the old catalog or the new one, never half of one."""
    written = []
    for po in sorted(root.glob("*/LC_MESSAGES/*.po")):
        mo = dest / po.relative_to(root).with_suffix(".mo")
        try:
            if mo.exists() and mo.stat().st_mtime_ns >= po.stat().st_mtime_ns:
                continue
            with po.open("rb") as source:
                catalog = pofile.read_po(source, locale=po.parent.parent.name)
            _private_dirs(mo.parent)
            fd, tmp = tempfile.mkstemp(dir=mo.parent, prefix=f".{mo.name}.", suffix=".tmp")  # 0600
            try:
                with os.fdopen(fd, "wb") as out:
                    mofile.write_mo(out, catalog, use_fuzzy=False)
                os.replace(tmp, mo)
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError as exc:  # e.g. a full disk: the site still runs, in English where no catalog is
            log.warning("cannot compile %s: %s", po, exc)
            continue
        written.append(mo)
    if written:
        _catalog.cache_clear()
    return written


def _remember_choice(response: flask.Response) -> flask.Response:
    # ?lang= sets the cookie (when it changes something); pages that depend on the language say so to caches.
    chosen = _code(flask.request.args.get(QUERY))
    if chosen and chosen != flask.request.cookies.get(COOKIE):
        response.set_cookie(COOKIE, chosen, max_age=COOKIE_MAX_AGE, samesite="Lax", secure=flask.request.is_secure)
    if response.mimetype == "text/html" or flask.request.path.endswith("_dash-layout"):
        response.vary.update(("Accept-Language", "Cookie"))
    return response


def load_catalogs(compiled: Path) -> list[Path]:
    """Catalogs compiled into `compiled` (in the data directory) and read from there wherever Flask-Babel does not
    choose: the live app, and `python -m bench --lang` writing its HTML report in `speaking(code)`. Returns the
    .mo files written (none when they were up to date)."""
    written = compile_catalogs(compiled)
    _COMPILED[:] = [compiled]
    _catalog.cache_clear()
    return written


def install(server: flask.Flask, compiled: Path) -> flask_babel.Babel:
    """The Flask site's languages: catalogs compiled into `compiled` (in the data directory), Flask-Babel
    reading them with this module's locale selector, and the cookie that ?lang= sets."""
    load_catalogs(compiled)
    server.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(compiled))
    babel = flask_babel.Babel(server, locale_selector=select_locale)
    server.after_request(_remember_choice)
    return babel


class LanguageMiddleware:
    """ASGI middleware for the live app: each request's (and WebSocket's) language from its query, cookie
    and Accept-Language, as `current()` then answers; ?lang= on an HTTP request sets the cookie."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope.get("type") not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {}
        for name, value in scope.get("headers") or ():
            headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
        query = parse_qs((scope.get("query_string") or b"").decode("latin-1")[:2000]).get(QUERY, [None])[0]
        cookie = _cookie(headers.get("cookie", ""))
        token = _ASGI_LANGUAGE.set(choose(query, cookie, headers.get("accept-language")))
        chosen = _code(query)
        try:
            if scope["type"] != "http" or not chosen or chosen == cookie:
                return await self.app(scope, receive, send)
            secure = scope.get("scheme") == "https"

            async def send_with_cookie(message):
                if message.get("type") == "http.response.start":
                    set_cookie = dump_cookie(COOKIE, chosen, max_age=COOKIE_MAX_AGE, samesite="Lax", secure=secure)
                    message = {**message, "headers": [*message.get("headers", ()), (b"set-cookie", set_cookie.encode())]}
                await send(message)

            return await self.app(scope, receive, send_with_cookie)
        finally:
            _ASGI_LANGUAGE.reset(token)


def _cookie(header: str) -> str | None:
    # Only our cookie, whose values are plain codes: a malformed neighbour must not hide it or raise.
    for part in header[:8192].split(";"):
        name, _sep, value = part.partition("=")
        if name.strip() == COOKIE:
            return value.strip().strip('"')
    return None
