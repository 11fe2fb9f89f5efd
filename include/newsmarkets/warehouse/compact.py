"""Compaction: a closed partition's many interval files become one, and reruns stay exact.

A compacted partition looks like this::

    <table>/dt=D/compacted.parquet        # the rows of many interval files ("pieces")
    <table>/dt=D/.compacted-<file stem>   # one empty marker per piece (dot name: no reader sees it)
    <table>/dt=D/part-<interval>.parquet  # intervals written after the compaction, if any

``compacted.parquet`` keeps each source file's rows contiguous and lists them
in its key-value metadata (``newsmarkets.compacted_from``), in row order::

    [{"file": "part-<key>[-tag].parquet", "rows": 24, "write_id": "...", "supersedes": [...]}, ...]

so the file still knows which interval owns which rows. When an interval is
written again, the writer *folds* its new rows into the compacted file (one
atomic replace of that file: the old piece out, the new rows in as the same
piece) instead of writing ``part-<interval>.parquet`` next to it; an empty
rerun takes the piece out. The markers let the writer find, with one listing
like the one it already does for its own files, every partition whose
compacted file holds a piece of its interval (rows may move between dts).

Crash safety (readers are ``Warehouse.read`` and DuckDB views over
``*/*.parquet`` globs, and take no lock):

* Local roots: the compacted partition is built complete in
  ``_staging/_compact/<table>/<uuid>/dt=D/`` and swapped with the live
  partition directory in one ``renameat2(RENAME_EXCHANGE)``. Killed before the
  swap: the live directory is untouched; after it: the new directory is live and
  the old one waits in ``_staging`` (swept later). Readers see the old file set
  or the new one, never a mix (a reader that listed the old set gets
  ``FileNotFoundError`` and lists again: ``Warehouse.read`` retries).
* Object stores (no multi-object atomicity exists): markers first, then the
  compacted file, then the source files are deleted. A kill after the compacted
  file and before the deletes leaves rows visible twice until the next write
  or compaction of that partition, which deletes every source file whose
  ``write_id`` the compacted file records (``heal``). Rows are never lost.
  The same fallback is used on a local filesystem without RENAME_EXCHANGE.
* A fold is a single-file atomic replace everywhere.

Every step runs under the writer's per-table lock (local roots), so writers
and compaction never interleave.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import logging
import os
import posixpath
import shutil
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any, Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from newsmarkets.warehouse.conform import file_schema
from newsmarkets.warehouse.schemas import TABLES, TableSpec, table_spec
from newsmarkets.warehouse.storage import STALE_TEMP_AGE_S, TEMP_PREFIX, Storage

log = logging.getLogger("newsmarkets.warehouse.compact")

COMPACTED_FILE = "compacted.parquet"
MARKER_PREFIX = ".compacted-"
PIECES_KEY = b"newsmarkets.compacted_from"
WRITE_ID_KEY = b"newsmarkets.write_id"
COMPACT_STAGING = ("_staging", "_compact")


class CompactionError(RuntimeError):
    """A partition cannot be compacted as it is; the message names it and why."""


@dataclass(frozen=True)
class Piece:
    """The rows of one source file inside a compacted file."""

    file: str  # the interval file's name, part-<key>[-tag].parquet
    rows: int
    write_id: str  # the write that produced these rows
    supersedes: tuple[str, ...] = ()  # write ids of files this piece replaced (healing leftovers)

    def matches(self, fingerprint: str) -> bool:
        return fingerprint == self.write_id or fingerprint in self.supersedes


@dataclass
class PartitionState:
    """A partition directory as the writer sees it: files, and the compacted file's pieces."""

    directory: str
    files: list[str]  # every *.parquet path, compacted file included
    compacted: str | None = None
    pieces: list[Piece] = field(default_factory=list)

    def piece(self, name: str) -> Piece | None:
        return next((p for p in self.pieces if p.file == name), None)

    def path_of(self, name: str) -> str | None:
        path = posixpath.join(self.directory, name)
        return path if path in self.files else None

    @property
    def parts(self) -> list[str]:
        return [f for f in self.files if f != self.compacted]


def marker_name(file_name: str) -> str:
    stem = file_name[: -len(".parquet")] if file_name.endswith(".parquet") else file_name
    return f"{MARKER_PREFIX}{stem}"


def _pieces_from_metadata(metadata: dict | None, where: str) -> list[Piece]:
    raw = (metadata or {}).get(PIECES_KEY)
    if raw is None:
        raise CompactionError(f"{where}: a compacted file without {PIECES_KEY.decode()} metadata")
    try:
        return [Piece(d["file"], int(d["rows"]), d["write_id"], tuple(d.get("supersedes", ())))
                for d in json.loads(raw)]
    except (ValueError, KeyError, TypeError) as exc:
        raise CompactionError(f"{where}: unreadable {PIECES_KEY.decode()} metadata ({exc})") from None


