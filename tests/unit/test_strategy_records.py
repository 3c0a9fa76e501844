"""Every registered strategy has every part docs/ADDING_A_STRATEGY.md names, and the site and the
benchmark read the same records.

The site's side is read from the real app (imported in a child process with its own data directory,
so this test opens no store of its own): dash.page_registry's strategy pages, and the callback graph
the renderer gets from /_dash-dependencies. The benchmark's side is `strategies.records()`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import config
import strategies
from components import guide
from strategies import ACROSS, GROUPS, Figure, Strategy, datafile
from strategies.spec import Spec, spec_from_data

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, dash, app
client = app.server.test_client()
graph = client.get("/_dash-dependencies").get_json()
ids = set()
for cb in graph:
    ids.update(d["id"] for d in cb["inputs"] + cb["state"])
    ids.update(part.rsplit(".", 1)[0] for part in cb["output"].strip(".").split("..."))
pages = [{"module": p["module"], "path": p["path"], "slug": p["strategy"]["slug"], "meta": p["strategy"],
          "record": p["record"].slug if p.get("record") else None}
         for p in dash.page_registry.values() if p.get("strategy")]
def walk(node, inside=False):  # the decision guide's rows (the card with id home-guide), in document order
    node = node.to_plotly_json() if hasattr(node, "to_plotly_json") else node
    if isinstance(node, list):
        return [slug for child in node for slug in walk(child, inside)]
    if not isinstance(node, dict) or "props" not in node:
        return []
    props = node["props"]
    inside = inside or props.get("id") == "home-guide"
    here = [props["data-slug"]] if inside and node.get("type") == "Tr" and "data-slug" in props else []
    return here + walk(props.get("children"), inside)
guide = walk(dash.page_registry["pages.home"]["layout"]())
print(json.dumps({"pages": pages, "ids": sorted(i for i in ids if isinstance(i, str)), "home": guide}))
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STATELAB_") and k != "REDIS_URL"}
    env["STATELAB_DATA_DIR"] = str(tmp_path_factory.mktemp("records-data"))
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_registry_and_the_records_are_the_same_set(site):
    registered = {p["slug"] for p in site["pages"]}
    recorded = {r.slug for r in strategies.records()}
    assert registered == recorded, f"pages without a record: {registered - recorded}; records without a page: {recorded - registered}"
    for page in site["pages"]:
        record = strategies.by_slug(page["slug"])
        assert page["record"] == record.slug, f"{page['module']} registers its metadata but not its record"
        assert page["path"] == record.page_path
        assert page["meta"] == record.meta(), f"{page['module']} registers other metadata than its record's"
        # One name for the page and its record: pages/<module>.py registers strategies/<module>.py.
        assert page["module"].split(".")[-1] == _module_of(record), page["module"]


def _module_of(record: Strategy) -> str:
    return next(m.stem for m in datafile.RECORDS.glob("*.toml") if tomllib.loads(m.read_text())["slug"] == record.slug)


def test_each_record_module_has_its_data_file_and_each_data_file_its_module():
    modules = {m.stem for m in ROOT.joinpath("strategies").glob("*.py") if not m.stem.startswith("_")}
    modules -= {"spec", "datafile", "texts"}
    assert modules == {m.stem for m in datafile.RECORDS.glob("*.toml")}
    assert {_module_of(r) for r in strategies.records()} == modules


@pytest.mark.parametrize("record", strategies.records(), ids=lambda r: r.slug)
def test_every_visitor_facing_text_is_a_whole_string_of_the_data_file(record: Strategy):
    """A translation step reads the texts from strategies/records/*.toml: none may be assembled in code."""
    data = tomllib.loads(datafile.path_of(_module_of(record)).read_text())
    for name in ("title", "summary", "lives", "payload_growth"):
        assert getattr(record, name) == data[name]
    assert list(record.pros) == data["pros"] and list(record.cons) == data["cons"]
    for row, raw in zip(record.guide, data.get("guide", []), strict=True):
        assert (row.case, row.answer) == (raw["case"], raw["answer"])
        text = row.figure.text if isinstance(row.figure, Figure) else row.figure
        assert text == raw.get("figure")


def test_a_data_file_with_an_unknown_key_fails_loudly(tmp_path, monkeypatch):
    (tmp_path / "typo.toml").write_text('slug = "typo"\ntitel = "A typo"\n')
    monkeypatch.setattr(datafile, "RECORDS", tmp_path)
    with pytest.raises(ValueError, match="unknown keys"):
        datafile.record("strategies.typo")


def test_a_spec_field_is_said_in_the_data_file_or_in_code_not_both():
    with pytest.raises(ValueError, match="in the data file and in code"):
        spec_from_data("x", {"round": [], "note": "a"}, {"note": "b"})
    with pytest.raises(ValueError, match="unknown placeholder"):
        spec_from_data("x", {"round": [{"set": "rows", "prop": "value", "to": "ROWZ"}]}, {})


@pytest.mark.parametrize("record", strategies.records(), ids=lambda r: r.slug)
def test_every_record_has_every_part_the_recipe_names(record: Strategy):
    for name in ("title", "summary", "lives", "payload_growth"):
        assert isinstance(getattr(record, name), str) and getattr(record, name).strip(), f"{record.slug}: no {name}"
    assert record.pros and record.cons and all(isinstance(t, str) and t for t in record.pros + record.cons)
    assert record.group in GROUPS
    assert isinstance(record.claims_isolation, bool)
    assert isinstance(record.store_prefix, str) and record.store_prefix and ":" not in record.store_prefix
    assert isinstance(record.order, int) and record.page_path.startswith("/")
    assert record.spec is None or isinstance(record.spec, Spec)
    for row in record.guide:
        assert row.case and row.answer and row.across in ACROSS
        figure = row.figure(guide.FIGURES) if callable(row.figure) else row.figure
        assert figure is None or (isinstance(figure, str) and figure), f"{record.slug}: guide figure {figure!r}"


def test_the_records_and_the_guide_know_the_same_across_hosts_kinds():
    assert set(ACROSS) == set(guide.ACROSS)


def test_the_orders_and_paths_are_unique():
    records = strategies.records()
    assert len({r.order for r in records}) == len(records)
    assert len({r.page_path for r in records}) == len(records)


def test_a_store_prefix_with_a_share_of_the_data_bound_names_a_real_share():
    # Stores bounded by budget.bound(settings, prefix) need the prefix in config.DEFAULT_SHARES.
    for slug in ("serverside", "session-cache", "session-files", "cache-signal", "background"):
        assert strategies.by_slug(slug).store_prefix in config.DEFAULT_SHARES


def test_each_spec_drives_controls_the_page_really_has(site):
    """Every control a spec sets and every output it reads is a component of its page's callbacks."""
    ids = set(site["ids"])
    for record in strategies.records():
        spec = record.spec
        if spec is None or record.page_path.startswith("/live/"):
            continue  # not driven by the standard benchmark, or a live page (its callbacks are the live app's)
        acts = [*spec.setup, *spec.round, *(spec.stampede or ()), *([spec.reset[1]] if spec.reset else [])]
        names = {a.name for a in acts} | {r.name for r in spec.reads}
        missing = sorted(n for n in names if spec.cid(n) not in ids)
        assert not missing, f"{record.slug}: the spec names {missing}, which no callback of the page uses"


def test_only_records_that_do_not_claim_isolation_are_exempt_from_the_leak_check():
    assert "global-variable" in {r.slug for r in strategies.records() if not r.claims_isolation}
    assert strategies.isolated("serverside") and not strategies.isolated("global-variable")
    assert strategies.isolated("a-strategy-nobody-declared")  # unknown: must keep sessions apart


def test_the_guide_rows_come_in_rank_order_with_each_rank_once():
    ranks = [row.rank for _, row in strategies.guide_rows()]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)


def test_the_home_guide_shows_every_records_rows_in_rank_order(site):
    registered = {p["slug"] for p in site["pages"]}
    expected = [r.slug for r, _ in strategies.guide_rows() if r.slug in registered]
    assert site["home"] == expected and len(expected) >= 11
