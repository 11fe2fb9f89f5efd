"""The one warehouse API every table goes through: :class:`Warehouse`, Delta Lake tables underneath.

Its public surface is all that code outside ``warehouse/`` may use; file
names, partitions, the transaction log and compaction stay behind it:

* reading: :meth:`~Warehouse.read` (partition and column pruning),
  :meth:`~Warehouse.read_interval` (one run interval's slice),
  :meth:`~Warehouse.read_owned` (rows with the interval whose slice holds
  them), :meth:`~Warehouse.read_other_intervals`, :meth:`~Warehouse.partitions`;
* publishing a run's slice of one table: :meth:`~Warehouse.write` (with
  ``refreshed`` for a run that re-fetched only part of its interval), and
  :meth:`~Warehouse.write_planned` on a :meth:`~Warehouse.pinned` view when
  the batch was planned against what other intervals hold;
* the quality gate's hand-offs: :meth:`~Warehouse.stage`,
  :meth:`~Warehouse.load_staged`, :meth:`~Warehouse.is_staged`,
  :meth:`~Warehouse.discard_staged`, :meth:`~Warehouse.quarantine` (plain
  files, see :mod:`newsmarkets.warehouse.staging`); raw pages and the news
  steps' hand-offs through :mod:`newsmarkets.warehouse.rawstore`;
* tables and maintenance: :meth:`~Warehouse.ensure_tables` (create up front),
  :meth:`~Warehouse.compact_closed`, :meth:`~Warehouse.apply_retention`,
  :meth:`~Warehouse.table_history`, :meth:`~Warehouse.delta_table`, and
  :meth:`~Warehouse.files` / :meth:`~Warehouse.table_url` for the catalog and
  readers outside Python.

Layout: one Delta table per warehouse table at ``<root>/<table>`` (delta-rs),
partitioned by ``dt``, with one extra column ``interval_key``: the run
interval (plus tag) whose slice holds the row. A run owns exactly the rows
of its interval, so rewriting an interval replaces them (idempotent), and
runs for different intervals never touch each other's rows. Readers outside
Python see ``interval_key`` as an ordinary column; the DuckDB catalog's views
leave it out.

Contract of :meth:`Warehouse.write` (one commit, see :func:`~newsmarkets.warehouse.delta.merge`):

* the batch is cast to the table's schema exactly, or :class:`SchemaError`
  names table and column and nothing is written;
* ``dt`` is the UTC date of ``spec.dt_from``, computed here;
* duplicate keys inside the batch are refused; rows whose key another
  interval already holds in the partition are left to it (first writer wins,
  counted in ``duplicates_dropped``), so the table never holds a key twice;
* by default the batch *is* the interval: an empty batch removes the
  interval's rows ("this interval has no rows"). A run that re-fetched only
  part of its interval passes ``refreshed`` (:class:`Refreshed`): the
  interval's published rows whose ``column`` is not among the refreshed
  values are kept as they are, so a source failing during a rerun never
  deletes what was published; refreshed rows missing from the batch are
  removed and counted in ``rows_removed`` (the source said they are gone);
* a rerun that fetched exactly what is published makes no commit;
* a commit that conflicts with a concurrent writer is retried from a fresh
  snapshot with bounded backoff, then :class:`CommitConflictError` fails the
  task (Airflow retries it). Nothing of a failed commit is visible.
"""

from __future__ import annotations

import copy
import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from newsmarkets.intervals import Interval
from newsmarkets.warehouse import delta, legacy_parquet, lineage, staging
from newsmarkets.warehouse.conform import Batch, SchemaError, conform, drop_existing_keys, sort_by_key, to_pandas
from newsmarkets.warehouse.delta import (
    COMMIT_ATTEMPTS,
    OWNER_COLUMN,
    VACUUM_RETENTION_HOURS,
    CommitConflictError,
    PlanConflictError,
    backoff,
    commit_metadata,
    delta_schema,
    history_entry,
    owner_key,
    table_properties,
)
from newsmarkets.warehouse.schemas import TABLES, TableSpec, table_spec
from newsmarkets.warehouse.storage import Storage, storage_options

