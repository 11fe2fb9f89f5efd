"""The news package imports without cycles, counting imports inside functions too.

Read from the source with :mod:`ast` (nothing is imported): every module of
``newsmarkets.news`` is a node; an ``import`` or ``from ... import`` anywhere
in it (module level, in a function, under ``if TYPE_CHECKING``) is an edge to
the module it names and to that module's packages, whose ``__init__`` runs
first. ``from package import name`` points at the submodule when ``name`` is one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import newsmarkets.news

PACKAGE = "newsmarkets.news"
ROOT = Path(newsmarkets.news.__file__).resolve().parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join([PACKAGE, *parts])] = path
    return found


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _with_packages(name: str, modules: dict[str, Path]) -> set[str]:
    """``name`` and its enclosing packages, as far as they are modules of the news package."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & modules.keys()


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(module, path, node)
                targets = [base, *(f"{base}.{a.name}" for a in node.names)]
            for target in targets:
                graph[module] |= _with_packages(target, modules)
        # a module's own packages are imported before it, not by it
        graph[module] -= _with_packages(module, modules)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_graph_sees_function_level_imports():
    graph = import_graph()
    # publish imports the originals reconciliation inside the step function only
    assert "newsmarkets.news.ingest.originals" in graph["newsmarkets.news.ingest.publish"]
    # the DAG-step package is read, and the pure libraries are nodes too
    assert {"newsmarkets.news.ingest.publish", "newsmarkets.news.dedup"} <= graph.keys()


def test_a_cycle_is_found_when_there_is_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_news_package_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


# The CLI's front-ends over the steps (``newsmarkets extract``, ``newsmarkets sources check``): they run what a
# DAG run runs, outside one, and nothing imports them but the CLI.
FRONT_ENDS = {f"{PACKAGE}.one_page", f"{PACKAGE}.source_check"}


def test_the_pure_libraries_do_not_import_the_dag_steps():
    graph = import_graph()
    steps = {m for m in graph if m.startswith(f"{PACKAGE}.ingest")}
    offenders = {m: sorted(graph[m] & steps) for m in graph
                 if m not in steps and m not in FRONT_ENDS and graph[m] & steps}
    assert not offenders, offenders
    assert not {m: sorted(graph[m] & FRONT_ENDS) for m in graph if graph[m] & FRONT_ENDS}
