"""Undo and repair for Delta tables: restore an earlier version, and find damaged data files.

``newsmarkets table history|restore|check`` and the catalog's refresh call
these. Restoring is Delta's own ``RESTORE`` (a new commit whose files are an
older version's), so it is itself in the history and can be undone the same
way. A version is restorable while its files are still there: vacuum removes
replaced files after :data:`~newsmarkets.warehouse.delta.VACUUM_RETENTION_HOURS`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq

from newsmarkets.warehouse.delta import COMMIT_ATTEMPTS, CommitConflictError, backoff, commit_metadata
from newsmarkets.warehouse.schemas import table_spec
from newsmarkets.warehouse.writer import Warehouse

log = logging.getLogger(__name__)

# How many older versions a check opens looking for the last good one (each is a log read).
LOOK_BACK_VERSIONS = 200


class TableVersionError(ValueError):
    """A restore or check asked for a table or version that is not there; the message says what is."""


def _opened(wh: Warehouse, table: str):
    try:
        spec = table_spec(table)
    except KeyError as exc:
        raise TableVersionError(exc.args[0]) from None
    opened = wh.delta_table(spec.name)
    if opened is None:
        raise TableVersionError(f"table {spec.name!r} does not exist yet at {wh.table_url(spec.name)}")
    return opened


def history_rows(wh: Warehouse, table: str, limit: int | None = None) -> list[dict]:
    """The table's commits, newest first (see :func:`~newsmarkets.warehouse.delta.history_entry`)."""
    if limit is not None and limit < 1:
        raise TableVersionError(f"--limit must be at least 1, got {limit}")
    _opened(wh, table)
    return wh.table_history(table, limit)


def render_history(table: str, rows: list[dict]) -> str:
    """The history as a fixed-width text table (what ``newsmarkets table history`` prints)."""
    def num(value) -> str:
        return "-" if value is None else f"{value:,}"

    lines = [f"table {table}: {len(rows)} commit(s), newest first",
             f"{'version':>7}  {'committed at (UTC)':<19}  {'operation':<12} {'+rows':>8} {'~rows':>8} {'-rows':>8} "
             f"{'+files':>6} {'-files':>6}  written by"]
    for r in rows:
        operation = r["operation"] or "-"
        if r.get("restored_version") is not None:
            operation = f"RESTORE {r['restored_version']}"
        who = " ".join(x for x in (r.get("dag_id"), r.get("run_id"), r.get("task_id")) if x) or "-"
        if r.get("interval"):
            who += f" (interval {r['interval']})"
        lines.append(f"{r['version']:>7}  {r['committed_at']:%Y-%m-%d %H:%M:%S}  {operation:<12} "
                     f"{num(r['rows_inserted']):>8} {num(r['rows_updated']):>8} {num(r['rows_deleted']):>8} "
                     f"{num(r['files_added']):>6} {num(r['files_removed']):>6}  {who}")
    return "\n".join(lines)


def version_at(wh: Warehouse, table: str, at: datetime) -> int:
    """The table's version as of UTC time ``at``: the newest commit at or before it."""
    at = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
    history = wh.table_history(table)
    if not history:
        _opened(wh, table)  # names an unknown or missing table
    for entry in history:  # newest first
        if entry["committed_at"] <= at:
            return entry["version"]
    first = history[-1]["committed_at"] if history else None
    raise TableVersionError(f"table {table!r}: no version as of {at.isoformat()}"
                            + (f"; the table was created at {first.isoformat()}" if first else ""))


def restore(wh: Warehouse, table: str, *, version: int | None = None, at: datetime | None = None) -> dict:
    """Make ``table``'s rows those of ``version`` (or of the version current at ``at``) with one new commit.

    Returns ``{"table", "restored_version", "previous_version", "version"}``.
    """
    from deltalake import CommitProperties
    from deltalake.exceptions import CommitFailedError, DeltaError

    if (version is None) == (at is None):
        raise TableVersionError("restore needs exactly one of a version or a timestamp")
    opened = _opened(wh, table)
    if at is not None:
        version = version_at(wh, table, at)
    current = opened.version()
    if not 0 <= version <= current:
        raise TableVersionError(f"table {table!r} has versions 0 to {current}, not {version}")
    for attempt in range(COMMIT_ATTEMPTS):
        before = opened.version()
        try:
            opened.restore(version, commit_properties=CommitProperties(
                custom_metadata=commit_metadata(restored_from=str(before))))
        except CommitFailedError:
            backoff(attempt)
            opened = _opened(wh, table)
            continue
        except DeltaError as exc:
            raise TableVersionError(
                f"table {table!r}: version {version} cannot be restored ({exc}); its files may have been "
                f"vacuumed (replaced files are kept {_retention()}); `newsmarkets table check {table}` "
                "names the last version that is whole") from None
        opened.update_incremental()
        return {"table": table, "restored_version": version, "previous_version": before, "version": opened.version()}
    raise CommitConflictError(f"table {table!r}: restore conflicted with concurrent writers {COMMIT_ATTEMPTS} times")


