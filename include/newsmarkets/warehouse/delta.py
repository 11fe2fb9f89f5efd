"""Delta Lake tables behind the :class:`~newsmarkets.warehouse.writer.Warehouse` API (``warehouse_format: delta``).

Step 1 of the move to Delta Lake (issue 22): the same public surface and the
same contract as the Parquet layout, with the transaction log doing what the
hand-written layer cannot do on object storage — every publish is one commit,
and two writers racing on one table either both land or one retries against
the other's result. Staging, quarantine and raw pages stay plain files.

Layout: one Delta table per warehouse table at ``<root>/<table>`` (delta-rs,
``deltalake``), partitioned by ``dt``, with one extra column ``interval_key``:
the run interval (plus file tag) whose slice holds the row — what the Parquet
layout encodes in file names. Readers outside Python see it as an ordinary
column; the DuckDB catalog's views leave it out.

:meth:`DeltaWarehouse.write` is a single ``MERGE`` on ``(dt, key)``: the
interval's own rows are updated, new keys inserted, keys another interval
holds left alone (first writer wins, counted in ``duplicates_dropped``), and
the interval's earlier rows the batch no longer has deleted (they ride in the
merge source flagged ``_delete``, so the merge reads only the partitions it
touches instead of the whole table). delta-rs checks the commit against
commits that landed since the read: a concurrent writer adding files to a
partition the merge read makes it fail with ``CommitFailedError``; it is
retried with backoff from a fresh snapshot, so colliding keys end as in a
sequential run.

Two traps measured with deltalake 1.6.6 (see the issue): reading through
``to_pyarrow_table()``/``to_pandas()`` can abort the interpreter at exit, so
reads go through :meth:`DeltaTable.file_uris` and pyarrow; and a process that
touched a table must not fork without exec (use ``spawn``).
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
import uuid
from collections.abc import Iterable
from datetime import date, datetime, timezone
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from newsmarkets.intervals import Interval
from newsmarkets.warehouse.conform import SchemaError, conform, drop_existing_keys, sort_by_key, to_pandas
from newsmarkets.warehouse.schemas import TABLES, TableSpec, table_spec
from newsmarkets.warehouse.storage import safe_name
from newsmarkets.warehouse.writer import Refreshed, Warehouse, WriteResult, with_kept_rows

__all__ = ["DeltaWarehouse", "CommitConflictError", "PlanConflictError", "OWNER_COLUMN"]

log = logging.getLogger(__name__)

OWNER_COLUMN = "interval_key"
_DELETE = "_delete"  # merge-source flag: the interval's earlier row to remove
_FLAGS = "_flags_only"  # merge-source flag: another interval's row whose planned columns change
COMMIT_ATTEMPTS = 12
BACKOFF_FIRST_S = 0.05
BACKOFF_MAX_S = 2.0
# Opening a table reads the last checkpoint and the commits after it (one object each on S3).
CHECKPOINT_INTERVAL = "20"
# Files a commit removed stay this long before vacuum deletes them, so a
# reader holding an older snapshot (a BI connection on an older catalog) keeps answering.
VACUUM_RETENTION_HOURS = 7 * 24


class CommitConflictError(RuntimeError):
    """A commit kept conflicting with concurrent writers; the task fails and Airflow retries it."""


class PlanConflictError(RuntimeError):
    """A planned write's version changed under it: plan again from a fresh :meth:`DeltaWarehouse.pinned` view."""


def _delta_storage_options(options: dict) -> dict[str, str]:
    """delta-rs (object_store) options from the warehouse's fsspec/s3fs options."""
    out: dict[str, str] = {}
    if options.get("key"):
        out["AWS_ACCESS_KEY_ID"] = options["key"]
    if options.get("secret"):
        out["AWS_SECRET_ACCESS_KEY"] = options["secret"]
    if options.get("token"):
        out["AWS_SESSION_TOKEN"] = options["token"]
    endpoint = options.get("endpoint_url") or (options.get("client_kwargs") or {}).get("endpoint_url")
    if endpoint:
        out["AWS_ENDPOINT_URL"] = endpoint
        if endpoint.startswith("http://"):
            out["AWS_ALLOW_HTTP"] = "true"
    out["AWS_REGION"] = (options.get("client_kwargs") or {}).get("region_name") or "us-east-1"
    # Safe concurrent commits on S3 and S3-compatible stores (MinIO) without a lock service.
    out["conditional_put"] = "etag"
    return out


