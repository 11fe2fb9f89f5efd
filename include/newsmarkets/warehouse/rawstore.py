"""Raw fetched HTML and the news pipeline's small JSON hand-offs, kept in the warehouse.

Raw pages are stored gzip-compressed, partitioned by the UTC date they were
fetched, so articles can be re-extracted (a better extractor, a fixed bug)
without fetching anything again::

    <warehouse>/_raw_html/dt=YYYY-MM-DD/<source>/<page_id>.html.gz

``page_id`` is :func:`~newsmarkets.news.urls.article_id` of the URL *as
listed* (canonicalised): the page's own ``rel=canonical`` is not known
before extraction. A refetch on the same day replaces the file.

Hand-offs between the DAG's tasks live under
``<warehouse>/_staging/news_<step>/<interval>/<run>/``: discovery and fetch
results as JSON (``<source>.json``: small, readable), extracted candidates as
Parquet frames (``<name>.parquet``: bodies and timestamps keep their types).
A retried task re-reads exactly what the earlier step found. Every write is
atomic (see :meth:`Storage.write_atomic`); :func:`remove_staged_run` deletes
one run's hand-offs once it has published.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from newsmarkets.intervals import Interval
from newsmarkets.warehouse.storage import Storage, safe_name

if TYPE_CHECKING:
    from newsmarkets.warehouse.writer import Warehouse

RAW_HTML_DIR = "_raw_html"
STAGING_DIR = "_staging"


class RawStoreError(ValueError):
    """A raw page or staged hand-off is missing, unreadable or outside the warehouse."""


def _raw_html_path(storage: Storage, fetched_at: datetime, source: str, page_id: str) -> str:
    day = fetched_at.astimezone(timezone.utc).strftime("%Y-%m-%d")
    return storage.path(RAW_HTML_DIR, f"dt={day}", safe_name(source), f"{safe_name(page_id)}.html.gz")


def write_raw_html(wh: Warehouse, fetched_at: datetime, source: str, page_id: str, html: str) -> str:
    """Store one page's decoded HTML (UTF-8, gzip); returns its path/URL."""
    storage = wh.storage
    path = _raw_html_path(storage, fetched_at, source, page_id)
    # mtime=0: the same page gives the same bytes, so reruns are byte-identical
    payload = gzip.compress(html.encode("utf-8"), compresslevel=6, mtime=0)
    storage.write_atomic(path, lambda sink: sink.write(payload))
    return storage.url(path)


def _read_under(storage: Storage, path: str, folder: str, what: str) -> bytes:
    """Bytes of ``path``, refused unless it lies under ``folder`` of this warehouse."""
    if not storage.is_under(path, folder):
        raise RawStoreError(f"{path!r} is not a {what} under {storage.url(storage.path(folder))}")
    try:
        with storage.fs.open(storage.to_path(path), "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise RawStoreError(f"{what} {path!r} is missing (was the warehouse cleaned?)") from None


def read_raw_html(wh: Warehouse, path: str) -> str:
    storage = wh.storage
    return gzip.decompress(_read_under(storage, path, RAW_HTML_DIR, "raw page")).decode("utf-8")


def _validators_path(storage: Storage, source: str, page_id: str) -> str:
    return storage.path(RAW_HTML_DIR, "_validators", safe_name(source), f"{safe_name(page_id)}.json")


def write_validators(wh: Warehouse, source: str, page_id: str, *, etag: str | None,
                     last_modified: str | None, raw_path: str, final_url: str | None) -> None:
    """Remember a page's ETag/Last-Modified and where its HTML is, for the next conditional GET."""
    storage = wh.storage
    text = json.dumps({"etag": etag, "last_modified": last_modified, "raw_path": raw_path, "final_url": final_url},
                      sort_keys=True)
    storage.write_atomic(_validators_path(storage, source, page_id), lambda sink: sink.write(text.encode("utf-8")))


def read_validators(wh: Warehouse, source: str, page_id: str) -> dict | None:
    """The last stored validators of a page whose raw HTML still exists, else None."""
    storage = wh.storage
    path = _validators_path(storage, source, page_id)
    try:
        with storage.fs.open(path, "rb") as handle:
            doc = json.loads(handle.read().decode("utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    # A 304 is only useful if we still hold the page it refers to.
    if not (doc.get("etag") or doc.get("last_modified")) or not storage.fs.exists(storage.to_path(doc["raw_path"])):
        return None
    return doc


def _staged_run_dir(storage: Storage, step: str, interval: Interval, run_id: str) -> str:
    """The folder holding one run's hand-offs of pipeline step ``step``."""
    return storage.path(STAGING_DIR, f"news_{safe_name(step)}", interval.key, safe_name(run_id))


def write_staged_json(wh: Warehouse, step: str, interval: Interval, run_id: str, name: str, doc: dict) -> str:
    """Stage one JSON document of pipeline step ``step``; returns its path/URL."""
    storage = wh.storage
    path = f"{_staged_run_dir(storage, step, interval, run_id)}/{safe_name(name)}.json"
    text = json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False)
    storage.write_atomic(path, lambda sink: sink.write(text.encode("utf-8")))
    return storage.url(path)


def read_staged_json(wh: Warehouse, path: str) -> dict:
    storage = wh.storage
    data = _read_under(storage, path, STAGING_DIR, "staged file")
    try:
        return json.loads(data.decode("utf-8"))
    except json.JSONDecodeError as exc:
        raise RawStoreError(f"staged file {path!r} is not valid JSON ({exc})") from None


def write_staged_frame(wh: Warehouse, step: str, interval: Interval, run_id: str, name: str, frame) -> str:
    """Stage one DataFrame of pipeline step ``step`` as Parquet; returns its path/URL."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    storage = wh.storage
    path = f"{_staged_run_dir(storage, step, interval, run_id)}/{safe_name(name)}.parquet"
    table = pa.Table.from_pandas(frame, preserve_index=False)
    storage.write_atomic(path, lambda sink: pq.write_table(table, sink, compression="zstd"))
    return storage.url(path)


def read_staged_frame(wh: Warehouse, path: str):
    """A frame staged by :func:`write_staged_frame`, as pandas."""
    import io

    import pyarrow.parquet as pq

    storage = wh.storage
    data = _read_under(storage, path, STAGING_DIR, "staged file")
    try:
        return pq.read_table(io.BytesIO(data)).to_pandas()
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise RawStoreError(f"staged file {path!r} is not a readable Parquet frame ({exc})") from None


def remove_staged_run(wh: Warehouse, steps: list[str], interval: Interval, run_id: str) -> list[str]:
    """Delete one run's hand-offs of ``steps`` (a run that failed keeps them for debugging)."""
    storage = wh.storage
    removed = []
    for step in steps:
        folder = _staged_run_dir(storage, step, interval, run_id)
        if storage.fs.exists(folder):
            storage.fs.rm(folder, recursive=True)
            removed.append(storage.url(folder))
        storage.remove_empty_folder(folder.rsplit("/", 1)[0])
    return removed
