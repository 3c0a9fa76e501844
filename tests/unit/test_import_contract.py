"""The import contract: layers that point one way.

Walks every project module's imports with ast (module level and inside functions alike: an import
inside a function is still a dependency) and fails on
- any cycle among the project's modules;
- bench/, reports/ or runtime/ importing pages or components (the harness, the report format and the
  job runtime sit below the site's layout code; the peer sites in peer_site/ are sites and may);
- reports/ importing bench (pages and components read reports without loading the runner, the
  headless client or the specs);
- strategies/ (the records) importing the site's layers or the harness.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP = {"tests", "docs", "assets", "data", "scripts", ".cache", ".git", ".venv", "node_modules", "out"}
FORBIDDEN = {
    "bench": ("pages", "components"),
    "reports": ("pages", "components", "bench", "runtime"),
    "runtime": ("pages", "components"),
    # The strategy records are data the site and the benchmark both read: they import neither.
    "strategies": ("pages", "components", "bench", "runtime", "reports"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in SKIP or any(p.startswith(".") for p in rel.parts):
            continue
        out[_module_name(path)] = path
    return out


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The project module `name` refers to (itself, or the nearest enclosing package); None: not ours."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".") if package else []
                anchor = anchor[: len(anchor) - (node.level - 1)] if node.level > 1 else anchor
                base = ".".join([*anchor, base] if base else anchor)
            # "from pkg import name": name may be a submodule (from bench import metrics) or an attribute
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        for name in names:
            target = _resolve(name, modules)
            if target is not None and target != module:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {m: imports_of(m, p, modules) for m, p in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                out.append(sorted(part))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_walker_sees_the_imports_it_must():
    edges = graph()
    assert "bench.cli" in edges and "reports" in edges and "runtime.bench_job" in edges
    assert "bench.runner" in edges["bench.cli"]  # from .runner import ...
    assert "bench.metrics" in edges["bench.runner"]  # from . import metrics
    assert "reports" in edges["bench.runner"]  # import reports
    assert "components.operator" in edges["pages.benchmark"]
    assert "strategies.global_variable" in edges["pages.global_variable"]  # from strategies.x import STRATEGY


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_among_the_projects_modules():
    found = cycles(graph())
    assert not found, f"import cycles: {found}"


def test_the_lower_layers_import_no_page_and_no_component():
    wrong = []
    for module, targets in graph().items():
        top = module.split(".")[0]
        for target in targets:
            if target.split(".")[0] in FORBIDDEN.get(top, ()):
                wrong.append(f"{module} imports {target}")
    assert not wrong, "\n".join(sorted(wrong))


def _reach(edges: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_showing_a_report_loads_no_harness():
    """The home catalogue and the reports read a run without the runner, the headless client or the specs."""
    edges = graph()
    for start in ("reports", "components.measured", "runtime.bench_runs"):
        harness = sorted(m for m in _reach(edges, start) if m == "bench" or m.startswith("bench."))
        assert not harness, f"{start} loads {harness}"