def read_pieces(storage: Storage, path: str) -> list[Piece]:
    schema = pq.read_schema(path, filesystem=storage.arrow_fs)
    return _pieces_from_metadata(schema.metadata, storage.url(path))


def read_parquet(storage: Storage, path: str, schema: pa.Schema | None = None) -> pa.Table:
    """A data file's columns of ``schema`` (all columns without one); a nullable column the schema
    gained after the file was written reads as nulls."""
    if schema is None:
        return pq.read_table(path, filesystem=storage.arrow_fs)
    have = set(pq.read_schema(path, filesystem=storage.arrow_fs).names)
    missing = [f for f in schema if f.name not in have]
    required = [f.name for f in missing if not f.nullable]
    if required:
        raise CompactionError(f"{storage.url(path)}: column(s) {', '.join(required)} missing from the file")
    table = pq.read_table(path, columns=[n for n in schema.names if n in have], filesystem=storage.arrow_fs)
    for f in missing:
        table = table.append_column(f, pa.nulls(table.num_rows, f.type))
    return table.select(schema.names)


def read_compacted(storage: Storage, path: str, schema: pa.Schema | None = None) -> tuple[pa.Table, list[Piece]]:
    table = read_parquet(storage, path, schema)
    pieces = _pieces_from_metadata(pq.read_schema(path, filesystem=storage.arrow_fs).metadata, storage.url(path))
    if sum(p.rows for p in pieces) != table.num_rows:
        raise CompactionError(f"{storage.url(path)}: pieces list {sum(p.rows for p in pieces)} rows, the file holds {table.num_rows}")
    return table, pieces


def ranges(pieces: list[Piece]) -> dict[str, tuple[int, int]]:
    out, start = {}, 0
    for p in pieces:
        out[p.file] = (start, start + p.rows)
        start += p.rows
    return out


def without(table: pa.Table, pieces: list[Piece], name: str) -> tuple[pa.Table, list[Piece]]:
    """``table`` minus the rows of piece ``name`` (unchanged when there is no such piece)."""
    span = ranges(pieces).get(name)
    if span is None:
        return table, pieces
    start, stop = span
    kept = pa.concat_tables([table.slice(0, start), table.slice(stop)])
    return kept, [p for p in pieces if p.file != name]


def fingerprint(storage: Storage, path: str) -> str:
    """The write id a file carries, or (files from before write ids) a hash of its bytes."""
    metadata = pq.read_schema(path, filesystem=storage.arrow_fs).metadata or {}
    if WRITE_ID_KEY in metadata:
        return metadata[WRITE_ID_KEY].decode()
    with storage.fs.open(path, "rb") as handle:
        return "sha256:" + hashlib.sha256(handle.read()).hexdigest()


def content_id(rows: pa.Table) -> str:
    """A write id that is a hash of the rows: rewriting the same rows gives byte-identical files."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, rows.schema.remove_metadata()) as stream:
        stream.write_table(rows)
    return hashlib.sha256(sink.getvalue()).hexdigest()[:32]


def compacted_schema(spec: TableSpec, pieces: list[Piece]) -> pa.Schema:
    text = json.dumps([asdict(p) for p in pieces], separators=(",", ":"))
    return file_schema(spec, interval="compacted", compacted_from=text)


def load_partition(storage: Storage, directory: str, *, heal: bool = True) -> PartitionState:
    """The partition's files and pieces; with ``heal`` (lock held), leftovers of a killed fallback compaction go."""
    files = storage.glob(posixpath.join(directory, "*.parquet"))
    state = PartitionState(directory=directory, files=files)
    compacted = posixpath.join(directory, COMPACTED_FILE)
    if compacted in files:
        state.compacted = compacted
        state.pieces = read_pieces(storage, compacted)
    if heal and state.pieces:
        for path in state.parts:
            piece = state.piece(posixpath.basename(path))
            if piece is not None and piece.matches(fingerprint(storage, path)):
                # The compacted file already holds exactly these rows: the file is a leftover.
                log.warning("removing %s: its rows are already piece %s of %s", path, piece.file, compacted)
                storage.remove(path)
                state.files.remove(path)
    return state


def write_marker(storage: Storage, directory: str, file_name: str) -> None:
    storage.write_atomic(posixpath.join(directory, marker_name(file_name)), lambda sink: None)


def remove_marker(storage: Storage, directory: str, file_name: str) -> None:
    path = posixpath.join(directory, marker_name(file_name))
    try:
        storage.remove(path)
    except FileNotFoundError:
        pass


