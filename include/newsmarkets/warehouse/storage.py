"""Filesystem helpers for the warehouse: local paths and fsspec URLs alike.

Every file the warehouse publishes goes through :meth:`Storage.write_atomic`,
so a reader sees the previous file or the new one, never part of one. Locally
the bytes go to a hidden temp file in the target's directory (``.tmp-*.partial``:
a dot name that no ``*.parquet`` glob matches), are fsynced and renamed over the
target with ``os.replace``. On object stores the object is uploaded with one PUT,
which becomes visible only once complete, so no temp object is needed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import uuid
from collections.abc import Callable, Mapping

import fsspec
import pyarrow as pa
import pyarrow.fs as pafs
from fsspec.implementations.local import LocalFileSystem

from newsmarkets.credentials import S3_CONN_ID, S3_ENDPOINT_ENV, s3_storage_options  # noqa: F401 (re-exported)

TEMP_PREFIX = ".tmp-"
TEMP_SUFFIX = ".partial"
# A temp file this old belongs to a writer that died (a live write takes
# seconds); younger ones may still be in use by a concurrent writer.
STALE_TEMP_AGE_S = 3600.0

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def storage_options(root: str, conn_id: str | None = S3_CONN_ID, env: Mapping[str, str] | None = None) -> dict:
    """fsspec options for ``root``: only S3 needs any, from Airflow connection ``conn_id`` or the environment."""
    protocol = root.split("://", 1)[0].lower() if "://" in root else "file"
    if protocol not in ("s3", "s3a"):
        return {}
    return s3_storage_options(conn_id, env)


def storage_options_from_env(root: str, env: Mapping[str, str] | None = None) -> dict:
    """fsspec options for ``root`` from environment variables alone (``AWS_*``, ``NEWSMARKETS_S3_ENDPOINT_URL``)."""
    return storage_options(root, None, env)


def safe_name(text: str) -> str:
    """A file-name-safe, visible, collision-free version of ``text`` (e.g. an Airflow run id).

    Unsafe characters become ``_``; when anything changed, a short hash of the
    original is appended so two run ids never map to the same name.
    """
    if not isinstance(text, str) or not text:
        raise ValueError(f"expected a non-empty name, got {text!r}")
    cleaned = _UNSAFE_NAME.sub("_", text).lstrip("._-")
    if cleaned == text:
        return text
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
    return f"{cleaned}-{digest}" if cleaned else digest


def modified_at(info: Mapping) -> float | None:
    """Last-modified time (epoch seconds) from an fsspec ``info``/``find(detail=True)`` entry."""
    for key in ("mtime", "LastModified", "last_modified", "created"):
        value = info.get(key)
        if value is None:
            continue
        return value.timestamp() if hasattr(value, "timestamp") else float(value)
    return None


def _fsync_path(path: str, *, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Storage:
    """One warehouse root (local path or fsspec URL) and the file operations on it."""

    def __init__(self, root: str, storage_options: dict | None = None) -> None:
        if not isinstance(root, str) or not root.strip():
            raise ValueError(f"warehouse root must be a non-empty path or URL, got {root!r}")
        self.fs, path = fsspec.core.url_to_fs(root, **(storage_options or {}))
        self.is_local = isinstance(self.fs, LocalFileSystem)
        # Local roots become absolute here, so every path we hand out is absolute.
        self.root = path.rstrip("/") or "/"

    @property
    def arrow_fs(self) -> pafs.FileSystem:
        """The filesystem for pyarrow readers (native for local files: faster)."""
        if self.is_local:
            return pafs.LocalFileSystem()
        return pafs.PyFileSystem(pafs.FSSpecHandler(self.fs))

    def path(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts])

    def url(self, path: str) -> str:
        """What callers see: plain absolute paths locally, full URLs elsewhere."""
        return path if self.is_local else self.fs.unstrip_protocol(path)

    def to_path(self, path_or_url: str) -> str:
        return self.fs._strip_protocol(path_or_url).rstrip("/")

    def is_under(self, path_or_url: str, *parts: str) -> bool:
        return self.to_path(path_or_url).startswith(self.path(*parts) + "/")

    def _forget_listings(self) -> None:
        # fsspec keeps one object-store filesystem per process with its listings
        # cached; other processes (other tasks, workers) write here, so a listing
        # must be asked for afresh or a long-lived reader sees old files (and
        # s3fs raises FileExpired on one rewritten since).
        if not self.is_local:
            self.fs.invalidate_cache()

    def glob(self, pattern: str) -> list[str]:
        self._forget_listings()
        return sorted(self.fs.glob(pattern))

    def remove(self, path: str) -> None:
        self.fs.rm_file(path)
        if self.is_local:
            _fsync_path(os.path.dirname(path), directory=True)

    def find(self, path: str) -> dict[str, dict]:
        """Every file under ``path`` (recursively) with fsspec's details; empty if there is none."""
        self._forget_listings()
        try:
            return self.fs.find(path, detail=True)
        except FileNotFoundError:
            return {}

    def remove_empty_folder(self, folder: str) -> None:
        """Drop ``folder`` if it is empty, locally (object stores have no empty folders)."""
        if self.is_local:
            try:
                os.rmdir(folder)
            except OSError:
                pass  # not empty (another run's files) or already gone

    def remove_tree(self, path: str) -> None:
        """Delete ``path`` and everything under it (a folder locally, a prefix on object stores)."""
        if not self.fs.exists(path):
            return
        self.fs.rm(path, recursive=True)
        if self.is_local:
            _fsync_path(os.path.dirname(path), directory=True)

    def write_atomic(self, path: str, write: Callable[[pa.NativeFile], None]) -> None:
        """Create or replace ``path`` with what ``write(sink)`` writes, all or nothing."""
        if not self.is_local:
            sink = pa.BufferOutputStream()
            write(sink)
            self.fs.pipe_file(path, sink.getvalue().to_pybytes())
            return
        directory, name = os.path.split(path)
        os.makedirs(directory, exist_ok=True)
        suffix = os.path.splitext(name)[1]
        tmp = os.path.join(directory, f"{TEMP_PREFIX}{uuid.uuid4().hex}{suffix}{TEMP_SUFFIX}")
        try:
            with pa.OSFile(tmp, "wb") as sink:
                write(sink)
            _fsync_path(tmp)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.remove(tmp)
            raise
        # The rename itself must survive a crash, not only the file's bytes.
        _fsync_path(directory, directory=True)
