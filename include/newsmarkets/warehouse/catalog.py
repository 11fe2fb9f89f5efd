"""The DuckDB catalog: one file with a view per warehouse table, for BI tools and ad-hoc SQL.

Views read the Parquet files in place (``read_parquet(<absolute glob>,
hive_partitioning = true)``, ``dt`` typed as DATE; for Delta tables the list of
the committed version's files instead of a glob), so the catalog holds no data
and stays small; refresh it after writes so views see new partitions. A table
with no files yet gets an empty view with the same columns and types, so
queries never fail on a fresh warehouse.

The file is built under a lock file next to it, in a temp file that then
replaces it with ``os.replace``: readers holding the old file keep reading it,
and two concurrent refreshes never interleave.

Object-store roots: views carry the ``s3://...`` glob. DuckDB binds a view when
it is created, so the build reads the files through the warehouse's fsspec
filesystem (``register_filesystem``); whoever *queries* the catalog later needs
DuckDB's ``httpfs`` extension (``LOAD httpfs`` plus S3 credentials), which this
module never installs or loads.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pyarrow as pa

from newsmarkets.warehouse.schemas import TABLES, TableSpec
from newsmarkets.warehouse.storage import STALE_TEMP_AGE_S
from newsmarkets.warehouse.views import VIEWS
from newsmarkets.warehouse.writer import Warehouse

# No internet: never let DuckDB try to fetch or load an extension on its own.
_DUCKDB_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


class CatalogError(RuntimeError):
    """The catalog cannot be built or opened; the message names the file or view."""


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _view_schema(spec: TableSpec) -> pa.Schema:
    """The table as a view shows it: the partition column is a DATE."""
    return pa.schema([f.with_type(pa.date32()) if f.name == spec.partition_by else f for f in spec.schema])


def _empty_view_sql(con: duckdb.DuckDBPyConnection, spec: TableSpec) -> str:
    # DuckDB names the types itself (from an empty Arrow table), so the empty
    # view's types are exactly what reading the Parquet files will give.
    relation = con.from_arrow(_view_schema(spec).empty_table())
    columns = ", ".join(f"CAST(NULL AS {t}) AS {_ident(n)}" for n, t in zip(relation.columns, relation.types))
    return f"SELECT {columns} WHERE false"


def _files_view_sql(spec: TableSpec, warehouse: Warehouse, empty_sql: str) -> str:
    # Exactly the committed version's files: a Delta table's folder also holds files an
    # older version removed (kept until vacuum, for readers of older snapshots).
    source = "[" + ", ".join(_literal(f) for f in warehouse.files(spec.name)) + "]"
    columns = ", ".join(_ident(n) for n in spec.schema.names)
    # UNION ALL BY NAME with the typed empty row set: a column the schema gained after these
    # files were written reads as NULL instead of failing the view.
    return (
        f"SELECT {columns} FROM (SELECT * FROM read_parquet({source}, hive_partitioning = true, "
        f"hive_types = {{{_literal(spec.partition_by)}: DATE}}, union_by_name = true) "
        f"UNION ALL BY NAME {empty_sql})"
    )


@contextlib.contextmanager
def _locked(lock_path: Path):
    with open(lock_path, "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _fsync(path: Path, *, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _local_catalog_path(catalog_path: str | os.PathLike) -> Path:
    text = os.fspath(catalog_path)
    if "://" in text:
        raise CatalogError(f"catalog {text!r}: the DuckDB catalog must be a local file, not a URL")
    return Path(text).expanduser().resolve()


def _sweep_stale_builds(target: Path) -> None:
    """Remove temp builds of a refresh that was killed (only old ones: others are live)."""
    cutoff = time.time() - STALE_TEMP_AGE_S
    for leftover in target.parent.glob(f".{target.name}.tmp-*"):
        with contextlib.suppress(FileNotFoundError):
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()


def refresh_catalog(
    warehouse: Warehouse,
    catalog_path: str | os.PathLike,
    tables: Iterable[TableSpec] = TABLES.values(),
) -> dict[str, int]:
    """Rebuild the catalog at ``catalog_path`` with one view per table; returns rows per table view.

    The convenience views of :mod:`newsmarkets.warehouse.views` are added on
    top (those whose tables are among ``tables``).
    """
    target = _local_catalog_path(catalog_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    specs = list(tables)
    counts: dict[str, int] = {}
    damaged: list[str] = []
    with _locked(target.with_name(target.name + ".lock")):
        _sweep_stale_builds(target)
        tmp = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex}")
        try:
            con = duckdb.connect(str(tmp), config=_DUCKDB_CONFIG)
            try:
                if not warehouse.storage.is_local:
                    con.register_filesystem(warehouse.storage.fs)
                for spec in specs:
                    has_files = bool(warehouse.files(spec.name))
                    empty = _empty_view_sql(con, spec)
                    body = _files_view_sql(spec, warehouse, empty) if has_files else empty
                    try:
                        con.execute(f"CREATE VIEW {_ident(spec.name)} AS {body}")
                        if spec.description:
                            con.execute(f"COMMENT ON VIEW {_ident(spec.name)} IS {_literal(spec.description)}")
                        counts[spec.name] = con.execute(f"SELECT count(*) FROM {_ident(spec.name)}").fetchone()[0]
                    except duckdb.Error as exc:
                        damage = _damage(warehouse, spec.name)
                        if damage is None:
                            raise CatalogError(f"catalog {target}: view {spec.name!r} cannot be built: {exc}") from None
                        # One damaged table must not block the others' refresh: leave its view out, say so below.
                        con.execute(f"DROP VIEW IF EXISTS {_ident(spec.name)}")
                        damaged.append(damage)
                names = {spec.name for spec in specs}
                for view in VIEWS:
                    if view.name in names:
                        raise CatalogError(f"convenience view {view.name!r} has the name of a table")
                    try:
                        con.execute(f"CREATE VIEW {_ident(view.name)} AS {view.sql}")
                        con.execute(f"COMMENT ON VIEW {_ident(view.name)} IS {_literal(view.description)}")
                    except duckdb.CatalogException:
                        continue  # built on a table this refresh was not given (a partial refresh)
                    except duckdb.Error as exc:
                        raise CatalogError(f"catalog {target}: view {view.name!r} cannot be built: {exc}") from None
            finally:
                con.close()
            _fsync(tmp)
            os.replace(tmp, target)
            _fsync(target.parent, directory=True)
        finally:
            for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()
    if damaged:
        raise CatalogError(f"catalog {target} refreshed without {len(damaged)} damaged table(s) (their views and "
                           "the views built on them are left out):\n" + "\n".join(damaged))
    return counts


def _damage(warehouse: Warehouse, table: str) -> str | None:
    """What ``newsmarkets table check`` says about a table whose view failed, if it finds damaged files."""
    from newsmarkets.warehouse.versions import check_table

    check = check_table(warehouse, table)
    return None if check.is_healthy else check.describe()


def describe_catalog(catalog_path: str | os.PathLike, warehouse: Warehouse | None = None) -> list[tuple[str, int | None]]:
    """``(view, row_count)`` for every view in the catalog, by name.

    ``row_count`` is ``None`` for a view this process cannot query (an
    object-store view without ``warehouse`` to read it through, or a view
    whose files were removed since the last refresh).
    """
    path = _local_catalog_path(catalog_path)
    if not path.is_file():
        raise CatalogError(f"catalog {path} does not exist; run a catalog refresh first")
    try:
        con = duckdb.connect(str(path), read_only=True, config=_DUCKDB_CONFIG)
    except duckdb.Error as exc:
        raise CatalogError(f"catalog {path} cannot be opened: {exc}") from None
    try:
        if warehouse is not None and not warehouse.storage.is_local:
            con.register_filesystem(warehouse.storage.fs)
        views = [r[0] for r in con.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal AND database_name = current_database() ORDER BY view_name"
        ).fetchall()]
        out: list[tuple[str, int | None]] = []
        for view in views:
            try:
                out.append((view, con.execute(f"SELECT count(*) FROM {_ident(view)}").fetchone()[0]))
            except duckdb.Error:
                out.append((view, None))
        return out
    finally:
        con.close()


def refresh_for_config(cfg) -> dict[str, int]:
    """Rebuild the catalog a config points at (what every DAG's last task calls)."""
    from newsmarkets.warehouse.writer import Warehouse

    return refresh_catalog(Warehouse.from_config(cfg), cfg.catalog_path)
