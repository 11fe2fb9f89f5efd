"""Pure parts of the news build steps: duplicates, fetch_log rows, typed hand-off frames."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd

from newsmarkets.intervals import Interval
from newsmarkets.news.ingest.deduplicate import drop_duplicates
from newsmarkets.news.ingest.frames import (
    CANDIDATE_LOG_COLUMNS,
    FETCH_LOG_COLUMNS,
    articles_frame,
    candidates_frame,
    fetch_log_frame,
    log_row,
)
from newsmarkets.news.ingest.publish import annotate_fetch_log, refreshed_pages

T = datetime(2026, 1, 5, 10, 5, tzinfo=timezone.utc)
HOUR = Interval(T.replace(minute=0), T.replace(minute=0) + timedelta(hours=1))


def _candidate(aid: str, *, url: str | None = None, body_hash: str = "h", at: datetime = T, direct: bool = True) -> dict:
    url = url or f"http://x.example/{aid}"
    return {
        "article_id": aid, "url": url, "canonical_url": url, "source": "x", "title": "t", "authors": ["a"],
        "published_at": at, "published_at_source": "json-ld", "updated_at": None, "language": "en",
        "section": None, "body": "b", "word_count": 100, "content_hash": body_hash, "fetched_at": at + timedelta(hours=1),
        "listed_url": url, "status": 200, "attempts": 1, "is_direct": direct,
    }


def test_the_direct_then_earliest_copy_is_kept_and_each_duplicate_names_it():
    later = _candidate("a", url="http://x.example/a?amp", at=T + timedelta(minutes=5))
    redirected = _candidate("a", url="http://x.example/old", direct=False, at=T - timedelta(hours=1))
    first = _candidate("a")
    same_body = _candidate("b", body_hash="h")
    kept, dupes = drop_duplicates([later, redirected, same_body, first], set(), {})
    assert kept == [first]
    assert [(c["url"], of) for c, of, _ in dupes] == [
        ("http://x.example/b", "a"), ("http://x.example/a?amp", "a"), ("http://x.example/old", "a")]
    assert [r for _, _, r in dupes] == ["same body as another page of this batch",
                                        "same canonical URL as another page of this batch",
                                        "same canonical URL as another page of this batch"]


def test_articles_other_intervals_published_win():
    kept, dupes = drop_duplicates([_candidate("a"), _candidate("c", body_hash="hc")], {"a"}, {"hc": "z"})
    assert kept == []
    assert {(c["article_id"], of, reason) for c, of, reason in dupes} == {
        ("a", "a", "article already published by another interval"),
        ("c", "z", "same body as an article published by another interval"),
    }


def test_fetch_log_rows_and_frame_keep_their_types():
    rows = [
        log_row({"url": "http://x.example/b", "source": "x", "status": None, "attempts": 0, "fetched_at": T.isoformat()},
                "run-1", HOUR, "robots", "disallowed", None),
        log_row({"url": "http://x.example/a", "source": "x", "status": 404.0, "attempts": 3, "fetched_at": T},
                "run-1", HOUR, "http_error", None, None),
    ]
    frame = fetch_log_frame(rows)
    assert list(frame.columns) == FETCH_LOG_COLUMNS
    assert frame["url"].tolist() == ["http://x.example/a", "http://x.example/b"]
    assert frame["status"].dtype == "Int64" and frame["status"].isna().tolist() == [False, True]
    assert str(frame["fetched_at"].dt.tz) == "UTC" and (frame["interval_start_at"] == HOUR.start).all()
    empty = fetch_log_frame([])
    assert list(empty.columns) == FETCH_LOG_COLUMNS and len(empty) == 0
    assert isinstance(empty["fetched_at"].dtype, pd.DatetimeTZDtype) and str(empty["fetched_at"].dt.tz) == "UTC"


def test_candidate_and_article_frames_are_typed_even_when_empty():
    frame = candidates_frame([_candidate("a")])
    assert frame.columns[-len(CANDIDATE_LOG_COLUMNS):].tolist() == CANDIDATE_LOG_COLUMNS
    assert frame["word_count"].dtype == "int64" and frame["is_direct"].dtype == bool
    assert frame["updated_at"].isna().all() and str(frame["published_at"].dt.tz) == "UTC"
    empty = candidates_frame([])
    assert len(empty) == 0 and str(empty["published_at"].dt.tz) == "UTC"
    articles = articles_frame([_candidate("a")])
    assert "story_id" not in articles and "listed_url" not in articles and "dt" not in articles
    assert articles["authors"].tolist() == [["a"]]
    assert isinstance(articles_frame([]), pd.DataFrame)


def _log(*rows: tuple[str, str, int | None]) -> pd.DataFrame:
    return fetch_log_frame([
        {**log_row({"url": url, "source": "x", "status": status, "fetched_at": T}, "r", HOUR, outcome, "why", None)}
        for url, outcome, status in rows])


def test_refreshed_pages_are_the_rebuilt_ones_and_those_the_site_says_are_gone():
    log = _log(("http://x.example/a?utm_source=rss", "article", 200), ("http://x.example/b", "duplicate", 304),
               ("http://x.example/c", "http_error", 503), ("http://x.example/d", "http_error", 410),
               ("http://x.example/e", "http_error", 404), ("http://x.example/f", "timeout", None),
               ("http://x.example/g", "extraction_failed", 200), ("http://x.example/h", "robots", None))
    articles = articles_frame([_candidate("z", url="http://x.example/z")])
    assert refreshed_pages(log, articles) == {
        "http://x.example/a", "http://x.example/b", "http://x.example/d", "http://x.example/e", "http://x.example/z"}


def test_fetch_log_rows_say_what_happened_to_the_published_article():
    log = _log(("http://x.example/c", "http_error", 503), ("http://x.example/d", "http_error", 410),
               ("http://x.example/a", "article", 200))
    out = annotate_fetch_log(log, kept_urls={"http://x.example/c", "http://x.example/a"},
                             removed_urls={"http://x.example/d"})
    assert dict(zip(out["url"], out["reason"])) == {
        "http://x.example/c": "why; published article kept", "http://x.example/d": "why; published article removed",
        "http://x.example/a": "why"}  # a page rebuilt this run is no failure
