"""A source text as passages, each addressable: the paragraphs of a plain text, and the one a quote is in.

A passage is a run of lines between blank lines (lines of blanks only count as blank), except that a fenced
code block (a line ``` or ```python up to the next line ```) stays one passage whatever blank lines it holds.
A fence that never closes is an ordinary line: the texts are kept as found, some with a stray ``` in them.
Passages are numbered from 1 in text order; the page of a text gives passage k the id `p-k`, so the numbers
are stable for as long as the text is (the texts under assets/sources/ are never edited).

A record names the passage a strategy demonstrates by a short verbatim quote (strategies/records/*.toml,
`passages`); `locate` says which passage holds it and refuses a quote found nowhere or more than once.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

_FENCE = re.compile(r"^\s*```[\w+-]*\s*$")


@dataclass(frozen=True)
class Passage:
    number: int  # from 1, in text order
    text: str  # its lines as found, joined by newlines
    code: bool  # a fenced code block

    @property
    def anchor(self) -> str:
        """The id of its element on the text's page, the fragment that links to it."""
        return f"p-{self.number}"


class QuoteNotFound(ValueError):
    """A record's quote is in no passage of its text, or in more than one place."""


def _closing_fence(lines: list[str], start: int) -> int | None:
    return next((i for i in range(start + 1, len(lines)) if _FENCE.match(lines[i])), None)


def split(text: str) -> tuple[Passage, ...]:
    """The passages of `text`, in order."""
    lines = text.splitlines()
    blocks: list[tuple[list[str], bool]] = []
    current: list[str] = []

    def flush():
        if current:
            blocks.append((current.copy(), False))
            current.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        end = _closing_fence(lines, i) if _FENCE.match(line) else None
        if end is not None:
            flush()
            blocks.append((lines[i:end + 1], True))
            i = end + 1
            continue
        if line.strip():
            current.append(line)
        else:
            flush()
        i += 1
    flush()
    return tuple(Passage(n, "\n".join(block), code) for n, (block, code) in enumerate(blocks, 1))


@functools.cache
def of_file(path: Path) -> tuple[Passage, ...]:
    """The passages of a UTF-8 text file (read once per process)."""
    return split(path.read_text(encoding="utf-8"))


def locate(passages: tuple[Passage, ...], quote: str, where: str = "the text") -> Passage:
    """The one passage holding `quote` (verbatim, once in the whole text); QuoteNotFound otherwise."""
    if not isinstance(quote, str) or not quote.strip():
        raise QuoteNotFound(f"{where}: a quote must be a non-empty string, got {quote!r}")
    found = [p for p in passages if quote in p.text]
    times = sum(p.text.count(quote) for p in found)
    if not found:
        raise QuoteNotFound(f"{where}: the quote {quote!r} is in no passage (copy it exactly from the text)")
    if times > 1:
        at = ", ".join(p.anchor for p in found)
        raise QuoteNotFound(f"{where}: the quote {quote!r} is found {times} times ({at}): quote more words to make it unique")
    return found[0]
