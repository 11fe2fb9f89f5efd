"""Delta Lake specifics the :class:`~newsmarkets.warehouse.writer.Warehouse` builds on (delta-rs, ``deltalake``).

What lives here: the Delta schema of a table (its columns plus
``interval_key``, the run interval whose slice holds the row), the storage
options delta-rs needs for S3 and S3-compatible stores, the one MERGE every
publish is, the metadata each commit records (which interval, which Airflow
task), how a commit from ``history()`` reads, and bounded backoff for commit
conflicts.

A publish is one ``MERGE`` on ``(dt, key)``: the interval's own rows are
updated, new keys inserted, keys another interval holds left alone (first
writer wins), and the interval's earlier rows the batch no longer has deleted
(they ride in the merge source flagged ``_delete``, so the merge reads only
the partitions it touches). delta-rs checks the commit against commits that
landed since the read: a concurrent writer adding files to a partition the
merge read makes it fail with ``CommitFailedError``, and the caller retries
from a fresh snapshot, so colliding keys end as in a sequential run.

Two traps measured with deltalake 1.6.6 (issue 22): reading through
``to_pyarrow_table()``/``to_pandas()`` can abort the interpreter at exit, so
reads go through ``DeltaTable.file_uris`` and pyarrow; and a process that
touched a table must not fork without exec (use ``spawn``).
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Iterable
from datetime import datetime, timezone

import pandas as pd
import pyarrow as pa

from newsmarkets.intervals import Interval
from newsmarkets.warehouse.conform import SchemaError
from newsmarkets.warehouse.schemas import TableSpec
from newsmarkets.warehouse.storage import safe_name

__all__ = ["CommitConflictError", "PlanConflictError", "OWNER_COLUMN", "VACUUM_RETENTION_HOURS"]

OWNER_COLUMN = "interval_key"
DELETE_FLAG = "_delete"  # merge-source flag: the interval's earlier row to remove
FLAGS_ONLY = "_flags_only"  # merge-source flag: another interval's row whose planned columns change
COMMIT_ATTEMPTS = 12
BACKOFF_FIRST_S = 0.05
BACKOFF_MAX_S = 2.0
# Opening a table reads the last checkpoint and the commits after it (one object each on S3).
CHECKPOINT_INTERVAL = "20"
# Files a commit removed stay this long before vacuum deletes them, so a
# reader holding an older snapshot (a BI connection on an older catalog) keeps answering.
VACUUM_RETENTION_HOURS = 7 * 24
# Up to this many partitions a merge names each one; beyond, a range (either lets delta-rs skip the rest).
MAX_LISTED_PARTITIONS = 20


class CommitConflictError(RuntimeError):
    """A commit kept conflicting with concurrent writers; the task fails and Airflow retries it."""


class PlanConflictError(RuntimeError):
    """A planned write's version changed under it: plan again from a fresh :meth:`Warehouse.pinned` view."""


def delta_storage_options(options: dict) -> dict[str, str]:
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


def table_properties(spec: TableSpec) -> dict[str, str]:
    """Properties every table gets: a checkpoint every :data:`CHECKPOINT_INTERVAL` commits, and file
    statistics only for columns something prunes on (the key, the time ``dt`` derives from, the owner).
    Statistics of every column (article bodies included) made a year of ``articles``' log 19 MB and
    opening it 17 ms; with these, 3 MB and 8 ms (bench/bench_warehouse_history.py)."""
    stats = [c for c in dict.fromkeys([*spec.key, spec.dt_from, OWNER_COLUMN]) if c != spec.partition_by]
    return {"delta.checkpointInterval": CHECKPOINT_INTERVAL, "delta.dataSkippingStatsColumns": ",".join(stats)}


def owner_key(interval: Interval, file_tag: str | None = None) -> str:
    """What ``interval_key`` holds for an interval's rows (plus a tag: one interval's independent slices)."""
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


def backoff(attempt: int) -> None:
    """Sleep before retry ``attempt`` of a conflicting commit: exponential, capped, jittered."""
    delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * (2 ** attempt))
    time.sleep(delay * (0.5 + random.random()))


# -- the MERGE ------------------------------------------------------------------


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def flagged(rows: pa.Table, owner: str, delete: bool) -> pa.Table:
    """Merge-source rows of ``owner``: to upsert, or (``delete``) to remove."""
    n = rows.num_rows
    return rows.append_column(pa.field(OWNER_COLUMN, pa.string(), nullable=False), pa.array([owner] * n, pa.string())) \
               .append_column(DELETE_FLAG, pa.array([delete] * n, pa.bool_()))


