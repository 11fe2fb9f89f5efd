"""Raw fetched HTML and the news pipeline's small JSON hand-offs, kept in the warehouse.

Raw pages are stored gzip-compressed, partitioned by the UTC date they were
fetched, so articles can be re-extracted (a better extractor, a fixed bug)
without fetching anything again::

    <warehouse>/_raw_html/dt=YYYY-MM-DD/<source>/<page_id>.html.gz

``page_id`` is :func:`~newsmarkets.news.urls.article_id` of the URL *as
listed* (canonicalised): the page's own ``rel=canonical`` is not known
before extraction. A refetch on the same day replaces the file.

Discovery and fetch results between tasks are JSON files under
``<warehouse>/_staging/news_<step>/<interval>/<run>/<source>.json``: small,
readable, and a retried task re-reads exactly what the earlier step found.
Every write is atomic (see :meth:`Storage.write_atomic`).
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone

from newsmarkets.intervals import Interval
from newsmarkets.warehouse.storage import Storage, safe_name

RAW_HTML_DIR = "_raw_html"
STAGING_DIR = "_staging"


class RawStoreError(ValueError):
    """A raw page or staged hand-off is missing, unreadable or outside the warehouse."""


def raw_html_path(storage: Storage, fetched_at: datetime, source: str, page_id: str) -> str:
    day = fetched_at.astimezone(timezone.utc).strftime("%Y-%m-%d")
    return storage.path(RAW_HTML_DIR, f"dt={day}", safe_name(source), f"{safe_name(page_id)}.html.gz")


def write_raw_html(storage: Storage, fetched_at: datetime, source: str, page_id: str, html: str) -> str:
    """Store one page's decoded HTML (UTF-8, gzip); returns its path/URL."""
    path = raw_html_path(storage, fetched_at, source, page_id)
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


def read_raw_html(storage: Storage, path: str) -> str:
    return gzip.decompress(_read_under(storage, path, RAW_HTML_DIR, "raw page")).decode("utf-8")


def validators_path(storage: Storage, source: str, page_id: str) -> str:
    return storage.path(RAW_HTML_DIR, "_validators", safe_name(source), f"{safe_name(page_id)}.json")


def write_validators(storage: Storage, source: str, page_id: str, *, etag: str | None,
                     last_modified: str | None, raw_path: str, final_url: str | None) -> None:
    """Remember a page's ETag/Last-Modified and where its HTML is, for the next conditional GET."""
    text = json.dumps({"etag": etag, "last_modified": last_modified, "raw_path": raw_path, "final_url": final_url},
                      sort_keys=True)
    storage.write_atomic(validators_path(storage, source, page_id), lambda sink: sink.write(text.encode("utf-8")))


def read_validators(storage: Storage, source: str, page_id: str) -> dict | None:
    """The last stored validators of a page whose raw HTML still exists, else None."""
    path = validators_path(storage, source, page_id)
    try:
        with storage.fs.open(path, "rb") as handle:
            doc = json.loads(handle.read().decode("utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    # A 304 is only useful if we still hold the page it refers to.
    if not (doc.get("etag") or doc.get("last_modified")) or not storage.fs.exists(storage.to_path(doc["raw_path"])):
        return None
    return doc


def write_staged_json(storage: Storage, step: str, interval: Interval, run_id: str, name: str, doc: dict) -> str:
    """Stage one JSON document of pipeline step ``step``; returns its path/URL."""
    path = storage.path(STAGING_DIR, f"news_{safe_name(step)}", interval.key, safe_name(run_id), f"{safe_name(name)}.json")
    text = json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False)
    storage.write_atomic(path, lambda sink: sink.write(text.encode("utf-8")))
    return storage.url(path)


def read_staged_json(storage: Storage, path: str) -> dict:
    data = _read_under(storage, path, STAGING_DIR, "staged file")
    try:
        return json.loads(data.decode("utf-8"))
    except json.JSONDecodeError as exc:
        raise RawStoreError(f"staged file {path!r} is not valid JSON ({exc})") from None