def fold(wh: Any, spec: TableSpec, state: PartitionState, name: str, rows: pa.Table, schema: pa.Schema) -> str | None:
    """Replace piece ``name`` of the compacted file with ``rows`` (none: take it out); one atomic replace.

    ``schema`` is the interval file's schema (its ``write_id`` becomes the
    piece's). Returns the compacted file's path, or None if it had to go
    (no piece left). The caller holds the table lock.
    """
    storage = wh.storage
    old = state.piece(name)
    table, pieces = read_compacted(storage, state.compacted, file_schema(spec))
    table, pieces = without(table, pieces, name)
    stray = state.path_of(name)  # only after a killed object-store compaction or a racing writer
    supersedes = tuple(dict.fromkeys(
        ([old.write_id, *old.supersedes] if old else []) + ([fingerprint(storage, stray)] if stray else [])
    ))
    target = file_schema(spec)
    if rows.num_rows:
        write_id = (schema.metadata or {}).get(WRITE_ID_KEY, uuid.uuid4().hex.encode()).decode()
        # Without the new id itself: the same rerun twice writes the same bytes.
        pieces.append(Piece(name, rows.num_rows, write_id, tuple(w for w in supersedes if w != write_id)))
        table = pa.concat_tables([table.select(target.names).cast(target), rows.select(target.names).cast(target)])
        write_marker(storage, state.directory, name)  # markers are a superset of pieces: first
    if pieces:
        wh._write_parquet(state.compacted, table, compacted_schema(spec, pieces))
        result = state.compacted
    else:
        storage.remove(state.compacted)
        state.files.remove(state.compacted)
        result = state.compacted = None
    if stray:
        storage.remove(stray)
        state.files.remove(stray)
    if not rows.num_rows:
        remove_marker(storage, state.directory, name)
    state.pieces = pieces
    return result


# -- compaction --------------------------------------------------------------------------

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def exchange_dirs(a: str, b: str) -> None:
    """Swap two directories atomically (Linux ``renameat2(RENAME_EXCHANGE)``); OSError if unsupported."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available in this C library")
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), a, None, b)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _staging_root(storage: Storage, spec: TableSpec) -> str:
    return storage.path(*COMPACT_STAGING, spec.name)


def sweep_compaction_leftovers(storage: Storage, spec: TableSpec, max_age_s: float = STALE_TEMP_AGE_S) -> list[str]:
    """Remove staging folders of killed or finished compactions once they are old (young ones may be live)."""
    root = _staging_root(storage, spec)
    if not storage.is_local or not os.path.isdir(root):
        return []
    removed, cutoff = [], time.time() - max_age_s
    for entry in os.scandir(root):
        if entry.is_dir(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < cutoff:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.path)
    return removed


@dataclass
class PartitionCompaction:
    table: str
    dt: str
    files_before: int
    files_after: int
    rows: int
    bytes_before: int
    bytes_after: int
    atomic_swap: bool
    seconds: float


def _publish_swapped(wh: Any, spec: TableSpec, state: PartitionState, table: pa.Table, pieces: list[Piece]) -> bool:
    """Build the new partition folder beside the live one and exchange them; False if the OS cannot."""
    storage = wh.storage
    job = posixpath.join(_staging_root(storage, spec), uuid.uuid4().hex)
    staged = posixpath.join(job, posixpath.basename(state.directory))
    os.makedirs(staged)
    try:
        wh._write_parquet(posixpath.join(staged, COMPACTED_FILE), table, compacted_schema(spec, pieces))
        for piece in pieces:
            with open(posixpath.join(staged, marker_name(piece.file)), "wb"):
                pass
        for entry in os.scandir(state.directory):
            # Anything that is not ours to fold (a file someone put there) moves along unchanged.
            if entry.name.endswith(".parquet") or entry.name.startswith((TEMP_PREFIX, MARKER_PREFIX)):
                continue
            if not entry.is_file(follow_symlinks=False):
                raise CompactionError(f"{storage.url(state.directory)}: unexpected entry {entry.name!r} in a partition folder")
            os.link(entry.path, posixpath.join(staged, entry.name))
        _fsync_dir(staged)
        try:
            exchange_dirs(staged, state.directory)
        except OSError as exc:
            if exc.errno in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EXDEV):
                log.warning("atomic directory exchange unavailable (%s); compacting %s with the ordered fallback",
                            exc, state.directory)
                return False
            raise
        _fsync_dir(posixpath.dirname(state.directory))
        _fsync_dir(job)
    finally:
        shutil.rmtree(job, ignore_errors=True)  # after the swap: the old partition folder
    return True


def _publish_ordered(wh: Any, spec: TableSpec, state: PartitionState, table: pa.Table, pieces: list[Piece]) -> None:
    """Object stores: markers, then the compacted file, then the sources go (a kill leaves healable duplicates)."""
    storage = wh.storage
    for piece in pieces:
        write_marker(storage, state.directory, piece.file)
    wh._write_parquet(posixpath.join(state.directory, COMPACTED_FILE), table, compacted_schema(spec, pieces))
    for path in state.parts:
        storage.remove(path)


def compact_partition(wh: Any, table: str, dt: str, *, allow_swap: bool = True) -> PartitionCompaction | None:
    """Fold every interval file of ``table``'s partition ``dt`` into its compacted file; None if nothing to do."""
    spec = table_spec(table)
    storage = wh.storage
    directory = storage.path(spec.name, f"{spec.partition_by}={dt}")
    started = time.perf_counter()
    with storage.lock(spec.name):
        storage.sweep_temps(directory)
        state = load_partition(storage, directory)
        parts = state.parts
        if not parts or (state.compacted is None and len(parts) < 2):
            return None
        target = file_schema(spec)
        tables, pieces = [], []
        bytes_before = sum(storage.fs.size(f) for f in state.files)
        if state.compacted:
            existing, pieces = read_compacted(storage, state.compacted, target)
            tables.append(existing.select(target.names).cast(target))
        for path in sorted(parts):
            name = posixpath.basename(path)
            if any(p.file == name for p in pieces):
                # load_partition healed identical leftovers; a different one means a racing writer (object stores)
                raise CompactionError(f"{storage.url(path)}: the compacted file also holds a different version of "
                                      "this interval; write the interval again to settle it")
            data = read_parquet(storage, path, target)
            tables.append(data.cast(target))
            pieces.append(Piece(name, data.num_rows, fingerprint(storage, path)))
        merged = pa.concat_tables(tables)
        if merged.num_rows != sum(p.rows for p in pieces):
            raise CompactionError(f"{storage.url(directory)}: merged {merged.num_rows} rows, sources hold {sum(p.rows for p in pieces)}")
        swapped = False
        if storage.is_local and allow_swap:
            swapped = _publish_swapped(wh, spec, state, merged, pieces)
        if not swapped:
            _publish_ordered(wh, spec, state, merged, pieces)
        after = storage.glob(posixpath.join(directory, "*.parquet"))
        return PartitionCompaction(
            table=spec.name, dt=dt, files_before=len(state.files), files_after=len(after), rows=merged.num_rows,
            bytes_before=bytes_before, bytes_after=sum(storage.fs.size(f) for f in after),
            atomic_swap=swapped, seconds=round(time.perf_counter() - started, 3),
        )