def flag_rows(spec: TableSpec, updates: pd.DataFrame, columns: list[str]) -> pa.Table:
    """Merge-source rows that only carry new values of ``columns`` for other intervals' rows."""
    place = [spec.partition_by, *spec.key]
    missing = [c for c in [*place, OWNER_COLUMN, *columns] if c not in updates.columns]
    if missing:
        raise SchemaError(f"table {spec.name!r}: planned updates lack column(s) {', '.join(missing)}")
    full = delta_schema(spec)
    n = len(updates)
    arrays = [pa.array(updates[f.name].tolist(), f.type) if f.name in (*place, OWNER_COLUMN, *columns)
              else pa.nulls(n, f.type) for f in full]
    rows = pa.Table.from_arrays(arrays, schema=pa.schema([f.with_nullable(True) for f in full]))
    return rows.append_column(DELETE_FLAG, pa.array([False] * n, pa.bool_())) \
               .append_column(FLAGS_ONLY, pa.array([True] * n, pa.bool_()))


def same_rows(spec: TableSpec, rows: pa.Table, previous: pa.Table) -> bool:
    if rows.num_rows != previous.num_rows:
        return False
    order = [(c, "ascending") for c in (spec.partition_by, *spec.key)]
    return rows.cast(spec.schema).sort_by(order).equals(previous.cast(spec.schema).sort_by(order))


def merge(spec: TableSpec, target, source: pa.Table, metadata: dict[str, str], *,
          flag_columns: list[str] | None = None, read_partitions: Iterable[str] = ()) -> dict:
    """One MERGE of ``source`` (rows from :func:`flagged`, plus :func:`flag_rows` when ``flag_columns``)
    into ``target``; returns delta-rs's metrics, raises ``CommitFailedError`` on a conflict."""
    from deltalake import CommitProperties, WriterProperties

    on = " AND ".join(f"t.{c} = s.{c}" for c in (spec.partition_by, *spec.key))
    # Literal partition values let delta-rs skip every other partition's files (without them a
    # merge scanned the whole table) and scope its conflict check to these partitions; a planned
    # write adds the partitions its plan read, so a commit there since makes it conflict.
    read_partitions = [str(d) for d in read_partitions]
    days = sorted(set(source.column(spec.partition_by).to_pylist()) | set(read_partitions))
    if len(days) <= MAX_LISTED_PARTITIONS:
        on = f"t.{spec.partition_by} IN ({', '.join(_sql_text(d) for d in days)}) AND {on}"
    else:
        on = f"t.{spec.partition_by} >= {_sql_text(days[0])} AND t.{spec.partition_by} <= {_sql_text(days[-1])} AND {on}"
    columns = delta_schema(spec).names
    same_owner = f"t.{OWNER_COLUMN} = s.{OWNER_COLUMN}"
    own = "" if flag_columns is None else f" AND NOT s.{FLAGS_ONLY}"
    # Streamed, never materialised: a materialised source publishes 20-40 % faster (delta-rs prunes by its
    # key range), but its conflict check then compares that range with file statistics, which delta-rs
    # 1.6.6 rounds to the millisecond for timestamps: two writers of one key at 10:00:00.000700 both
    # committed. Streamed, the check covers the whole partitions named above (a planned write relies on that).
    builder = target.merge(source, on, source_alias="s", target_alias="t", streamed_exec=True,
                           writer_properties=WriterProperties(compression="ZSTD"),
                           commit_properties=CommitProperties(custom_metadata=metadata))
    if flag_columns is not None:
        builder = builder.when_matched_update(updates={c: f"s.{c}" for c in flag_columns},
                                              predicate=f"{same_owner} AND s.{FLAGS_ONLY}")
    return (
        builder.when_matched_update(updates={c: f"s.{c}" for c in columns},
                                    predicate=f"{same_owner} AND NOT s.{DELETE_FLAG}{own}")
        .when_matched_delete(predicate=f"{same_owner} AND s.{DELETE_FLAG}")
        .when_not_matched_insert(updates={c: f"s.{c}" for c in columns}, predicate=f"NOT s.{DELETE_FLAG}{own}")
        .execute()
    )


def committed_version(target, write_id: str) -> int | None:
    """The version a commit carrying ``write_id`` landed as (``target.version()`` is unreliable after
    delta-rs rebased the commit over concurrent ones). Newest commits first, a few at a time: each
    is one object to read."""
    target.update_incremental()
    for limit in (4, 32, 256):
        for commit in target.history(limit=limit):
            if commit.get("newsmarkets.write_id") == write_id:
                return int(commit["version"])
    return None


# -- history ----------------------------------------------------------------------


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


def total_size(stats) -> int:
    """``totalSize`` of OPTIMIZE's file statistics (a JSON text in deltalake 1.6)."""
    if isinstance(stats, str):
        stats = json.loads(stats)
    return int((stats or {}).get("totalSize", 0))