def _retention() -> str:
    from newsmarkets.warehouse.delta import VACUUM_RETENTION_HOURS

    return f"{VACUUM_RETENTION_HOURS} hours"


@dataclass
class BadFile:
    """A data file the table's version lists that cannot be read (missing, truncated, not Parquet)."""

    partition: str | None
    path: str
    problem: str


@dataclass
class TableCheck:
    table: str
    version: int | None
    files_checked: int = 0
    bad_files: list[BadFile] = field(default_factory=list)
    last_good_version: int | None = None  # newest earlier version whose files all read; None if none within reach

    @property
    def is_healthy(self) -> bool:
        return not self.bad_files

    def describe(self) -> str:
        if self.version is None:
            return f"table {self.table}: not created yet"
        if self.is_healthy:
            return f"table {self.table}: version {self.version}, {self.files_checked} data files, all readable"
        lines = [f"table {self.table}: version {self.version} has {len(self.bad_files)} unreadable data file(s) "
                 f"of {self.files_checked}:"]
        lines += [f"  partition {b.partition or '-'}: {b.path}: {b.problem}" for b in self.bad_files]
        if self.last_good_version is not None:
            lines.append(f"  last good version: {self.last_good_version}; repair with "
                         f"`newsmarkets table restore {self.table} --version {self.last_good_version}`")
        else:
            lines.append(f"  no earlier version within {LOOK_BACK_VERSIONS} has all its files; rerun the runs that "
                         "wrote the damaged partitions after removing them")
        return "\n".join(lines)


def _file_problem(wh: Warehouse, path: str, size: int | None, cache: dict[str, str | None]) -> str | None:
    """Why the data file at ``path`` cannot be read, or None. Footer only: cheap, and it is what truncation breaks."""
    if path in cache:
        return cache[path]
    problem = None
    try:
        actual = wh.storage.fs.size(path)
        if size is not None and actual != size:
            problem = f"{actual:,} bytes on storage, the log recorded {size:,} (truncated or overwritten)"
        else:
            with wh.storage.fs.open(path, "rb") as handle:
                pq.ParquetFile(handle).metadata  # noqa: B018 - reading the footer is the check
    except FileNotFoundError:
        problem = "missing from storage"
    except (OSError, pa.ArrowException) as exc:
        problem = f"not a readable Parquet file ({exc})"
    cache[path] = problem
    return problem


def _bad_files(wh: Warehouse, table: str, opened, cache: dict[str, str | None]) -> tuple[int, list[BadFile]]:
    actions = pa.table(opened.get_add_actions(flatten=True))
    partitions = actions.column("partition.dt").to_pylist() if "partition.dt" in actions.column_names \
        else [None] * actions.num_rows
    bad = []
    for rel, size, partition in zip(actions.column("path").to_pylist(), actions.column("size_bytes").to_pylist(),
                                    partitions):
        path = rel if "://" in rel or rel.startswith("/") else wh.storage.path(table, unquote(rel))
        problem = _file_problem(wh, wh.storage.to_path(path), size, cache)
        if problem:
            bad.append(BadFile(partition, wh.storage.url(wh.storage.to_path(path)), problem))
    return actions.num_rows, bad


def check_table(wh: Warehouse, table: str) -> TableCheck:
    """Read every data file footer of ``table``'s current version; on damage, find the last whole version."""
    from deltalake import DeltaTable

    spec = table_spec(table)
    opened = wh.delta_table(spec.name)
    if opened is None:
        return TableCheck(spec.name, None)
    cache: dict[str, str | None] = {}
    result = TableCheck(spec.name, opened.version())
    result.files_checked, result.bad_files = _bad_files(wh, spec.name, opened, cache)
    if result.bad_files:
        oldest = max(0, result.version - LOOK_BACK_VERSIONS)
        for version in range(result.version - 1, oldest - 1, -1):
            try:
                older = DeltaTable(wh.table_url(spec.name), version=version,
                                   storage_options=wh.delta_storage_options or None)
            except Exception as exc:  # noqa: BLE001 - log entries past retention: no older version to offer
                log.info("table %s: version %s cannot be opened (%s)", spec.name, version, exc)
                break
            if not _bad_files(wh, spec.name, older, cache)[1]:
                result.last_good_version = version
                break
    return result
