"""Reading the retired Parquet-file layout, to convert it into Delta tables (``newsmarkets warehouse convert``).

Warehouses written before the move to Delta Lake hold each table as plain
files, one per partition and run interval, and compacted partitions as one
file listing which interval owns which rows::

    <table>/dt=D/part-<interval>[-<tag>].parquet
    <table>/dt=D/compacted.parquet   # metadata newsmarkets.compacted_from: [{"file", "rows", ...}, ...]

This module only reads that layout (nothing writes it any more): every row
with its partition and the interval that owns it, which is what a Delta
table's ``interval_key`` column holds, so later reruns replace exactly what
they replaced before.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from collections.abc import Callable

import pyarrow as pa
import pyarrow.parquet as pq

from newsmarkets.warehouse.schemas import TableSpec
from newsmarkets.warehouse.storage import Storage

COMPACTED_FILE = "compacted.parquet"
PIECES_KEY = b"newsmarkets.compacted_from"
WRITE_ID_KEY = b"newsmarkets.write_id"
BACKUP_DIR = "_parquet_backup"


class LegacyLayoutError(ValueError):
    """An old-layout file cannot be converted as it is; the message names the file and why."""


def data_files(storage: Storage, spec: TableSpec) -> list[str]:
    """The table's old-layout Parquet files (empty when the folder holds none)."""
    return storage.glob(storage.path(spec.name, f"{spec.partition_by}=*", "*.parquet"))


def _owner(file_name: str) -> str:
    return file_name[len("part-"):-len(".parquet")]


def _read(storage: Storage, path: str, schema: pa.Schema) -> pa.Table:
    """``schema``'s columns of one file; a nullable column the schema gained since reads as nulls."""
    have = pq.read_schema(path, filesystem=storage.arrow_fs)
    missing = [f for f in schema if f.name not in have.names]
    required = [f.name for f in missing if not f.nullable]
    if required:
        raise LegacyLayoutError(f"{storage.url(path)}: column(s) {', '.join(required)} missing from the file")
    table = pq.read_table(path, columns=[n for n in schema.names if n in have.names], filesystem=storage.arrow_fs)
    for f in missing:
        table = table.append_column(f, pa.nulls(table.num_rows, f.type))
    return table.select(schema.names).cast(schema)


def _pieces(storage: Storage, path: str, rows: int) -> list[tuple[str, int, set[str]]]:
    """A compacted file's pieces in row order: (file name, rows, write ids whose rows it holds)."""
    raw = (pq.read_schema(path, filesystem=storage.arrow_fs).metadata or {}).get(PIECES_KEY)
    try:
        pieces = [(str(p["file"]), int(p["rows"]), {str(p["write_id"]), *map(str, p.get("supersedes", ()))})
                  for p in json.loads(raw)]
    except (TypeError, ValueError, KeyError) as exc:
        raise LegacyLayoutError(f"{storage.url(path)}: no readable {PIECES_KEY.decode()} metadata ({exc})") from None
    if sum(n for _, n, _ in pieces) != rows:
        raise LegacyLayoutError(f"{storage.url(path)}: its pieces list {sum(n for _, n, _ in pieces)} rows, "
                                f"the file holds {rows}")
    return pieces


def _write_id(storage: Storage, path: str) -> str:
    """The write id a file carries, or (files from before write ids) a hash of its bytes, as the old writer did."""
    metadata = pq.read_schema(path, filesystem=storage.arrow_fs).metadata or {}
    if WRITE_ID_KEY in metadata:
        return metadata[WRITE_ID_KEY].decode()
    with storage.fs.open(path, "rb") as handle:
        return "sha256:" + hashlib.sha256(handle.read()).hexdigest()


