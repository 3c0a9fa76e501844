"""One record per strategy: everything the site, the benchmark and the load scenario know about it.

Each strategy's record is `STRATEGY` in strategies/<module>.py, named like its page (pages/<module>.py):
its metadata (the catalogue's columns, pros and cons), its benchmark spec, whether it claims that
sessions never see each other's values, its rows in the home page's decision guide and the prefix
it writes under in the shared store. Its texts and plain values live in strategies/records/<module>.toml;
the module adds only what must be code and builds the record with strategies.datafile.record. The page
registers it (dash.register_page(**STRATEGY.page_args())) so the site reads dash.page_registry; the
benchmark, which never imports pages or components, reads the same records from here. Record modules
import only this package and strategies.spec (docs/ADDING_A_STRATEGY.md is the recipe).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from .spec import Spec


def N_(text: str) -> str:
    """Marks a text for translation (babel.cfg's -k N_) and leaves it English: the records import none of the
    site's layers, and the site translates these words where it shows them (components/strategy.GROUPS)."""
    return text


GROUPS = {"guides": N_("From the guides"), "beyond": N_("Beyond the guides")}
# How a guide row's state fares across hosts (components/guide.py ACROSS says it in words).
ACROSS = ("browser", "redis", "one-machine", "copy")
# Modules of this package that are not records.
_NOT_RECORDS = {"spec", "datafile", "texts"}


@dataclass(frozen=True)
class Guide:
    """One row of the home page's "Which one should I use?": a case and why this strategy answers it.

    `figure` is text, or a function of components.guide (passed in as `g`) that words the measured
    figure behind the answer from the committed reference runs (a Figure, as the records build it).
    """

    rank: int  # place in the guide, lowest first: the order worth asking the questions in
    case: str
    answer: str
    figure: str | Callable | None
    across: str  # one of ACROSS


@dataclass(frozen=True)
class Figure:
    """A guide figure worded from measurements: `text`, a data file's string with {name} fields, filled with
    what `values(g)` measures, e.g. text "{p50} p50" and values lambda g: {"p50": g.ms("serverside")}.

    The text stays one whole string (not an f-string in code) so that it can be translated as it stands.
    """

    text: str
    values: Callable  # g (components.guide.FIGURES) -> {name: words}

    def __call__(self, g) -> str:
        return self.text.format(**self.values(g))


@dataclass(frozen=True)
class Strategy:
    slug: str
    title: str
    summary: str
    lives: str
    multi_worker_safe: bool
    shared_between_users: bool | str
    survives_reload: bool | str
    payload_growth: str
    pros: tuple
    cons: tuple
    order: int  # place in the navigation and the catalogue
    claims_isolation: bool  # False: sessions may read each other's values by design (the load does not count that as a leak)
    spec: Spec | None  # what the standard benchmark does on the page; None: it is not benchmarked (and says so)
    guide: tuple = ()  # Guide rows on the home page
    store_prefix: str | None = None  # its keys in the shared store are "<prefix>:..."; default: the slug
    path: str | None = None  # default "/<slug>"
    seeds: tuple = ()
    # Per seed, the passage of that source text the page demonstrates: a short quote copied verbatim from it,
    # found in exactly one passage (components/passages.py; the site checks every quote when it starts).
    passages: dict = field(default_factory=dict)
    group: str = "guides"
    extra: dict = field(default_factory=dict)  # anything else a page wants in its registry entry

    def __post_init__(self):
        if self.group not in GROUPS:
            raise ValueError(f"group must be one of {list(GROUPS)}, got {self.group!r}")
        if not self.pros or not self.cons:
            raise ValueError(f"strategy {self.slug!r} needs at least one pro and one con")
        if self.spec is not None and self.spec.slug != self.slug:
            raise ValueError(f"strategy {self.slug!r} carries the spec of {self.spec.slug!r}")
        for row in self.guide:
            if row.across not in ACROSS:
                raise ValueError(f"strategy {self.slug!r}: guide row across={row.across!r}, not one of {ACROSS}")
        for name in ("pros", "cons", "guide", "seeds"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if set(self.passages) != set(self.seeds):
            raise ValueError(f"strategy {self.slug!r}: passages for {sorted(self.passages)}, seeds {sorted(self.seeds)}: "
                             "give one quote per seed and none for any other text")
        if not all(isinstance(q, str) and q.strip() for q in self.passages.values()):
            raise ValueError(f"strategy {self.slug!r}: every passage quote must be a non-empty string")
        object.__setattr__(self, "passages", {n: self.passages[n] for n in self.seeds})
        if self.store_prefix is None:
            object.__setattr__(self, "store_prefix", self.slug)

    @property
    def page_path(self) -> str:
        return self.path or f"/{self.slug}"

    def meta(self) -> dict:
        """The metadata dict the pages, the home catalogue and the navigation read (dash.page_registry[...]["strategy"])."""
        return {
            "slug": self.slug,
            "path": self.page_path,
            "title": self.title,
            "summary": self.summary,
            "lives": self.lives,
            "multi_worker_safe": self.multi_worker_safe,
            "shared_between_users": self.shared_between_users,
            "survives_reload": self.survives_reload,
            "payload_growth": self.payload_growth,
            "pros": list(self.pros),
            "cons": list(self.cons),
            "seeds": list(self.seeds),
            "passages": dict(self.passages),
            "group": self.group,
            "claims_isolation": self.claims_isolation,
            "store_prefix": self.store_prefix,
        }

    def page_args(self) -> dict:
        """Keyword arguments of dash.register_page: path, names, order, the metadata and the record itself.

        Pages call dash.register_page themselves: Dash imports a page module only if its source
        contains the text "register_page".
        """
        return {
            "path": self.page_path,
            "name": self.title,
            "title": f"{self.title} · Dash State Lab",
            "order": self.order,
            "strategy": self.meta(),
            "record": self,
            **self.extra,
        }


@cache
def _load() -> tuple[Strategy, ...]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name in _NOT_RECORDS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        record = getattr(module, "STRATEGY", None)
        if not isinstance(record, Strategy):
            raise TypeError(f"strategies/{info.name}.py has no STRATEGY = Strategy(...)")
        found.append(record)
    slugs = [r.slug for r in found]
    twice = sorted({s for s in slugs if slugs.count(s) > 1})
    if twice:
        raise ValueError(f"two records claim the slug(s) {twice}")
    return tuple(sorted(found, key=lambda r: (r.order, r.page_path)))


def records() -> tuple[Strategy, ...]:
    """Every strategy's record, in page order."""
    return _load()


def by_slug(slug: str) -> Strategy | None:
    return next((r for r in _load() if r.slug == slug), None)


def isolated(slug: str) -> bool:
    """Whether the strategy claims that no session reads another's value (unknown slugs: they must)."""
    record = by_slug(slug)
    return True if record is None else record.claims_isolation


def specs() -> dict[str, Spec]:
    """slug -> the declared benchmark spec, for every strategy that has one, in page order."""
    return {r.slug: r.spec for r in _load() if r.spec is not None}


def guide_rows() -> list[tuple[Strategy, Guide]]:
    """Every strategy's guide rows, in guide order."""
    return sorted(((r, g) for r in _load() for g in r.guide), key=lambda pair: pair[1].rank)