def delta_schema(spec: TableSpec) -> pa.Schema:
    """The Delta table's columns: the table's schema plus the owning interval."""
    return spec.schema.append(pa.field(OWNER_COLUMN, pa.string(), nullable=False))


def owner_key(interval: Interval, file_tag: str | None = None) -> str:
    """What ``interval_key`` holds for an interval's rows (the Parquet layout's file-name stem)."""
    return f"{interval.key}-{safe_name(file_tag)}" if file_tag else interval.key


# What Airflow exports into a running task's environment; recorded in each commit so
# `newsmarkets table history` names the DAG run that wrote a version.
_AIRFLOW_CONTEXT = {"newsmarkets.dag_id": "AIRFLOW_CTX_DAG_ID", "newsmarkets.run_id": "AIRFLOW_CTX_DAG_RUN_ID",
                    "newsmarkets.task_id": "AIRFLOW_CTX_TASK_ID"}


def commit_metadata(**extra: str) -> dict[str, str]:
    """Custom commit metadata: ``extra`` (prefixed ``newsmarkets.``) plus the Airflow task writing, if any."""
    out = {f"newsmarkets.{k}": v for k, v in extra.items() if v is not None}
    out.update({k: os.environ[v] for k, v in _AIRFLOW_CONTEXT.items() if os.environ.get(v)})
    return out


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class DeltaWarehouse(Warehouse):
    """Delta Lake tables under one root (local path or ``s3://`` URL); see the module docstring."""

    format = "delta"

    def __init__(self, root: str, storage_options: dict | None = None, **kwargs: Any) -> None:
        super().__init__(root, storage_options, **kwargs)
        self._fsspec_options = storage_options
        self._delta_options = {} if self.storage.is_local else _delta_storage_options(storage_options or {})

    def __repr__(self) -> str:
        return f"DeltaWarehouse({self.root!r})"

    @property
    def delta_storage_options(self) -> dict[str, str]:
        """What ``deltalake.DeltaTable`` needs to open this warehouse's tables (empty on local disk)."""
        return dict(self._delta_options)

    @classmethod
    def for_config(cls, cfg) -> "DeltaWarehouse":
        """The config's warehouse as Delta tables, whatever its ``warehouse_format`` (for converting)."""
        from newsmarkets.warehouse.storage import storage_options

        return cls(cfg.warehouse, storage_options(cfg.warehouse, cfg.warehouse_conn_id))

    # -- tables ------------------------------------------------------------------

    def _open_newest(self, spec: TableSpec):
        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError

        try:
            table = DeltaTable(self.table_url(spec.name), storage_options=self._delta_options or None)
        except TableNotFoundError:
            self._refuse_parquet_layout(spec)
            return None
        self._check_schema(spec, table)
        return table

    def _refuse_parquet_layout(self, spec: TableSpec) -> None:
        """A folder of Parquet-layout files is not an empty Delta table: creating one there would hide them."""
        if self.storage.glob(self.storage.path(spec.name, f"{spec.partition_by}=*", "*.parquet")):
            raise SchemaError(
                f"table {spec.name!r} at {self.table_url(spec.name)} holds Parquet files written with "
                f"warehouse_format: parquet and no Delta log; convert the warehouse with "
                f"`newsmarkets warehouse convert --config <this config>` or keep warehouse_format: parquet")

    def _check_schema(self, spec: TableSpec, table) -> list[pa.Field]:
        """Refuse a table whose columns are not the schema's; return the schema's nullable columns it lacks
        (added since the table was created: reads give them as null, the next write adds them)."""
        have = pa.schema(table.schema().to_arrow())
        want = delta_schema(spec)
        missing = [f for f in want if f.name not in have.names]
        extra = [n for n in have.names if n not in want.names]
        if extra or any(not f.nullable for f in missing):
            raise SchemaError(f"table {spec.name!r} at {self.table_url(spec.name)}: the Delta table's columns differ "
                              f"from the schema (missing: {', '.join(f.name for f in missing) or '-'}; "
                              f"unknown: {', '.join(extra) or '-'})")
        return missing

    def _add_columns(self, spec: TableSpec, table, missing: list[pa.Field]):
        """Add the schema's new nullable columns to an existing table (one commit; a racing writer's is fine)."""
        from deltalake import CommitProperties, Field
        from deltalake.exceptions import CommitFailedError, DeltaError

        try:
            table.alter.add_columns([Field.from_arrow(f) for f in missing],
                                    commit_properties=CommitProperties(custom_metadata=commit_metadata()))
        except (CommitFailedError, DeltaError) as exc:
            log.info("table %s: adding %s raced another writer (%s)", spec.name, [f.name for f in missing], exc)
        table.update_incremental()
        return table

    def ensure_table(self, table: str):
        """Open ``table``, creating it empty first if it does not exist (safe when several processes race)."""
        from deltalake import DeltaTable
        from deltalake.exceptions import CommitFailedError

        spec = table_spec(table)
        for attempt in range(COMMIT_ATTEMPTS):
            opened = self._open(spec)
            if opened is not None:
                missing = self._check_schema(spec, opened)
                if missing:
                    opened = self._add_columns(spec, opened, missing)
                    if self._check_schema(spec, opened):
                        _backoff(attempt)
                        continue
                return opened
            try:
                return DeltaTable.create(self.table_url(spec.name), delta_schema(spec), mode="ignore",
                                         partition_by=[spec.partition_by], name=spec.name,
                                         description=spec.description or None,
                                         configuration={"delta.checkpointInterval": CHECKPOINT_INTERVAL},
                                         storage_options=self._delta_options or None)
            except CommitFailedError:
                _backoff(attempt)  # another process created it meanwhile: open theirs
        raise CommitConflictError(f"table {spec.name!r}: could not be created or opened at {self.table_url(spec.name)}")

    def ensure_tables(self, tables: Iterable[str] | None = None) -> list[str]:
        """Create every missing table up front (what an init task calls); returns the table names."""
        names = sorted(TABLES) if tables is None else [table_spec(t).name for t in tables]
        for name in names:
            self.ensure_table(name)
        return names

    def table_version(self, table: str) -> int | None:
        """The table's current version, or None when it does not exist yet."""
        opened = self._open(table_spec(table))
        return None if opened is None else opened.version()

    def delta_table(self, table: str):
        """The newest version of ``table`` as a ``deltalake.DeltaTable``, or None when it does not exist yet."""
        return self._open(table_spec(table))

    def table_history(self, table: str, limit: int | None = None) -> list[dict]:
        """The table's commits, newest first: version, time, operation, rows and files changed, who wrote it."""
        opened = self._open(table_spec(table))
        if opened is None:
            return []
        return [history_entry(commit) for commit in opened.history(limit)]

    def pinned(self, table: str) -> "DeltaWarehouse":
        """This warehouse with ``table`` held at its current version: every read of it through the returned
        view sees that version, and :meth:`write_planned` commits only if nothing it read changed since."""
        import copy

        spec = table_spec(table)
        view = copy.copy(self)
        view._pins = {**getattr(self, "_pins", {}), spec.name: self.ensure_table(spec.name)}
        return view

    def _open(self, spec: TableSpec):
        pinned = getattr(self, "_pins", {}).get(spec.name)
        return pinned if pinned is not None else self._open_newest(spec)

    def write_planned(self, table: str, data, interval: Interval, *, updates: pd.DataFrame | None = None,
                      columns: list[str] = (), read_partitions: Iterable[str] = ()) -> WriteResult:
        """Publish ``data`` as ``interval``'s rows and set ``columns`` of other intervals' rows (``updates``:
        those rows' keys, ``dt``, ``interval_key`` and new values) in one commit, against the pinned version.

        The commit fails with :class:`PlanConflictError` when a concurrent commit changed a partition
        the plan read (``read_partitions``) or writes: the caller reads again and re-plans. Call on a
        :meth:`pinned` view whose reads made the plan.
        """
        from deltalake.exceptions import CommitFailedError

        spec = table_spec(table)
        if spec.name not in getattr(self, "_pins", {}):
            raise ValueError(f"write_planned({spec.name!r}) needs a view from pinned({spec.name!r})")
        extra = None
        if updates is not None and len(updates):
            extra = self._flag_rows(spec, updates, list(columns))
        try:
            return self._write_once(spec, self._open(spec), sort_by_key(conform(spec, data), spec.key),
                                    interval, owner_key(interval), None, extra=extra,
                                    columns=list(columns), read_partitions=read_partitions)
        except CommitFailedError as exc:
            raise PlanConflictError(f"table {spec.name!r}: a concurrent commit changed what the plan read ({exc})") from None

    def _flag_rows(self, spec: TableSpec, updates: pd.DataFrame, columns: list[str]) -> pa.Table:
        """Merge-source rows that only carry new values of ``columns`` for other intervals' rows."""
        place = [spec.partition_by, *spec.key]
        missing = [c for c in [*place, OWNER_COLUMN, *columns] if c not in updates.columns]
        if missing:
            raise SchemaError(f"table {spec.name!r}: planned updates lack column(s) {', '.join(missing)}")
        full = delta_schema(spec)
        n = len(updates)
        arrays = []
        for f in full:
            if f.name in (*place, OWNER_COLUMN, *columns):
                arrays.append(pa.array(updates[f.name].tolist(), f.type))
            else:
                arrays.append(pa.nulls(n, f.type))
        rows = pa.Table.from_arrays(arrays, schema=pa.schema([f.with_nullable(True) for f in full]))
        return rows.append_column(_DELETE, pa.array([False] * n, pa.bool_())).append_column(_FLAGS, pa.array([True] * n, pa.bool_()))

    # -- reading -----------------------------------------------------------------

    def _uris(self, spec: TableSpec, dts: Iterable[str] | None, owner: str | None = None, table=None) -> list[str]:
        """The committed version's files (of ``table``, an opened version, or the newest), pruned by
        partition and, from the log's statistics, by owner."""
        table = table if table is not None else self._open(spec)
        if table is None:
            return []
        predicate: list[tuple[str, str, Any]] = []
        if dts is not None:
            wanted = sorted({str(d) for d in dts})
            if not wanted:
                return []
            predicate.append((spec.partition_by, "in", wanted))
        if owner is not None:
            predicate.append((OWNER_COLUMN, "=", owner))  # min/max per file: no footer reads
        return sorted(table.file_uris(file_pruning_predicate=predicate) if predicate else table.file_uris())

    def _scan(self, spec: TableSpec, dts: Iterable[str] | None, columns: list[str],
              row_filter: pc.Expression | None = None, owner: str | None = None, table=None) -> pa.Table:
        """``columns`` (any of the Delta schema's) of the current version, as Arrow."""
        full = delta_schema(spec)
        schema = pa.schema([full.field(c) for c in columns])
        dts = None if dts is None else [str(d) for d in dts]
        # Files a concurrent commit removed stay until vacuum (days); a miss
        # means a vacuum raced us: take the newer snapshot.
        for attempt in range(3):
            uris = self._uris(spec, dts, owner, table if attempt == 0 else None)
            if not uris:
                return schema.empty_table()
            try:
                dataset = ds.dataset(
                    [self.storage.to_path(u) for u in uris], schema=full, format="parquet",
                    filesystem=self.storage.arrow_fs,
                    partitioning=ds.partitioning(pa.schema([full.field(spec.partition_by)]), flavor="hive"),
                    partition_base_dir=self.storage.path(spec.name),
                )
                # Filter after the cast: delta-rs writes strings as string_view in some files and as
                # string in others (OPTIMIZE), and Arrow cannot compare the two inside a scan.
                needed = list(columns) + [OWNER_COLUMN] if row_filter is not None and OWNER_COLUMN not in columns else list(columns)
                table = dataset.to_table(columns=needed).cast(pa.schema([full.field(c) for c in needed]))
                if row_filter is not None:
                    table = table.filter(row_filter)
                table = table.select(list(columns)).cast(schema)
                # File order is a uuid's: sort by partition and key (when read) for stable output.
                order = [c for c in (spec.partition_by, *spec.key) if c in table.column_names]
                return table.sort_by([(c, "ascending") for c in order]) if order else table
            except FileNotFoundError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def files(self, table: str, dts: Iterable[str] | None = None) -> list[str]:
        """The current version's data files of ``table`` (paths or URLs), sorted."""
        spec = table_spec(table)
        return [self.storage.url(self.storage.to_path(u)) for u in self._uris(spec, dts)]

    def partitions(self, table: str) -> list[str]:
        spec = table_spec(table)
        opened = self._open(spec)
        if opened is None:
            return []
        return sorted({p[spec.partition_by] for p in opened.partitions()})

    def read(self, table: str, dts: Iterable[str] | None = None, columns: list[str] | None = None) -> pd.DataFrame:
        spec = table_spec(table)
        names = list(columns) if columns is not None else spec.schema.names
        unknown = [c for c in names if c not in spec.schema.names]
        if unknown:
            raise SchemaError(f"table {spec.name!r}, column {unknown[0]!r}: not in the schema (known: {', '.join(spec.schema.names)})")
        schema = pa.schema([spec.schema.field(c) for c in names])
        return to_pandas(schema, self._scan(spec, dts, names))

    def _owner_rows(self, spec: TableSpec, owner: str, table=None) -> pa.Table:
        """Every row interval slice ``owner`` holds (all partitions; in version ``table`` if given)."""
        rows = self._scan(spec, None, spec.schema.names, pc.field(OWNER_COLUMN) == owner, owner=owner, table=table)
        return rows.cast(spec.schema)

    def read_owned(self, table: str, dts: Iterable[str] | None, columns: list[str]) -> pd.DataFrame:
        spec = table_spec(table)
        data_columns = [c for c in columns if c != spec.partition_by]
        names = [*data_columns, spec.partition_by, OWNER_COLUMN]
        rows = self._scan(spec, dts, names)
        out_schema = pa.schema([*(spec.schema.field(c) for c in data_columns), pa.field(spec.partition_by, pa.string()),
                                pa.field(OWNER_COLUMN, pa.string())])
        return to_pandas(out_schema, rows)

    def read_interval(self, table: str, interval: Interval, columns: list[str] | None = None) -> pd.DataFrame:
        spec = table_spec(table)
        names = list(columns) if columns is not None else spec.data_columns
        own = self._owner_rows(spec, owner_key(interval))
        return to_pandas(pa.schema([spec.schema.field(c) for c in [*names, spec.partition_by]]),
                         own.select([*names, spec.partition_by]))

    def read_other_intervals(self, table: str, interval: Interval, dts: Iterable[str],
                             columns: list[str] | None = None, *, file_tag: str | None = None) -> pd.DataFrame:
        spec = table_spec(table)
        names = list(columns) if columns is not None else spec.data_columns
        dts = [str(d) for d in dts]
        rows = self._scan(spec, dts, names, pc.field(OWNER_COLUMN) != owner_key(interval, file_tag)) if dts else None
        out_schema = pa.schema([spec.schema.field(c) for c in names])
        return to_pandas(out_schema, out_schema.empty_table() if rows is None else rows)

    # -- writing -----------------------------------------------------------------

    def write(self, table: str, data, interval: Interval, *, file_tag: str | None = None,
              refreshed: Refreshed | None = None) -> WriteResult:
        """One MERGE commit publishing ``data`` as interval ``interval``'s rows (see the module docstring)."""
        from deltalake.exceptions import CommitFailedError

        spec = table_spec(table)
        if refreshed is not None and refreshed.column not in spec.schema.names:
            raise SchemaError(f"table {spec.name!r}, column {refreshed.column!r}: refreshed by a column not in the schema")
        batch = sort_by_key(conform(spec, data), spec.key)
        owner = owner_key(interval, file_tag)
        for attempt in range(COMMIT_ATTEMPTS):
            try:
                return self._write_once(spec, self.ensure_table(spec.name), batch, interval, owner, refreshed)
            except CommitFailedError as exc:
                log.info("table %s, interval %s: commit conflicted (%s), retrying", spec.name, owner, exc)
                _backoff(attempt)
        raise CommitConflictError(
            f"table {spec.name!r}, interval {owner}: the commit conflicted with concurrent writers "
            f"{COMMIT_ATTEMPTS} times; nothing of this batch was published (the task's retry publishes it)")

    def _write_once(self, spec: TableSpec, target, batch: pa.Table, interval: Interval, owner: str,
                    refreshed: Refreshed | None, *, extra: pa.Table | None = None, columns: list[str] = (),
                    read_partitions: Iterable[str] = ()) -> WriteResult:
        """One MERGE of ``batch`` as ``owner``'s rows (plus ``extra``: other owners' rows whose ``columns``
        change) against version ``target``; raises ``CommitFailedError`` on a conflict."""
        place = (spec.partition_by, *spec.key)
        result = WriteResult(table=spec.name, interval_key=interval.key, rows_written=0)
        previous = self._owner_rows(spec, owner, target)  # the version the merge will check against
        rows = batch
        if refreshed is not None:
            rows = with_kept_rows(spec, previous, batch, refreshed, result)
        stale, _ = drop_existing_keys(previous, rows.select(list(place)), place)
        if stale.num_rows == 0 and extra is None and _same_rows(spec, rows, previous):
            # A rerun that fetched exactly what is published: no commit, no new version.
            result.rows_written = rows.num_rows
            result.partitions = sorted(set(rows.column(spec.partition_by).to_pylist()))
            result.table_version = target.version()
            return result
        parts = [_flagged(rows, owner, False), _flagged(stale.cast(spec.schema), owner, True)]
        if extra is not None:
            parts = [t.append_column(_FLAGS, pa.array([False] * t.num_rows, pa.bool_())) for t in parts] + [extra]
        source = pa.concat_tables(parts, promote_options="permissive")
        write_id = uuid.uuid4().hex
        metrics = self._merge(spec, target, source, commit_metadata(write_id=write_id, interval=owner),
                              flag_columns=list(columns) if extra is not None else None,
                              read_partitions=read_partitions)
        written = int(metrics.get("num_target_rows_inserted", 0)) + int(metrics.get("num_target_rows_updated", 0))
        result.rows_written = written - (extra.num_rows if extra is not None and written else 0)
        result.rows_written = max(result.rows_written, 0)
        result.duplicates_dropped = rows.num_rows - result.rows_written
        result.partitions = sorted(set(rows.column(spec.partition_by).to_pylist())) if result.rows_written else []
        # delta-rs makes no commit when the merge changed nothing (every key held elsewhere).
        committed = self._committed_version(target, write_id)
        result.table_version = committed if committed is not None else target.version()
        return result

    @staticmethod
    def _committed_version(target, write_id: str) -> int | None:
        """The version our commit landed as (``target.version()`` is unreliable after delta-rs rebased the
        commit over concurrent ones). Newest commits first, a few at a time: each is one object to read."""
        target.update_incremental()
        for limit in (4, 32, 256):
            for commit in target.history(limit=limit):
                if commit.get("newsmarkets.write_id") == write_id:
                    return int(commit["version"])
        return None

    def _merge(self, spec: TableSpec, target, source: pa.Table, metadata: dict[str, str], *,
               flag_columns: list[str] | None = None, read_partitions: Iterable[str] = ()) -> dict:
        from deltalake import CommitProperties, WriterProperties

        on = " AND ".join(f"t.{c} = s.{c}" for c in (spec.partition_by, *spec.key))
        # Literal partition values let delta-rs skip every other partition's files (without them a
        # merge scanned the whole table) and scope its conflict check to these partitions; a planned
        # write adds the partitions its plan read, so a commit there since makes it conflict.
        days = sorted(set(source.column(spec.partition_by).to_pylist()) | {str(d) for d in read_partitions})
        if len(days) <= 20:
            on = f"t.{spec.partition_by} IN ({', '.join(_sql_text(d) for d in days)}) AND {on}"
        else:
            on = f"t.{spec.partition_by} >= {_sql_text(days[0])} AND t.{spec.partition_by} <= {_sql_text(days[-1])} AND {on}"
        columns = delta_schema(spec).names
        same_owner = f"t.{OWNER_COLUMN} = s.{OWNER_COLUMN}"
        own = "" if flag_columns is None else f" AND NOT s.{_FLAGS}"
        merge = target.merge(source, on, source_alias="s", target_alias="t",
                             writer_properties=WriterProperties(compression="ZSTD"),
                             commit_properties=CommitProperties(custom_metadata=metadata))
        if flag_columns is not None:
            merge = merge.when_matched_update(updates={c: f"s.{c}" for c in flag_columns},
                                              predicate=f"{same_owner} AND s.{_FLAGS}")
        return (
            merge.when_matched_update(updates={c: f"s.{c}" for c in columns},
                                      predicate=f"{same_owner} AND NOT s.{_DELETE}{own}")
            .when_matched_delete(predicate=f"{same_owner} AND s.{_DELETE}")
            .when_not_matched_insert(updates={c: f"s.{c}" for c in columns}, predicate=f"NOT s.{_DELETE}{own}")
            .execute()
        )

    # -- moving from the Parquet layout --------------------------------------------

    def convert_from_parquet(self, progress=lambda text: None) -> dict[str, int]:
        """Turn every Parquet-layout table under the root into a Delta table holding the same rows.

        Each row keeps the interval whose file held it (``interval_key``), so
        later reruns replace exactly what they did before. The old files move
        to ``_parquet_backup/<table>/`` (delete it once the Delta tables are
        checked); tables already in Delta are left alone. Returns rows per table.
        """
        from deltalake import write_deltalake

        old = Warehouse(self.root, self._fsspec_options)
        converted: dict[str, int] = {}
        for name in sorted(TABLES):
            spec = table_spec(name)
            folder = self.storage.path(spec.name)
            if self.storage.fs.exists(self.storage.path(spec.name, "_delta_log")) or not old.files(name):
                continue
            rows = old.read_owned(name, None, spec.schema.names)
            # Not strict: these rows were validated when published (a key may sit in two partitions).
            table = conform(spec, rows.drop(columns=[OWNER_COLUMN]), strict=False).cast(spec.schema).append_column(
                pa.field(OWNER_COLUMN, pa.string(), nullable=False),
                pa.array(rows[OWNER_COLUMN].astype(str).tolist(), pa.string()))
            staging = self.storage.path("_parquet_backup", f".{spec.name}.delta-building")
            self.storage.remove_tree(staging)
            write_deltalake(self.storage.url(staging), table, partition_by=[spec.partition_by], mode="error",
                            name=spec.name, description=spec.description or None,
                            storage_options=self._delta_options or None)
            backup = self.storage.path("_parquet_backup", spec.name)
            self.storage.remove_tree(backup)
            self.storage.fs.mv(folder, backup, recursive=True)
            self.storage.fs.mv(staging, folder, recursive=True)
            converted[spec.name] = table.num_rows
            progress(f"{spec.name}: {table.num_rows:,} rows -> Delta table {self.table_url(spec.name)}")
        return converted

    # -- maintenance -------------------------------------------------------------

    def compact_closed(self, interval_day: date, compact_after_days: int,
                       tables: Iterable[str] | None = None) -> tuple[str, dict]:
        """Compact closed partitions with Delta's OPTIMIZE, then vacuum files older than the retention."""
        from deltalake import CommitProperties
        from deltalake.exceptions import CommitFailedError

        from newsmarkets.warehouse import compact

        last_closed = compact.closed_before(interval_day, compact_after_days)
        summary: dict[str, dict] = {}
        for name in tables if tables is not None else sorted(TABLES):
            spec = table_spec(name)
            started = time.perf_counter()
            entry = {"partitions": 0, "files_before": 0, "files_after": 0, "bytes_before": 0, "bytes_after": 0,
                     "files_vacuumed": 0}
            for attempt in range(COMMIT_ATTEMPTS):
                target = self._open(spec)
                if target is None:
                    break
                try:
                    metrics = target.optimize.compact(partition_filters=[(spec.partition_by, "<=", last_closed)],
                                                      commit_properties=CommitProperties(custom_metadata=commit_metadata()))
                except CommitFailedError:
                    _backoff(attempt)
                    continue
                entry["partitions"] = int(metrics.get("partitionsOptimized", 0))
                entry["files_before"] = int(metrics.get("numFilesRemoved", 0))
                entry["files_after"] = int(metrics.get("numFilesAdded", 0))
                entry["bytes_before"] = _total_size(metrics.get("filesRemoved"))
                entry["bytes_after"] = _total_size(metrics.get("filesAdded"))
                entry["files_vacuumed"] = len(self._open(spec).vacuum(retention_hours=VACUUM_RETENTION_HOURS, dry_run=False,
                                                                enforce_retention_duration=False))
                break
            else:
                raise CommitConflictError(f"table {spec.name!r}: compaction conflicted with concurrent writers {COMMIT_ATTEMPTS} times")
            entry["seconds"] = round(time.perf_counter() - started, 3)
            summary[spec.name] = entry
        return last_closed, summary