__all__ = ["Warehouse", "WriteResult", "SchemaError", "Refreshed", "CommitConflictError", "PlanConflictError"]

log = logging.getLogger(__name__)


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
    partitions: list[str] = field(default_factory=list)
    duplicates_dropped: int = 0
    rows_kept: int = 0  # published rows of the interval outside ``refreshed``, carried over unchanged
    rows_removed: int = 0  # published rows inside ``refreshed`` that the new batch no longer has
    table_version: int | None = None  # the table's version after the commit (or as it was: no change)


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


def closed_before(interval_start: date, compact_after_days: int) -> str:
    """The last dt that counts as closed for a run whose interval starts on ``interval_start``."""
    if isinstance(compact_after_days, bool) or not isinstance(compact_after_days, int) or compact_after_days < 1:
        raise ValueError(f"compact_after_days must be an integer >= 1 (the run's own day is never closed), got {compact_after_days!r}")
    return (interval_start - timedelta(days=compact_after_days)).isoformat()


class Warehouse:
    """Delta Lake tables under one root (local path or ``s3://`` URL); see the module docstring."""

    def __init__(self, root: str, storage_options: dict | None = None) -> None:
        self.storage = Storage(root, storage_options)
        self._delta_options = {} if self.storage.is_local else delta.delta_storage_options(storage_options or {})
        self._pins: dict[str, Any] = {}

    @classmethod
    def from_config(cls, cfg) -> "Warehouse":
        """The warehouse a config points at."""
        return cls(cfg.warehouse, storage_options(cfg.warehouse, cfg.warehouse_conn_id))

    def __repr__(self) -> str:
        return f"Warehouse({self.root!r})"

    @property
    def root(self) -> str:
        """Absolute path (local) or URL of the warehouse root."""
        return self.storage.url(self.storage.root)

    def table_url(self, table: str) -> str:
        return self.storage.url(self.storage.path(table_spec(table).name))

    @property
    def delta_storage_options(self) -> dict[str, str]:
        """What ``deltalake.DeltaTable`` needs to open this warehouse's tables (empty on local disk)."""
        return dict(self._delta_options)

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
        """A folder of old-layout Parquet files is not an empty Delta table: creating one there would hide them."""
        if legacy_parquet.data_files(self.storage, spec):
            raise SchemaError(
                f"table {spec.name!r} at {self.table_url(spec.name)} holds Parquet files of the retired file "
                f"layout and no Delta log; convert the warehouse with `newsmarkets warehouse convert --config "
                f"<this config>` (every row and its owning interval are kept)")

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

    def _upgrade_properties(self, spec: TableSpec, table):
        """Give a table created by an older release this release's table properties (one commit, once)."""
        from deltalake import CommitProperties
        from deltalake.exceptions import CommitFailedError, DeltaError

        want = table_properties(spec)
        have = table.metadata().configuration
        if all(have.get(k) == v for k, v in want.items()):
            return table
        try:
            table.alter.set_table_properties(want, raise_if_not_exists=False,
                                             commit_properties=CommitProperties(custom_metadata=commit_metadata()))
        except (CommitFailedError, DeltaError) as exc:
            log.info("table %s: setting %s raced another writer (%s)", spec.name, want, exc)
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
                        backoff(attempt)
                        continue
                return self._upgrade_properties(spec, opened)
            try:
                return DeltaTable.create(self.table_url(spec.name), delta_schema(spec), mode="ignore",
                                         partition_by=[spec.partition_by], name=spec.name,
                                         description=spec.description or None,
                                         configuration=table_properties(spec),
                                         storage_options=self._delta_options or None)
            except CommitFailedError:
                backoff(attempt)  # another process created it meanwhile: open theirs
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

    def pinned(self, table: str) -> "Warehouse":
        """This warehouse with ``table`` held at its current version: every read of it through the returned
        view sees that version, and :meth:`write_planned` commits only if nothing it read changed since."""
        spec = table_spec(table)
        view = copy.copy(self)
        view._pins = {**self._pins, spec.name: self.ensure_table(spec.name)}
        return view

    def _open(self, spec: TableSpec):
        pinned = self._pins.get(spec.name)
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
        if spec.name not in self._pins:
            raise ValueError(f"write_planned({spec.name!r}) needs a view from pinned({spec.name!r})")
        lineage.report(self, spec.name, output=True)
        extra = None
        if updates is not None and len(updates):
            extra = delta.flag_rows(spec, updates, list(columns))
        try:
            return self._write_once(spec, self._open(spec), sort_by_key(conform(spec, data), spec.key),
                                    interval, owner_key(interval), None, extra=extra,
                                    columns=list(columns), read_partitions=read_partitions)
        except CommitFailedError as exc:
            raise PlanConflictError(f"table {spec.name!r}: a concurrent commit changed what the plan read ({exc})") from None

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
        lineage.report(self, spec.name, output=False)
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
        lineage.report(self, spec.name, output=False)
        data_columns = [c for c in columns if c != spec.partition_by]
        names = [*data_columns, spec.partition_by, OWNER_COLUMN]
        rows = self._scan(spec, dts, names)
        out_schema = pa.schema([*(spec.schema.field(c) for c in data_columns), pa.field(spec.partition_by, pa.string()),
                                pa.field(OWNER_COLUMN, pa.string())])
        return to_pandas(out_schema, rows)

    def read_interval(self, table: str, interval: Interval, columns: list[str] | None = None) -> pd.DataFrame:
        spec = table_spec(table)
        lineage.report(self, spec.name, output=False)
        names = list(columns) if columns is not None else spec.data_columns
        own = self._owner_rows(spec, owner_key(interval))
        return to_pandas(pa.schema([spec.schema.field(c) for c in [*names, spec.partition_by]]),
                         own.select([*names, spec.partition_by]))

    def read_other_intervals(self, table: str, interval: Interval, dts: Iterable[str],
                             columns: list[str] | None = None, *, file_tag: str | None = None) -> pd.DataFrame:
        spec = table_spec(table)
        lineage.report(self, spec.name, output=False)
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
        lineage.report(self, spec.name, output=True)
        batch = sort_by_key(conform(spec, data), spec.key)
        owner = owner_key(interval, file_tag)
        for attempt in range(COMMIT_ATTEMPTS):
            try:
                return self._write_once(spec, self.ensure_table(spec.name), batch, interval, owner, refreshed)
            except CommitFailedError as exc:
                log.info("table %s, interval %s: commit conflicted (%s), retrying", spec.name, owner, exc)
                backoff(attempt)
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
        if stale.num_rows == 0 and extra is None and delta.same_rows(spec, rows, previous):
            # A rerun that fetched exactly what is published: no commit, no new version.
            result.rows_written = rows.num_rows
            result.partitions = sorted(set(rows.column(spec.partition_by).to_pylist()))
            result.table_version = target.version()
            return result
        parts = [delta.flagged(rows, owner, False), delta.flagged(stale.cast(spec.schema), owner, True)]
        if extra is not None:
            parts = [t.append_column(delta.FLAGS_ONLY, pa.array([False] * t.num_rows, pa.bool_())) for t in parts] + [extra]
        source = pa.concat_tables(parts, promote_options="permissive")
        write_id = uuid.uuid4().hex
        metrics = delta.merge(spec, target, source, commit_metadata(write_id=write_id, interval=owner),
                              flag_columns=list(columns) if extra is not None else None,
                              read_partitions=read_partitions)
        written = int(metrics.get("num_target_rows_inserted", 0)) + int(metrics.get("num_target_rows_updated", 0))
        result.rows_written = max(written - (extra.num_rows if extra is not None and written else 0), 0)
        result.duplicates_dropped = rows.num_rows - result.rows_written
        result.partitions = sorted(set(rows.column(spec.partition_by).to_pylist())) if result.rows_written else []
        # delta-rs makes no commit when the merge changed nothing (every key held elsewhere). The history
        # is read from the table opened afresh: after delta-rs rebased the commit over concurrent ones, the
        # merged object's history can number its commits one short (two racing writers both reported
        # version 2 on the S3 endpoint while the second had committed version 3).
        committed = delta.committed_version(self._open_newest(spec) or target, write_id)
        result.table_version = committed if committed is not None else target.version()
        return result

    # -- maintenance -------------------------------------------------------------

    def compact_closed(self, interval_day: date, compact_after_days: int,
                       tables: Iterable[str] | None = None) -> tuple[str, dict]:
        """Compact closed partitions with Delta's OPTIMIZE, then vacuum files older than the retention."""
        from deltalake import CommitProperties
        from deltalake.exceptions import CommitFailedError

        last_closed = closed_before(interval_day, compact_after_days)
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
                lineage.report(self, spec.name, output=True)
                try:
                    metrics = target.optimize.compact(partition_filters=[(spec.partition_by, "<=", last_closed)],
                                                      commit_properties=CommitProperties(custom_metadata=commit_metadata()))
                except CommitFailedError:
                    backoff(attempt)
                    continue
                entry["partitions"] = int(metrics.get("partitionsOptimized", 0))
                entry["files_before"] = int(metrics.get("numFilesRemoved", 0))
                entry["files_after"] = int(metrics.get("numFilesAdded", 0))
                entry["bytes_before"] = delta.total_size(metrics.get("filesRemoved"))
                entry["bytes_after"] = delta.total_size(metrics.get("filesAdded"))
                entry["files_vacuumed"] = len(self._open(spec).vacuum(retention_hours=VACUUM_RETENTION_HOURS, dry_run=False,
                                                                enforce_retention_duration=False))
                break
            else:
                raise CommitConflictError(f"table {spec.name!r}: compaction conflicted with concurrent writers {COMMIT_ATTEMPTS} times")
            entry["seconds"] = round(time.perf_counter() - started, 3)
            summary[spec.name] = entry
        return last_closed, summary

    def apply_retention(self, interval_day: date, *, raw_html_days: int, staging_hours: float,
                        quarantine_days: int | None) -> dict:
        """Delete raw HTML, staging leftovers and (if set) quarantine past retention (see ``retention``)."""
        from newsmarkets.warehouse import retention

        return retention.apply_retention(self.storage, interval_day, raw_html_days=raw_html_days,
                                         staging_hours=staging_hours, quarantine_days=quarantine_days)

    def convert_from_parquet(self, progress=lambda text: None) -> dict[str, int]:
        """Turn every table of the retired Parquet-file layout under the root into a Delta table
        (see :func:`newsmarkets.warehouse.legacy_parquet.convert`); returns rows per table."""
        return legacy_parquet.convert(self, progress)

    # -- staging and quarantine (plain files, see :mod:`newsmarkets.warehouse.staging`) ----

    def stage(self, table: str, data: Batch, interval: Interval, run_id: str) -> str:
        """Keep a fetched batch for the quality gate; returns its path/URL.

        Types are enforced (so the gate sees what would be published) but
        nulls and duplicate keys are kept for the gate to report.
        """
        return staging.stage(self.storage, table, data, interval, run_id)

    def load_staged(self, table: str, path: str) -> pd.DataFrame:
        """A staged batch back as a typed frame (every column may hold nulls: ints are ``Int64``)."""
        return staging.load_staged(self.storage, table, path)

    def is_staged(self, path: str) -> bool:
        """Whether a batch :meth:`stage` returned is still there (a publish that ran already removed it)."""
        return staging.is_staged(self.storage, path)

    def discard_staged(self, paths: Iterable[str]) -> int:
        """Delete staged batches once published (and their emptied folders); returns how many were there."""
        return staging.discard_staged(self.storage, paths)

    def quarantine(self, table: str, data: Batch, interval: Interval, run_id: str, report: dict) -> str:
        """Keep a rejected batch and its validation report; returns the folder's path/URL.

        The data is stored in the table's types when it fits them, otherwise as
        close to raw as possible (file metadata ``newsmarkets.conformed``): a
        quarantine must never lose the evidence.
        """
        return staging.quarantine(self.storage, table, data, interval, run_id, report)
