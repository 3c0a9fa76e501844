"""Which strings of a record a visitor reads, and Babel's extractor for them.

A record's texts stay English in strategies/records/<module>.toml; they are the msgids. `pybabel extract`
reads them through `extract` (babel.cfg maps records/*.toml to it), and the site translates a record's
strings when it shows them (components/strategy.localized). Values that are not text (booleans, numbers,
slugs, the spec's actions) are never extracted.
"""

from __future__ import annotations

import tomllib

# Top-level keys whose value is a text, or a list of texts; a bool-or-text key is a text only when it is one.
TEXT_KEYS = ("title", "summary", "lives", "payload_growth", "multi_worker_safe", "shared_between_users", "survives_reload")
LIST_KEYS = ("pros", "cons")
GUIDE_KEYS = ("case", "answer", "figure")
SPEC_KEYS = ("note",)


def texts(data: dict) -> list[str]:
    """Every visitor-read string of a record's data, in file order."""
    out = [data[k] for k in TEXT_KEYS if isinstance(data.get(k), str)]
    out += [item for k in LIST_KEYS for item in data.get(k, ()) if isinstance(item, str)]
    out += [row[k] for row in data.get("guide", ()) for k in GUIDE_KEYS if isinstance(row.get(k), str)]
    out += [data["spec"][k] for k in SPEC_KEYS if isinstance(data.get("spec", {}).get(k), str)]
    return out


def extract(fileobj, keywords, comment_tags, options):
    """Babel extraction method: (lineno, funcname, message, comments) for each text of a record file.
    TOML keeps no line numbers: each message is given the line its first words start on."""
    source = fileobj.read().decode("utf-8")
    lines = source.splitlines()
    for text in texts(tomllib.loads(source)):
        head = text.split("\n", 1)[0][:40]
        # A one-line text stands quoted on its line; a long one starts on the line after its opening quotes.
        lineno = next((i for i, line in enumerate(lines, 1) if f'"{head}' in line), None) or next(
            (i for i, line in enumerate(lines, 1) if head and head in line), 1)
        yield lineno, None, text, []