def closed_before(interval_start: date, compact_after_days: int) -> str:
    """The last dt that counts as closed for a run whose interval starts on ``interval_start``."""
    if isinstance(compact_after_days, bool) or not isinstance(compact_after_days, int) or compact_after_days < 1:
        raise ValueError(f"compact_after_days must be an integer >= 1 (the run's own day is never closed), got {compact_after_days!r}")
    return (interval_start - timedelta(days=compact_after_days)).isoformat()


def partitions_to_compact(wh: Any, table: str, last_closed_dt: str) -> list[str]:
    """Closed partitions of ``table`` that hold more than one file (one listing, no file reads)."""
    spec = table_spec(table)
    counts: dict[str, list[str]] = {}
    prefix = f"{spec.partition_by}="
    for path in wh.storage.glob(wh.storage.path(spec.name, f"{prefix}*", "*.parquet")):
        dt = posixpath.basename(posixpath.dirname(path))[len(prefix):]
        counts.setdefault(dt, []).append(posixpath.basename(path))
    return sorted(dt for dt, names in counts.items() if dt <= last_closed_dt and len(names) > 1)


def compact_closed(wh: Any, last_closed_dt: str, tables: Iterable[str] | None = None) -> dict:
    """Compact every closed partition of ``tables`` (default: all); small JSON-safe totals per table."""
    summary: dict[str, dict] = {}
    for name in tables if tables is not None else sorted(TABLES):
        spec = table_spec(name)
        sweep_compaction_leftovers(wh.storage, spec)
        done = [c for c in (compact_partition(wh, name, dt) for dt in partitions_to_compact(wh, name, last_closed_dt)) if c]
        summary[name] = {
            "partitions": len(done),
            "files_before": sum(c.files_before for c in done),
            "files_after": sum(c.files_after for c in done),
            "rows": sum(c.rows for c in done),
            "bytes_before": sum(c.bytes_before for c in done),
            "bytes_after": sum(c.bytes_after for c in done),
            "seconds": round(sum(c.seconds for c in done), 3),
            "atomic_swap": all(c.atomic_swap for c in done) if done else None,
        }
    return summary
