"""The one warehouse API every table goes through: :class:`Warehouse`.

Its public surface is all that code outside ``warehouse/`` may use; file
names, partitions, compaction and the storage layer stay behind it (step 2
of the warehouse track swaps the format underneath and keeps this surface):

* reading: :meth:`~Warehouse.read` (partition and column pruning),
  :meth:`~Warehouse.read_interval` (one run interval's slice),
  :meth:`~Warehouse.read_owned` (rows with the interval whose slice holds
  them), :meth:`~Warehouse.read_other_intervals`, :meth:`~Warehouse.partitions`;
* publishing a run's slice of one table: :meth:`~Warehouse.write` (with
  ``refreshed`` for a run that re-fetched only part of its interval);
* the quality gate's hand-offs: :meth:`~Warehouse.stage`,
  :meth:`~Warehouse.load_staged`, :meth:`~Warehouse.is_staged`,
  :meth:`~Warehouse.discard_staged`, :meth:`~Warehouse.quarantine`; raw
  pages and the news steps' hand-offs through :mod:`newsmarkets.warehouse.rawstore`
  (functions that take a :class:`Warehouse`);
* maintenance: :meth:`~Warehouse.compact_closed`, :meth:`~Warehouse.apply_retention`;
* :meth:`~Warehouse.lock` for read-modify-write across intervals, and
  :meth:`~Warehouse.files` / :meth:`~Warehouse.table_url` for the catalog
  and readers outside Python.

Layout (Hive-partitioned Parquet, readable by any engine)::

    <root>/<table>/dt=YYYY-MM-DD/part-<interval.key>.parquet

One file per (partition, run interval): a run owns exactly the files named
after its data interval, so rewriting an interval replaces them (idempotent),
and runs for different intervals never touch each other's files (concurrent
runs lose nothing). The partition column lives in the path, not in the file.

Contract of :meth:`Warehouse.write`:

* the batch is cast to the table's schema exactly, or :class:`SchemaError`
  names table and column and nothing is written;
* ``dt`` is the UTC date of ``spec.dt_from``, computed here;
* duplicate keys inside the batch are refused; rows whose key another
  interval's file of the same partition already holds are dropped (first
  writer wins, counted in ``duplicates_dropped``), so the table never holds a
  key twice. Locally this check-and-write runs under a per-table lock; on
  object stores there is no lock, so two *concurrent* runs observing the same
  point may both keep it;
* by default the batch *is* the interval: an empty batch removes the
  interval's files ("this interval has no rows"). A run that re-fetched only
  part of its interval passes ``refreshed`` (:class:`Refreshed`): the
  interval's published rows whose ``column`` is not among the refreshed
  values are kept as they are, so a source failing during a rerun never
  deletes what was published; refreshed rows missing from the batch are
  removed and counted in ``rows_removed`` (the source said they are gone);
* files are replaced atomically (see :mod:`newsmarkets.warehouse.storage`);
  temp files a killed writer left behind are swept by the next write to the
  partition once they are an hour old;
* compacted partitions (see :mod:`newsmarkets.warehouse.compact`): when the
  partition's ``compacted.parquet`` already holds the interval's rows, the new
  rows replace that piece of it in one atomic file replace instead of becoming
  a ``part-`` file beside it, so a rerun after compaction neither duplicates
  nor loses a row. Every file records its ``newsmarkets.write_id``.
"""

from __future__ import annotations

import json
import math
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from newsmarkets.intervals import Interval
from newsmarkets.warehouse.conform import (
    Batch,
    SchemaError,
    conform,
    drop_existing_keys,
    file_schema,
    relaxed_schema,
    sort_by_key,
    to_pandas,
)
from newsmarkets.warehouse import compact
from newsmarkets.warehouse.rawstore import STAGING_DIR
from newsmarkets.warehouse.schemas import TableSpec, table_spec
from newsmarkets.warehouse.storage import Storage, safe_name, storage_options

__all__ = ["Warehouse", "WriteResult", "SchemaError", "Refreshed"]

# Big enough for efficient scans, small enough that a day of one table is a
# handful of row groups readers can skip by statistics.
DEFAULT_ROW_GROUP_ROWS = 128 * 1024
QUARANTINE_DIR = "_quarantine"


@dataclass(frozen=True)
class Refreshed:
    """The part of an interval a run re-fetched successfully: rows whose ``column`` is in ``values``."""

    column: str
    values: frozenset[str]

    @classmethod
    def of(cls, column: str, values: Iterable[str]) -> "Refreshed":
        return cls(column, frozenset(str(v) for v in values))


