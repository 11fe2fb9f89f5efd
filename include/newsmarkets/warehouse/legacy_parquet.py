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

import json
import posixpath
from collections.abc import Callable

import pyarrow as pa
import pyarrow.parquet as pq

from newsmarkets.warehouse.schemas import TableSpec
from newsmarkets.warehouse.storage import Storage

COMPACTED_FILE = "compacted.parquet"
PIECES_KEY = b"newsmarkets.compacted_from"
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


def _pieces(storage: Storage, path: str, rows: int) -> list[str]:
    """The owner of each row of a compacted file, in row order."""
    raw = (pq.read_schema(path, filesystem=storage.arrow_fs).metadata or {}).get(PIECES_KEY)
    try:
        pieces = [(str(p["file"]), int(p["rows"])) for p in json.loads(raw)]
    except (TypeError, ValueError, KeyError) as exc:
        raise LegacyLayoutError(f"{storage.url(path)}: no readable {PIECES_KEY.decode()} metadata ({exc})") from None
    if sum(n for _, n in pieces) != rows:
        raise LegacyLayoutError(f"{storage.url(path)}: its pieces list {sum(n for _, n in pieces)} rows, "
                                f"the file holds {rows}")
    return [_owner(name) for name, n in pieces for _ in range(n)]


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
        owners: dict[str, list[str]] = {}
        if COMPACTED_FILE in names:
            path = posixpath.join(folder, COMPACTED_FILE)
            rows = _read(storage, path, data_schema)
            owners[path] = _pieces(storage, path, rows.num_rows)
            tables.append(_with(rows, dt, owners[path], out))
        in_compacted = {f"part-{o}.parquet" for keys in owners.values() for o in set(keys)}
        for name in sorted(names):
            # A part file that is also a piece of the compacted file is what a killed compaction
            # left behind: the piece holds its rows.
            if name == COMPACTED_FILE or name in in_compacted or not name.startswith("part-"):
                continue
            rows = _read(storage, posixpath.join(folder, name), data_schema)
            tables.append(_with(rows, dt, [_owner(name)] * rows.num_rows, out))
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
        storage.fs.mv(folder, backup, recursive=True)
        storage.fs.mv(building, folder, recursive=True)
        converted[spec.name] = table.num_rows
        progress(f"{spec.name}: {table.num_rows:,} rows -> Delta table {wh.table_url(spec.name)}")
    return converted
