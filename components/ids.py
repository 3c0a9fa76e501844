"""Component ids: every page owns a namespace, its slug, so no id string is typed twice."""

from __future__ import annotations

from stores.ids import SEPARATOR, cid


class Ids:
    """ids = Ids("hidden-div"); ids("graph") -> "hidden-div__graph"."""

    def __init__(self, slug: str):
        if SEPARATOR in slug or not slug.replace("-", "").isalnum() or slug != slug.lower():
            raise ValueError(f"slug {slug!r} must be lower-case letters, digits and hyphens")
        self.slug = slug

    def __call__(self, name: str) -> str:
        return cid(self.slug, name)

    def match(self, kind: str, **keys) -> dict:
        """A pattern-matching id within this namespace."""
        return {"ns": self.slug, "type": kind, **keys}