@dataclass
class WriteResult:
    table: str
    interval_key: str
    rows_written: int
    files: list[str] = field(default_factory=list)
    partitions: list[str] = field(default_factory=list)
    duplicates_dropped: int = 0
    files_removed: list[str] = field(default_factory=list)
    pieces_removed: list[str] = field(default_factory=list)  # <compacted file>#<interval file> taken out
    rows_kept: int = 0  # published rows of the interval outside ``refreshed``, carried over unchanged
    rows_removed: int = 0  # published rows inside ``refreshed`` that the new batch no longer has
    table_version: int | None = None  # the Delta table's version after the commit (Delta format only)


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date, pd.Timestamp)):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def _jsonable(value: Any) -> Any:
    # NaN is not JSON; a report saying "observed NaN" must stay parseable.
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _as_evidence(spec: TableSpec, data: Batch) -> tuple[pa.Table, bool]:
    """Quarantined data in the table's types when possible, else as close to raw as Arrow allows."""
    try:
        return conform(spec, data, strict=False), True
    except SchemaError:
        pass
    if isinstance(data, pa.Table):
        return data, False
    try:
        return pa.Table.from_pandas(data, preserve_index=False), False
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Mixed-type object columns: keep every value's text rather than lose the batch.
        text = data.copy()
        for name in text.columns[text.dtypes == object]:
            text[name] = text[name].map(lambda v: None if v is None else str(v))
        return pa.Table.from_pandas(text, preserve_index=False), False


def _owned(data: pa.Table, partition_by: str, dt: str, files: list[str]) -> pa.Table:
    """``data`` with its partition and the interval key of the slice each row belongs to."""
    keys = [f[len("part-"):-len(".parquet")] for f in files]
    return data.append_column(partition_by, pa.array([dt] * data.num_rows, pa.string())).append_column(
        "interval_key", pa.array(keys, pa.string()))


def with_kept_rows(spec: TableSpec, previous: pa.Table, batch: pa.Table, refreshed: Refreshed,
                   result: WriteResult) -> pa.Table:
    """``batch`` plus the interval's published rows (``previous``) outside ``refreshed``; counts kept and removed rows."""
    if previous.num_rows == 0:
        return batch
    scope = pa.array(sorted(refreshed.values), pa.string())
    inside = pc.fill_null(pc.is_in(pc.cast(previous[refreshed.column], pa.string()), value_set=scope), False)
    kept = previous.filter(pc.invert(inside))
    replaced = previous.filter(inside)
    gone, _ = drop_existing_keys(replaced, batch.select(list(spec.key)), spec.key)
    result.rows_kept, result.rows_removed = kept.num_rows, gone.num_rows
    # A kept row the batch also holds (same key) is the batch's to replace.
    kept, _ = drop_existing_keys(kept, batch.select(list(spec.key)), spec.key)
    return sort_by_key(pa.concat_tables([batch, kept.cast(batch.schema)]), spec.key)


WAREHOUSE_FORMATS = ("parquet", "delta")