def read_owned(storage: Storage, spec: TableSpec, owner_column: str) -> pa.Table:
    """Every row of an old-layout table with ``dt`` and the owning interval (``owner_column``)."""
    data_schema = pa.schema([f for f in spec.schema if f.name != spec.partition_by])
    out = pa.schema([*data_schema, pa.field(spec.partition_by, pa.string()), pa.field(owner_column, pa.string())])
    tables = [out.empty_table()]
    by_folder: dict[str, list[str]] = {}
    for path in data_files(storage, spec):
        by_folder.setdefault(posixpath.dirname(path), []).append(posixpath.basename(path))
    for folder, names in sorted(by_folder.items()):
        dt = posixpath.basename(folder).split("=", 1)[1]
        stray = [n for n in names if n != COMPACTED_FILE and not n.startswith("part-")]
        if stray:
            raise LegacyLayoutError(f"{storage.url(posixpath.join(folder, stray[0]))}: not a file of the retired "
                                    "layout (part-<interval>.parquet or compacted.parquet); move it out of the "
                                    "table's folder and convert again")
        pieces: dict[str, tuple[int, int, set[str]]] = {}  # file name -> (first row, rows, write ids)
        compacted = None
        if COMPACTED_FILE in names:
            compacted = _read(storage, posixpath.join(folder, COMPACTED_FILE), data_schema)
            start = 0
            for name, n, ids in _pieces(storage, posixpath.join(folder, COMPACTED_FILE), compacted.num_rows):
                pieces[name], start = (start, n, ids), start + n
        replaced: set[str] = set()
        for name in sorted(n for n in names if n.startswith("part-")):
            path = posixpath.join(folder, name)
            if name in pieces:
                if _write_id(storage, path) in pieces[name][2]:
                    continue  # a source file a killed compaction left behind: the piece holds its rows
                replaced.add(name)  # written after the compaction (object stores had no lock): it wins
            rows = _read(storage, path, data_schema)
            tables.append(_with(rows, dt, [_owner(name)] * rows.num_rows, out))
        for name, (start, n, _) in pieces.items():
            if name not in replaced:
                tables.append(_with(compacted.slice(start, n), dt, [_owner(name)] * n, out))
    return pa.concat_tables(tables)


def _with(rows: pa.Table, dt: str, owners: list[str], out: pa.Schema) -> pa.Table:
    return rows.append_column(out.field(len(rows.schema)), pa.array([dt] * rows.num_rows, pa.string())) \
               .append_column(out.field(len(rows.schema) + 1), pa.array(owners, pa.string()))


def convert(wh, progress: Callable[[str], None] = lambda text: None) -> dict[str, int]:
    """Turn every old-layout table under ``wh``'s root into a Delta table holding the same rows and owners.

    The old files move to ``_parquet_backup/<table>/`` (delete it once the
    Delta tables are checked); tables already in Delta are left alone.
    Returns rows per converted table.
    """
    from deltalake import write_deltalake

    from newsmarkets.warehouse.conform import conform
    from newsmarkets.warehouse.delta import OWNER_COLUMN, table_properties
    from newsmarkets.warehouse.schemas import TABLES, table_spec

    storage = wh.storage
    converted: dict[str, int] = {}
    for name in sorted(TABLES):
        spec = table_spec(name)
        folder = storage.path(spec.name)
        if storage.fs.exists(storage.path(spec.name, "_delta_log")) or not data_files(storage, spec):
            continue
        rows = read_owned(storage, spec, OWNER_COLUMN)
        # Not strict: these rows were validated when published (a key may sit in two partitions).
        table = conform(spec, rows.drop_columns([OWNER_COLUMN]), strict=False).cast(spec.schema).append_column(
            pa.field(OWNER_COLUMN, pa.string(), nullable=False), rows.column(OWNER_COLUMN))
        building = storage.path(BACKUP_DIR, f".{spec.name}.delta-building")
        storage.remove_tree(building)
        write_deltalake(storage.url(building), table, partition_by=[spec.partition_by], mode="error",
                        name=spec.name, description=spec.description or None,
                        configuration=table_properties(spec), storage_options=wh.delta_storage_options or None)
        backup = storage.path(BACKUP_DIR, spec.name)
        storage.remove_tree(backup)
        _move_tree(storage, folder, backup)
        _move_tree(storage, building, folder)
        converted[spec.name] = table.num_rows
        progress(f"{spec.name}: {table.num_rows:,} rows -> Delta table {wh.table_url(spec.name)}")
    return converted


def _move_tree(storage: Storage, source: str, target: str) -> None:
    """Move a folder: one rename on local disk; file by file on object stores, which have no folders
    (a recursive ``fs.mv`` there trips over the folder-like prefixes)."""
    if storage.is_local:
        os.makedirs(posixpath.dirname(target), exist_ok=True)
        os.rename(source, target)
        return
    for path in sorted(storage.find(source)):
        storage.fs.mv(path, target + path[len(source):])
