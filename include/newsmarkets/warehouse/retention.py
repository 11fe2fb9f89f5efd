"""Retention of what the warehouse keeps beside its tables: raw HTML, staging leftovers, quarantine.

Every deletion goes through :class:`~newsmarkets.warehouse.storage.Storage`
(fsspec), so it works the same on a local folder and on ``s3://``.

* ``_raw_html/dt=D/`` partitions are deleted when ``D`` is more than
  ``raw_html_days`` days before the run's interval (the run's dates, not the
  clock: a backfill of an old day deletes what was old *then*). A page's
  conditional-GET validators (``_raw_html/_validators/``) point at its raw
  file; once that file is gone they are useless (a 304 could not be rebuilt),
  so validators whose ``raw_path`` lies in a deleted partition go too.
* ``_staging/`` holds hand-offs between the tasks of one run (and folders of
  killed compactions). They are judged by their files' modification time,
  because a backfill of an old interval stages fresh files that must survive
  until its next task runs: a folder whose newest file is older than
  ``staging_hours`` hours is deleted. A task retried after that cannot find
  its hand-off and says so; rerun the whole DAG run.
* ``_quarantine/`` is evidence of rejected batches and is kept unless
  ``quarantine_days`` is set; then run folders whose newest file is older
  than that many days are deleted.
"""

from __future__ import annotations

import json
import logging
import posixpath
import re
import time
from datetime import date, timedelta

from newsmarkets.warehouse.rawstore import RAW_HTML_DIR, STAGING_DIR
from newsmarkets.warehouse.storage import Storage, modified_at
from newsmarkets.warehouse.staging import QUARANTINE_DIR

log = logging.getLogger("newsmarkets.warehouse.retention")

VALIDATORS_DIR = "_validators"
_DT_FOLDER = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")
_DT_IN_PATH = re.compile(r"/dt=(\d{4}-\d{2}-\d{2})/")


def _positive(value, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{what} must be a positive number, got {value!r}")


def _subfolders(storage: Storage, path: str) -> list[str]:
    try:
        entries = storage.fs.ls(path, detail=True)
    except FileNotFoundError:
        return []
    return sorted(e["name"].rstrip("/") for e in entries if e.get("type") == "directory")


def expire_raw_html(storage: Storage, interval_day: date, raw_html_days: int) -> dict:
    """Delete raw HTML partitions older than ``raw_html_days`` before ``interval_day``, and their validators."""
    _positive(raw_html_days, "raw_html_retention_days")
    oldest_kept = (interval_day - timedelta(days=raw_html_days)).isoformat()
    root = storage.path(RAW_HTML_DIR)
    expired: list[str] = []
    files = bytes_ = 0
    for folder in _subfolders(storage, root):
        match = _DT_FOLDER.match(posixpath.basename(folder))
        if not match or match.group(1) >= oldest_kept:
            continue
        contents = storage.find(folder)
        files += len(contents)
        bytes_ += sum(int(i.get("size") or 0) for i in contents.values())
        storage.remove_tree(folder)
        expired.append(match.group(1))
    validators = 0
    if expired:
        for path in storage.find(storage.path(RAW_HTML_DIR, VALIDATORS_DIR)):
            try:
                with storage.fs.open(path, "rb") as handle:
                    raw_path = json.loads(handle.read().decode("utf-8")).get("raw_path") or ""
            except (FileNotFoundError, ValueError):
                continue  # rewritten or removed meanwhile; a damaged one is read as absent anyway
            found = _DT_IN_PATH.search(storage.to_path(raw_path) if raw_path else "")
            if found and found.group(1) < oldest_kept:
                storage.remove(path)
                validators += 1
    log.info("raw HTML: deleted %d partition(s) before %s (%d file(s), %d bytes), %d validator(s)",
             len(expired), oldest_kept, files, bytes_, validators)
    return {"partitions": expired, "files": files, "bytes": bytes_, "validators": validators, "oldest_kept": oldest_kept}


def _expire_by_age(storage: Storage, folders: list[str], max_age_s: float, now: float) -> tuple[list[str], int]:
    """Delete each folder whose newest file is older than ``max_age_s``; returns (deleted, files)."""
    deleted, files = [], 0
    for folder in folders:
        contents = storage.find(folder)
        if not contents:  # an empty folder (local only): a writer may be about to fill it, judge the folder
            try:
                contents_times = [modified_at(storage.fs.info(folder))]
            except FileNotFoundError:
                continue
        else:
            contents_times = [modified_at(i) for i in contents.values()]
        times = [t for t in contents_times if t is not None]
        if times and max(times) < now - max_age_s:
            storage.remove_tree(folder)
            deleted.append(storage.url(folder))
            files += len(contents)
    return deleted, files


def expire_staging(storage: Storage, staging_hours: float, *, now: float | None = None) -> dict:
    """Delete run folders under ``_staging`` (``<kind>/<interval>/<run>``-level) untouched for ``staging_hours``."""
    _positive(staging_hours, "staging_retention_hours")
    now = time.time() if now is None else now
    # Interval folders are the unit: one run's hand-offs live under <kind>/<interval>/.
    folders = [sub for kind in _subfolders(storage, storage.path(STAGING_DIR)) for sub in _subfolders(storage, kind)]
    deleted, files = _expire_by_age(storage, folders, staging_hours * 3600.0, now)
    log.info("staging: deleted %d folder(s) (%d file(s)) older than %s h", len(deleted), files, staging_hours)
    return {"folders": len(deleted), "files": files}


def expire_quarantine(storage: Storage, quarantine_days: int | None, *, now: float | None = None) -> dict:
    """Delete quarantined run folders older than ``quarantine_days`` (None: keep everything)."""
    if quarantine_days is None:
        return {"kept": True, "folders": 0, "files": 0}
    _positive(quarantine_days, "quarantine_retention_days")
    now = time.time() if now is None else now
    runs = [run for table in _subfolders(storage, storage.path(QUARANTINE_DIR))
            for interval in _subfolders(storage, table) for run in _subfolders(storage, interval)]
    deleted, files = _expire_by_age(storage, runs, quarantine_days * 86400.0, now)
    return {"kept": False, "folders": len(deleted), "files": files}


def apply_retention(storage: Storage, interval_day: date, *, raw_html_days: int, staging_hours: float,
                    quarantine_days: int | None = None) -> dict:
    """All three retentions; small JSON-safe totals."""
    return {
        "raw_html": expire_raw_html(storage, interval_day, raw_html_days),
        "staging": expire_staging(storage, staging_hours),
        "quarantine": expire_quarantine(storage, quarantine_days),
    }