class Warehouse:
    """Partitioned Parquet tables under one root (local path or fsspec URL)."""

    format = "parquet"

    def __init__(
        self,
        root: str,
        storage_options: dict | None = None,
        *,
        row_group_rows: int = DEFAULT_ROW_GROUP_ROWS,
    ) -> None:
        if row_group_rows < 1:
            raise ValueError(f"row_group_rows must be >= 1, got {row_group_rows}")
        self.storage = Storage(root, storage_options)
        self.row_group_rows = row_group_rows

    @classmethod
    def from_config(cls, cfg) -> "Warehouse":
        """The warehouse a config points at, in its ``warehouse_format`` (Parquet files or Delta tables)."""
        return cls.open(cfg.warehouse, storage_options(cfg.warehouse, cfg.warehouse_conn_id),
                        getattr(cfg, "warehouse_format", "delta"))

    @staticmethod
    def open(root: str, options: dict | None = None, format: str = "delta") -> "Warehouse":
        """A warehouse at ``root`` in ``format`` (see :data:`WAREHOUSE_FORMATS`)."""
        if format == "parquet":
            return Warehouse(root, options)
        if format == "delta":
            from newsmarkets.warehouse.delta import DeltaWarehouse

            return DeltaWarehouse(root, options)
        raise ValueError(f"warehouse format must be one of {', '.join(WAREHOUSE_FORMATS)}, got {format!r}")

    def __repr__(self) -> str:
        return f"Warehouse({self.root!r})"

    @property
    def root(self) -> str:
        """Absolute path (local) or URL of the warehouse root."""
        return self.storage.url(self.storage.root)

    def table_url(self, table: str) -> str:
        return self.storage.url(self.storage.path(table_spec(table).name))

    # -- reading ---------------------------------------------------------------

    def _files(self, spec: TableSpec, dts: Iterable[str] | None = None) -> list[str]:
        files = self.storage.glob(self.storage.path(spec.name, f"{spec.partition_by}=*", "*.parquet"))
        if dts is not None:
            wanted = {f"{spec.partition_by}={str(d)}" for d in dts}
            files = [f for f in files if posixpath.basename(posixpath.dirname(f)) in wanted]
        return files

    def files(self, table: str, dts: Iterable[str] | None = None) -> list[str]:
        """Published Parquet files of ``table`` (paths or URLs), sorted."""
        return [self.storage.url(f) for f in self._files(table_spec(table), dts)]

    def partitions(self, table: str) -> list[str]:
        """The ``dt`` values that hold at least one file, sorted."""
        spec = table_spec(table)
        prefix = f"{spec.partition_by}="
        dirs = {posixpath.basename(posixpath.dirname(f)) for f in self._files(spec)}
        return sorted(d[len(prefix):] for d in dirs)

    def read(self, table: str, dts: Iterable[str] | None = None, columns: list[str] | None = None) -> pd.DataFrame:
        """Rows of ``table`` (optionally only partitions ``dts``) as a frame typed by the schema."""
        spec = table_spec(table)
        names = list(columns) if columns is not None else spec.schema.names
        unknown = [c for c in names if c not in spec.schema.names]
        if unknown:
            raise SchemaError(f"table {spec.name!r}, column {unknown[0]!r}: not in the schema (known: {', '.join(spec.schema.names)})")
        schema = pa.schema([spec.schema.field(c) for c in names])
        dts = None if dts is None else [str(d) for d in dts]
        # A concurrent rewrite may remove a file between listing and reading;
        # listing again sees the state after it.
        for attempt in range(3):
            files = self._files(spec, dts)
            if not files:
                return to_pandas(schema, schema.empty_table())
            try:
                dataset = ds.dataset(
                    files,
                    schema=spec.schema,
                    format="parquet",
                    filesystem=self.storage.arrow_fs,
                    partitioning=ds.partitioning(pa.schema([spec.schema.field(spec.partition_by)]), flavor="hive"),
                    partition_base_dir=self.storage.path(spec.name),
                )
                return to_pandas(schema, dataset.to_table(columns=names))
            except FileNotFoundError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    # -- writing ---------------------------------------------------------------

    def _write_parquet(self, path: str, table: pa.Table, schema: pa.Schema) -> None:
        table = table.select(schema.names).cast(schema)

        def write(sink: pa.NativeFile) -> None:
            with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
                writer.write_table(table, row_group_size=self.row_group_rows)

        self.storage.write_atomic(path, write)

    def _existing_keys(self, spec: TableSpec, state: compact.PartitionState, own_name: str) -> pa.Table:
        """Keys other intervals hold in the partition: their files and the compacted file's other pieces."""
        key_schema = pa.schema([spec.schema.field(k) for k in spec.key])
        parts: list[pa.Table] = []
        others = [f for f in state.parts if posixpath.basename(f) != own_name]
        if others:
            dataset = ds.dataset(others, schema=key_schema, format="parquet", filesystem=self.storage.arrow_fs)
            parts.append(dataset.to_table(columns=list(spec.key)))
        if state.compacted:
            table, pieces = compact.read_compacted(self.storage, state.compacted,
                                                       pa.schema([spec.schema.field(k) for k in spec.key]))
            table, _ = compact.without(table, pieces, own_name)
            parts.append(table.cast(key_schema))
        return pa.concat_tables(parts) if parts else key_schema.empty_table()

    def write(self, table: str, data: Batch, interval: Interval, *, file_tag: str | None = None,
              refreshed: Refreshed | None = None) -> WriteResult:
        """Publish ``data`` as interval ``interval``'s rows of ``table`` (see the module docstring).

        ``file_tag`` splits one interval's rows into several independently
        replaced files (``part-<interval>-<tag>.parquet``): ``dq_results`` tags
        by table and run so validations of one interval never overwrite each other.
        ``refreshed`` limits what the batch replaces to the rows it re-fetched.
        """
        spec = table_spec(table)
        if refreshed is not None and refreshed.column not in spec.schema.names:
            raise SchemaError(f"table {spec.name!r}, column {refreshed.column!r}: refreshed by a column not in the schema")
        batch = sort_by_key(conform(spec, data), spec.key)
        own_name = self.file_name(interval, file_tag)
        result = WriteResult(table=spec.name, interval_key=interval.key, rows_written=0)
        partition_glob = self.storage.path(spec.name, f"{spec.partition_by}=*")
        with self.storage.lock(spec.name):
            if refreshed is not None:
                batch = self._with_kept_rows(spec, own_name, batch, refreshed, result)
            # Where this interval has rows now: its own files, and pieces of compacted files (markers).
            previous = {posixpath.dirname(p) for p in self.storage.glob(posixpath.join(partition_glob, own_name))}
            previous |= {posixpath.dirname(p) for p in
                         self.storage.glob(posixpath.join(partition_glob, compact.marker_name(own_name)))}
            written: set[str] = set()
            files: list[str] = []
            for dt in sorted(set(batch.column(spec.partition_by).to_pylist())):
                directory = self.storage.path(spec.name, f"{spec.partition_by}={dt}")
                self.storage.sweep_temps(directory)
                state = compact.load_partition(self.storage, directory)
                rows = batch.filter(pc.equal(batch[spec.partition_by], dt))
                rows, dropped = drop_existing_keys(rows, self._existing_keys(spec, state, own_name), spec.key)
                result.duplicates_dropped += dropped
                if rows.num_rows == 0:
                    continue  # every row is held by another interval; our old rows (if any) go below
                rows = sort_by_key(rows, spec.key)
                schema = file_schema(spec, interval=interval.key, write_id=compact.content_id(rows))
                if state.piece(own_name) is not None:
                    files.append(compact.fold(self, spec, state, own_name, rows, schema))
                else:
                    target = posixpath.join(directory, own_name)
                    self._write_parquet(target, rows, schema)
                    files.append(target)
                written.add(directory)
                result.rows_written += rows.num_rows
                result.partitions.append(dt)
            for directory in sorted(previous - written):
                self.storage.sweep_temps(directory)
                state = compact.load_partition(self.storage, directory)
                if state.piece(own_name) is not None:
                    compacted = state.compacted
                    compact.fold(self, spec, state, own_name, spec.schema.empty_table(), file_schema(spec))
                    result.pieces_removed.append(f"{self.storage.url(compacted)}#{own_name}")
                else:
                    compact.remove_marker(self.storage, directory, own_name)  # a stale hint
                stale = state.path_of(own_name)
                if stale:
                    self.storage.remove(stale)
                    result.files_removed.append(self.storage.url(stale))
        result.files = [self.storage.url(p) for p in sorted(files)]
        return result

    def _own_rows(self, spec: TableSpec, own_name: str) -> pa.Table:
        """What interval file ``own_name`` holds now, in every partition (own files and compacted pieces)."""
        partition_glob = self.storage.path(spec.name, f"{spec.partition_by}=*")
        directories = {posixpath.dirname(p) for p in self.storage.glob(posixpath.join(partition_glob, own_name))}
        directories |= {posixpath.dirname(p) for p in
                        self.storage.glob(posixpath.join(partition_glob, compact.marker_name(own_name)))}
        data_schema = file_schema(spec)
        tables = [spec.schema.empty_table()]
        for directory in sorted(directories):
            dt = posixpath.basename(directory).split("=", 1)[1]
            state = compact.load_partition(self.storage, directory)
            own = state.path_of(own_name)
            if own:
                rows = compact.read_parquet(self.storage, own, data_schema)
            elif state.piece(own_name) is not None:
                whole, pieces = compact.read_compacted(self.storage, state.compacted, data_schema)
                start, stop = compact.ranges(pieces)[own_name]
                rows = whole.slice(start, stop - start)
            else:
                continue
            rows = rows.cast(data_schema.remove_metadata()).append_column(
                spec.schema.field(spec.partition_by), pa.array([dt] * rows.num_rows, pa.string()))
            tables.append(rows.select(spec.schema.names).cast(spec.schema))
        return pa.concat_tables(tables)

    def _with_kept_rows(self, spec: TableSpec, own_name: str, batch: pa.Table, refreshed: Refreshed,
                        result: WriteResult) -> pa.Table:
        return with_kept_rows(spec, self._own_rows(spec, own_name), batch, refreshed, result)

    @staticmethod
    def file_name(interval: Interval, file_tag: str | None = None) -> str:
        """The file an interval's rows of a partition live in (or the piece of a compacted file)."""
        return f"part-{interval.key}-{safe_name(file_tag)}.parquet" if file_tag else f"part-{interval.key}.parquet"

    def read_owned(self, table: str, dts: Iterable[str] | None, columns: list[str]) -> pd.DataFrame:
        """``columns`` of partitions ``dts`` (None: all) plus ``dt`` and ``interval_key``: the run
        interval whose slice holds the row (what :meth:`write` for that interval replaces),
        whether it sits in its own file or in a piece of a compacted file."""
        spec = table_spec(table)
        file_fields = file_schema(spec)
        read_schema = pa.schema([file_fields.field(c) for c in columns if c != spec.partition_by])
        prefix = f"{spec.partition_by}="
        wanted = None if dts is None else {str(d) for d in dts}
        for attempt in range(3):
            try:
                tables: list[pa.Table] = []
                files = self._files(spec, wanted) if wanted != set() else []
                directories = sorted({posixpath.dirname(f) for f in files})
                for directory in directories:
                    dt = posixpath.basename(directory)[len(prefix):]
                    state = compact.load_partition(self.storage, directory, heal=False)
                    for path in state.parts:
                        data = compact.read_parquet(self.storage, path, read_schema)
                        tables.append(_owned(data.cast(read_schema), spec.partition_by, dt, [posixpath.basename(path)] * data.num_rows))
                    if state.compacted:
                        data, pieces = compact.read_compacted(self.storage, state.compacted, read_schema)
                        tables.append(_owned(data.cast(read_schema), spec.partition_by, dt,
                                              [p.file for p in pieces for _ in range(p.rows)]))
                break
            except FileNotFoundError:
                if attempt == 2:  # a concurrent compaction or rewrite moved files under us: list again
                    raise
        out_schema = pa.schema([*read_schema, pa.field(spec.partition_by, pa.string()),
                                pa.field("interval_key", pa.string())])
        merged = pa.concat_tables(tables) if tables else out_schema.empty_table()
        return to_pandas(out_schema, merged)

    def read_interval(self, table: str, interval: Interval, columns: list[str] | None = None) -> pd.DataFrame:
        """The rows interval ``interval``'s last :meth:`write` published (all partitions), with ``dt``."""
        spec = table_spec(table)
        names = list(columns) if columns is not None else spec.data_columns
        own = self._own_rows(spec, self.file_name(interval))
        return to_pandas(pa.schema([spec.schema.field(c) for c in [*names, spec.partition_by]]),
                         own.select([*names, spec.partition_by]))

    # -- maintenance ---------------------------------------------------------------

    def compact_closed(self, interval_day: date, compact_after_days: int,
                       tables: Iterable[str] | None = None) -> tuple[str, dict]:
        """Compact every table's partitions closed ``compact_after_days`` before ``interval_day``.

        Returns the last closed ``dt`` and, per table, what was compacted (see
        :mod:`newsmarkets.warehouse.compact`)."""
        last_closed = compact.closed_before(interval_day, compact_after_days)
        return last_closed, compact.compact_closed(self, last_closed, tables)

    def apply_retention(self, interval_day: date, *, raw_html_days: int, staging_hours: float,
                        quarantine_days: int | None) -> dict:
        """Delete raw HTML, staging leftovers and (if set) quarantine past retention (see ``retention``)."""
        from newsmarkets.warehouse import retention

        return retention.apply_retention(self.storage, interval_day, raw_html_days=raw_html_days,
                                         staging_hours=staging_hours, quarantine_days=quarantine_days)

    def lock(self, name: str):
        """A named lock for read-modify-write sequences across tables (a no-op on object stores)."""
        return self.storage.lock(name)

    def read_other_intervals(self, table: str, interval: Interval, dts: Iterable[str],
                             columns: list[str] | None = None, *, file_tag: str | None = None) -> pd.DataFrame:
        """Rows of partitions ``dts`` that belong to intervals other than ``interval``.

        What a run compares its batch against (earlier stories, duplicates):
        its own earlier rows are left out whether they sit in its own file or
        in a piece of a compacted file.
        """
        spec = table_spec(table)
        names = list(columns) if columns is not None else spec.data_columns
        own_name = self.file_name(interval, file_tag)
        file_fields = file_schema(spec)
        read_schema = pa.schema([file_fields.field(c) for c in names if c != spec.partition_by])
        tables: list[pa.Table] = []
        for attempt in range(3):
            try:
                tables = []
                for dt in sorted({str(d) for d in dts}):
                    directory = self.storage.path(spec.name, f"{spec.partition_by}={dt}")
                    state = compact.load_partition(self.storage, directory, heal=False)
                    for path in state.parts:
                        if posixpath.basename(path) != own_name:
                            data = compact.read_parquet(self.storage, path, read_schema)
                            tables.append(data.cast(read_schema).append_column(spec.partition_by, pa.array([dt] * data.num_rows, pa.string())))
                    if state.compacted:
                        data, pieces = compact.read_compacted(self.storage, state.compacted, read_schema)
                        data, _ = compact.without(data, pieces, own_name)
                        tables.append(data.cast(read_schema).append_column(spec.partition_by, pa.array([dt] * data.num_rows, pa.string())))
                break
            except FileNotFoundError:
                if attempt == 2:  # a concurrent compaction or rewrite moved files under us: list again
                    raise
        out_schema = pa.schema([spec.schema.field(c) for c in names])
        if not tables:
            return to_pandas(out_schema, out_schema.empty_table())
        return to_pandas(out_schema, pa.concat_tables(tables).select(names))

    # -- staging and quarantine ---------------------------------------------------

    def stage(self, table: str, data: Batch, interval: Interval, run_id: str) -> str:
        """Keep a fetched batch for the quality gate; returns its path/URL.

        Types are enforced (so the gate sees what would be published) but
        nulls and duplicate keys are kept for the gate to report.
        """
        spec = table_spec(table)
        batch = conform(spec, data, strict=False)
        path = self.storage.path(STAGING_DIR, spec.name, interval.key, f"{safe_name(run_id)}.parquet")
        self._write_parquet(path, batch, relaxed_schema(spec).with_metadata(file_schema(spec, interval=interval.key).metadata))
        return self.storage.url(path)

    def load_staged(self, table: str, path: str) -> pd.DataFrame:
        """A staged batch back as a typed frame (every column may hold nulls: ints are ``Int64``)."""
        spec = table_spec(table)
        if not self.storage.is_under(path, STAGING_DIR, spec.name):
            raise ValueError(f"{path!r} is not a staged batch of table {spec.name!r} under {self.root}")
        schema = relaxed_schema(spec)
        with self.storage.fs.open(self.storage.to_path(path), "rb") as handle:
            staged = pq.read_table(handle, schema=schema)
        return to_pandas(schema, staged)

    def is_staged(self, path: str) -> bool:
        """Whether a batch :meth:`stage` returned is still there (a publish that ran already removed it)."""
        return self.storage.is_under(path, STAGING_DIR) and self.storage.fs.exists(self.storage.to_path(path))

    def discard_staged(self, paths: Iterable[str]) -> int:
        """Delete staged batches once published (and their emptied folders); returns how many were there."""
        removed = 0
        for path in paths:
            if not self.storage.is_under(path, STAGING_DIR):
                raise ValueError(f"{path!r} is not a staged batch under {self.root}")
            local = self.storage.to_path(path)
            if self.storage.fs.exists(local):
                self.storage.remove(local)
                removed += 1
            self.storage.remove_empty_folder(posixpath.dirname(local))
        return removed

    def quarantine(self, table: str, data: Batch, interval: Interval, run_id: str, report: dict) -> str:
        """Keep a rejected batch and its validation report; returns the folder's path/URL.

        The data is stored in the table's types when it fits them, otherwise as
        close to raw as possible (file metadata ``newsmarkets.conformed``): a
        quarantine must never lose the evidence.
        """
        spec = table_spec(table)
        folder = self.storage.path(QUARANTINE_DIR, spec.name, interval.key, safe_name(run_id))
        evidence, conformed = _as_evidence(spec, data)
        metadata = {**file_schema(spec, interval=interval.key).metadata, b"newsmarkets.conformed": str(conformed).lower()}
        self._write_parquet(posixpath.join(folder, "data.parquet"), evidence, evidence.schema.with_metadata(metadata))
        text = json.dumps(_jsonable(report), default=_json_default, indent=2, sort_keys=True, allow_nan=False)
        self.storage.write_atomic(posixpath.join(folder, "validation.json"), lambda sink: sink.write(text.encode("utf-8")))
        return self.storage.url(folder)