def _metric(metrics: dict, *names: str) -> int | None:
    for name in names:
        if metrics.get(name) is not None:
            return int(metrics[name])
    return None


def history_entry(commit: dict) -> dict:
    """One ``DeltaTable.history()`` commit as the columns ``newsmarkets table history`` shows."""
    metrics = commit.get("operationMetrics") or {}
    return {
        "version": int(commit["version"]),
        "committed_at": datetime.fromtimestamp(commit["timestamp"] / 1000, tz=timezone.utc),
        "operation": commit.get("operation"),
        "rows_inserted": _metric(metrics, "num_target_rows_inserted", "num_added_rows"),
        "rows_updated": _metric(metrics, "num_target_rows_updated", "num_updated_rows"),
        "rows_deleted": _metric(metrics, "num_target_rows_deleted", "num_deleted_rows"),
        "files_added": _metric(metrics, "num_target_files_added", "numFilesAdded", "numRestoredFile", "num_added_files"),
        "files_removed": _metric(metrics, "num_target_files_removed", "numFilesRemoved", "numRemovedFile",
                                 "num_removed_files"),
        "interval": commit.get("newsmarkets.interval"),
        "dag_id": commit.get("newsmarkets.dag_id"),
        "run_id": commit.get("newsmarkets.run_id"),
        "task_id": commit.get("newsmarkets.task_id"),
        "restored_version": int(commit["operationParameters"]["version"])
        if commit.get("operation") == "RESTORE" and (commit.get("operationParameters") or {}).get("version") is not None
        else None,
    }


def _total_size(stats) -> int:
    """``totalSize`` of OPTIMIZE's file statistics (a JSON text in deltalake 1.6)."""
    if isinstance(stats, str):
        stats = json.loads(stats)
    return int((stats or {}).get("totalSize", 0))


def _same_rows(spec: TableSpec, rows: pa.Table, previous: pa.Table) -> bool:
    if rows.num_rows != previous.num_rows:
        return False
    order = [(c, "ascending") for c in (spec.partition_by, *spec.key)]
    return rows.cast(spec.schema).sort_by(order).equals(previous.cast(spec.schema).sort_by(order))


def _flagged(rows: pa.Table, owner: str, delete: bool) -> pa.Table:
    n = rows.num_rows
    return rows.append_column(pa.field(OWNER_COLUMN, pa.string(), nullable=False), pa.array([owner] * n, pa.string())) \
               .append_column(_DELETE, pa.array([delete] * n, pa.bool_()))


def _backoff(attempt: int) -> None:
    delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * (2 ** attempt))
    time.sleep(delay * (0.5 + random.random()))
