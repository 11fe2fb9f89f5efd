"""The typed hand-off frames of news_ingest: ``fetch_log`` rows, article candidates, ``articles`` batches.

Pure: dicts in, typed DataFrames out. extract builds the failed pages'
``fetch_log`` rows and the candidates; deduplicate the rest of
``fetch_log`` and the ``articles`` batch.
"""

from __future__ import annotations

import pandas as pd

from newsmarkets.intervals import Interval, as_utc

FETCH_LOG_COLUMNS = ["url", "source", "status", "outcome", "reason", "attempts", "article_id", "fetched_at",
                     "run_id", "interval_start_at"]
# What a candidate carries beyond the article: the fetch facts its fetch_log row needs.
CANDIDATE_LOG_COLUMNS = ["listed_url", "status", "attempts", "is_direct"]
# A page the site says is gone: its published article goes too. Every other
# failure (5xx, timeouts, robots, extraction) leaves the published article as it was.
GONE_STATUSES = frozenset({404, 410})


def log_row(row: dict, run_id: str, interval: Interval, outcome: str, reason: str | None,
            article: str | None) -> dict:
    """One ``fetch_log`` row; ``row`` needs ``url``, ``source``, ``fetched_at`` (``status``, ``attempts`` optional)."""
    status = row.get("status")
    return {
        "url": row["url"], "source": row["source"], "status": None if pd.isna(status) else int(status),
        "outcome": outcome, "reason": reason, "attempts": int(row.get("attempts") or 0), "article_id": article,
        "fetched_at": as_utc(row["fetched_at"]), "run_id": run_id, "interval_start_at": interval.start,
    }


def fetch_log_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=FETCH_LOG_COLUMNS)
    frame["status"] = frame["status"].astype("Int64")
    frame["attempts"] = frame["attempts"].astype("int64")
    for column in ("fetched_at", "interval_start_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    for column in ("url", "source", "outcome", "reason", "article_id", "run_id"):
        frame[column] = frame[column].astype("object")
    return frame.sort_values("url", ignore_index=True)


def candidates_frame(candidates: list[dict]) -> pd.DataFrame:
    """Candidates as a typed frame (article columns plus :data:`CANDIDATE_LOG_COLUMNS`)."""
    columns = _article_columns() + CANDIDATE_LOG_COLUMNS
    frame = pd.DataFrame(candidates, columns=columns)
    for column in ("published_at", "updated_at", "fetched_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame["word_count"] = frame["word_count"].astype("int64")
    frame["attempts"] = frame["attempts"].astype("int64")
    frame["status"] = frame["status"].astype("Int64")
    frame["is_direct"] = frame["is_direct"].astype(bool)
    return frame


def _article_columns() -> list[str]:
    """``articles`` columns a candidate has: all but the partition and the story columns."""
    from newsmarkets.warehouse.schemas import ARTICLES as SPEC

    return [c for c in SPEC.schema.names if c not in (SPEC.partition_by, "story_id", "is_original")]


def articles_frame(kept: list[dict]) -> pd.DataFrame:
    columns = _article_columns()
    frame = pd.DataFrame([{k: c[k] for k in columns} for c in kept], columns=columns)
    for column in ("published_at", "updated_at", "fetched_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame["word_count"] = frame["word_count"].astype("int64")
    return frame
