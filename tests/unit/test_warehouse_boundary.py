"""Only ``warehouse/`` knows how tables are stored (issue 20, part 3).

Everything else goes through :class:`~newsmarkets.warehouse.writer.Warehouse`
(and :mod:`newsmarkets.warehouse.rawstore` for raw pages and hand-offs), so
step 2 of the warehouse track can swap the table format underneath. Read
from the source with :mod:`ast`: no module outside ``warehouse/`` (package,
DAGs, plugins, benchmarks) imports the storage layer, compaction, conforming
or retention internals, reaches into a warehouse's ``.storage`` or private
attributes, or spells a table file's name in code (docstrings may explain them).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import newsmarkets

PACKAGE = Path(newsmarkets.__file__).resolve().parent
REPO = PACKAGE.parents[1]
INTERNAL = {"newsmarkets.warehouse.storage", "newsmarkets.warehouse.conform", "newsmarkets.warehouse.retention",
            "newsmarkets.warehouse.staging", "newsmarkets.warehouse.legacy_parquet"}
# Attributes of a Warehouse that are layout, not API.
FORBIDDEN_ATTRIBUTES = {"storage", "_open", "_open_newest", "_scan", "_uris", "_owner_rows", "_write_once", "_pins"}
FILE_NAME = re.compile(r"part-.*\.parquet|compacted\.parquet|\.compacted-|\.tmp-")


def _outside_files() -> list[Path]:
    files = [p for p in PACKAGE.rglob("*.py") if "warehouse" not in p.relative_to(PACKAGE).parts]
    for folder in ("dags", "plugins", "bench"):
        files += sorted((REPO / folder).rglob("*.py"))
    return sorted(files)


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def violations(path: Path, source: str) -> list[str]:
    """What in ``source`` knows the warehouse's layout, as ``file:line: what`` strings."""
    tree = ast.parse(source, filename=str(path))
    docstrings = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        for name in names:
            if name in INTERNAL:
                found.append(f"{path.name}:{node.lineno}: imports {name}")
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRIBUTES:
            found.append(f"{path.name}:{node.lineno}: uses .{node.attr}")
        text = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            text = node.value
        elif isinstance(node, ast.JoinedStr):  # an f-string: its literal parts around the {fields}
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        if text is not None and FILE_NAME.search(text):
            found.append(f"{path.name}:{node.lineno}: spells a table file name {text!r}")
    return found


def test_nothing_outside_the_warehouse_knows_its_layout():
    files = _outside_files()
    assert any(p.parent.name == "ingest" for p in files) and any(p.parent.name == "dags" for p in files)
    found = [v for p in files for v in violations(p, p.read_text(encoding="utf-8"))]
    assert found == []


@pytest.mark.parametrize("line, what", [
    ("from newsmarkets.warehouse.storage import Storage", "imports newsmarkets.warehouse.storage"),
    ("from newsmarkets.warehouse import staging", "imports newsmarkets.warehouse.staging"),
    ("import newsmarkets.warehouse.conform", "imports newsmarkets.warehouse.conform"),
    ("def f(wh):\n    return wh.storage.fs", "uses .storage"),
    ("def f(wh):\n    return wh._scan('articles')", "uses ._scan"),
    ("NAME = f'part-{key}.parquet'", "spells a table file name"),
    ("x = 'compacted.parquet'", "spells a table file name"),
])
def test_the_check_finds_each_kind_of_leak(line, what):
    assert [v for v in violations(Path("leak.py"), line) if what in v]


def test_docstrings_and_the_public_api_pass():
    source = '"""Rows live in part-<interval>.parquet files."""\nfrom newsmarkets.warehouse.writer import Warehouse\n' \
             "from newsmarkets.warehouse import rawstore\nrows = Warehouse('/wh').read_owned('articles', None, ['x'])\n"
    assert violations(Path("ok.py"), source) == []
