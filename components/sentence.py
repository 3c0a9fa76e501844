"""Translated sentences with components inside, and the spacing of sentences in each language.

A sentence is one message whatever its language's word order: the components it holds (a link, a code span,
bold words) stand in it as named fields, `%(name)s` (gettext's own) or `{name}`, and `inline` puts them where
the translation placed them. English children come out as they were written: adjacent strings as one.
"""

from __future__ import annotations

import re
import textwrap

from dash import html

import i18n
from i18n import _

_FIELD = re.compile(r"%\((\w+)\)s|\{(\w+)\}|%%")
_MARKUP = re.compile(r"(\*\*[^*]+\*\*|\*[^*]+\*)")


def joined(items) -> list:
    """`items` with adjacent strings made one, empty ones dropped."""
    out: list = []
    for item in items:
        if isinstance(item, str):
            if not item:
                continue
            if out and isinstance(out[-1], str):
                out[-1] += item
                continue
        out.append(item)
    return out


def inline(message: str, **parts) -> list:
    """`message` (translated, its fields not yet filled) as children: a str or number part is written in, a
    component (or a list of them) stands where its field is; a field with no part stays as written."""
    out: list = []
    pos = 0
    for match in _FIELD.finditer(message):
        out.append(message[pos:match.start()])
        pos = match.end()
        name = match.group(1) or match.group(2)
        if name is None:  # %%
            out.append("%")
        elif name not in parts:
            out.append(match.group(0))
        elif isinstance(parts[name], str | int | float):
            out.append(str(parts[name]))
        else:
            out.extend(parts[name] if isinstance(parts[name], list) else [parts[name]])
    out.append(message[pos:])
    return joined(out)


def rich(text: str, tail: str = "") -> list:
    """A translated sentence's **bold** parts as html.Strong and *emphasis* as html.Em, the rest as text."""
    out = []
    for part in _MARKUP.split(text):
        if part.startswith("**") and part.endswith("**") and len(part) > 4:
            out.append(html.Strong(part[2:-2]))
        elif part.startswith("*") and part.endswith("*") and len(part) > 2:
            out.append(html.Em(part[1:-1]))
        else:
            out.append(part)
    return joined([*out, tail])


def listing(items: list[str]) -> str:
    """"a, b, c" in the visitor's language (one message per pair: the separator is the translation's)."""
    text = items[0] if items else ""
    for item in items[1:]:
        text = _("%(first)s, %(second)s", first=text, second=item)
    return text


def either(items: list[str]) -> str:
    """"a or b or c" in the visitor's language (one message per pair: the word order is the translation's)."""
    text = items[0] if items else ""
    for item in items[1:]:
        text = _("%(first)s or %(second)s", first=text, second=item)
    return text


def gap() -> str:
    """What goes between two sentences: a space in English, nothing after Chinese or Japanese full stops."""
    return " " if i18n.current() == i18n.DEFAULT else ""


# A Chinese or Japanese character (or full-width punctuation): as wide as two Latin letters, and a line may
# break before or after any of them.
_WIDE_CHARS = ("\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7a3"
               "\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6")
_WIDE = re.compile(f"[{_WIDE_CHARS}]")
_TOKEN = re.compile(rf"\s+|[{_WIDE_CHARS}]|[^\s{_WIDE_CHARS}]+")
_NO_LINE_START = set("，。、：；！？）」』】〉》")  # stays at the end of the line before instead


def wrap(text: str, width: int) -> list[str]:
    """`text` in lines about `width` Latin letters wide: textwrap's for English; in Chinese and Japanese a line
    breaks between wide characters or at spaces, never inside a Latin word that fits on a line."""
    if i18n.current() == i18n.DEFAULT:
        return textwrap.wrap(text, width)
    lines, line, used = [], "", 0
    for token in _TOKEN.findall(text):
        if token.isspace():
            if line:
                line, used = line + " ", used + 1
            continue
        size = 2 * len(token) if _WIDE.fullmatch(token) else len(token)
        while size > width and not _WIDE.fullmatch(token):  # a Latin run longer than a line: cut it
            room = max(1, width - used)
            lines.append(line + token[:room])
            line, used, token = "", 0, token[room:]
            size = len(token)
        if used + size > width and line.strip() and token not in _NO_LINE_START:
            lines.append(line.rstrip())
            line, used = "", 0
        line, used = line + token, used + size
    if line.strip():
        lines.append(line.rstrip())
    return lines
