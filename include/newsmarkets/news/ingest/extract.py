"""The extract step of news_ingest: every fetched page of the run -> an article candidate or a failed ``fetch_log`` row.

Stages ``_staging/news_extracted/<interval>/<run>/``: ``candidates.parquet``
(one row per page that became an article candidate, with its fetch facts)
and ``fetch_log.parquet`` (the pages that did not: fetcher outcomes and
extraction failures). The first step that sees every source's fetches, so
it refuses a thin batch (too many failed fetches) before anything is staged
for publishing. Reading an article out of a page is
:mod:`newsmarkets.news.extract`'s job.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

from newsmarkets.config import Config, NewsSourceConfig
from newsmarkets.intervals import Interval, as_utc
from newsmarkets.news.ingest.common import open_warehouse
from newsmarkets.news.ingest.frames import GONE_STATUSES, candidates_frame, fetch_log_frame, log_row
from newsmarkets.news.urls import UrlError, article_id, canonicalize_url
from newsmarkets.warehouse import rawstore

log = logging.getLogger("newsmarkets.news")

# Fetcher outcomes that are a failure of the site or the network (404/410 are answers, not failures);
# robots and the address guard are our own refusals, not fetches.
FAILED_OUTCOMES = frozenset({"http_error", "timeout", "error"})
NOT_ATTEMPTED_OUTCOMES = frozenset({"robots", "blocked"})


def fetch_failures(not_fetched: list[dict], fetched_pages: int) -> tuple[int, int]:
    """(failed, attempted) page fetches of a run, from its non-``fetched`` log rows and its fetched page count."""
    failed = sum(1 for r in not_fetched if r["outcome"] in FAILED_OUTCOMES and r.get("status") not in GONE_STATUSES)
    attempted = fetched_pages + sum(1 for r in not_fetched
                                    if r["outcome"] not in NOT_ATTEMPTED_OUTCOMES | {"extraction_failed"})
    return failed, attempted


def extract_candidate(row: dict, html: str, source: NewsSourceConfig, min_words: int) -> dict:
    """One staged fetch row plus its page -> an article candidate dict (raises ExtractionError)."""
    from newsmarkets.news.dedup import content_hash
    from newsmarkets.news.extract import ExtractionError, extract_article

    url = row["final_url"] or row["url"]
    fetched_at = as_utc(row["fetched_at"])
    listed_at = as_utc(row["listed_at"]) if row.get("listed_at") else None
    # A feed's date is a publish date; a sitemap's may be lastmod (the last
    # edit), so it only stands in when the page itself gives no time. Either
    # may settle a page's local time that a DST change made ambiguous.
    from_feed = row.get("date_source") == "feed"
    record = extract_article(
        html, url, fetched_at=fetched_at, source_timezone=source.timezone,
        feed_published_at=listed_at if from_feed else None, listing_time=listed_at, min_words=min_words,
    )
    if not record.title or not record.title.strip():
        raise ExtractionError(url, "no title")
    # htmldate's day has no time of day: the sitemap's time, when there is one, is the better stand-in
    if (record.published_at is None or record.published_at_source == "htmldate") and listed_at is not None \
            and not from_feed:
        record.published_at = listed_at.replace(second=0, microsecond=0)
        record.published_at_source, record.published_at_has_time = "sitemap", True
    if record.published_at is None:
        raise ExtractionError(url, "no publish time on the page or in its listing")
    try:
        canonical = canonicalize_url(url, canonical_hint=record.canonical_url)
    except UrlError as exc:
        raise ExtractionError(url, f"unusable URL ({exc})") from None
    return {
        "article_id": article_id(canonical),
        "url": url,
        "canonical_url": canonical,
        "source": source.name,
        "title": record.title,
        "authors": list(record.authors),
        "published_at": record.published_at,
        "published_at_source": record.published_at_source,
        "updated_at": record.updated_at,
        "language": record.language,
        "section": record.section,
        "body": record.body,
        "word_count": record.word_count,
        "content_hash": content_hash(record.body),
        "fetched_at": fetched_at,
        # fetch facts for the candidate's fetch_log row
        "listed_url": row["url"],
        "status": row.get("status"),
        "attempts": int(row.get("attempts") or 0),
        "is_direct": canonicalize_url(row["url"]) == canonical,  # not reached through a redirect
    }


def extract(cfg: Config, interval: Interval, run_id: str, fetched: list[dict]) -> dict:
    """Extract every fetched page of the run; stage the candidates and the pages that failed.

    ``fetched`` is the list of :func:`~newsmarkets.news.ingest.fetch.fetch_source`
    results (one per source).
    """
    from newsmarkets.news.extract import ExtractionError
    from newsmarkets.quality.thin_batch import check_failed_share

    started = time.perf_counter()
    wh = open_warehouse(cfg)
    failures: list[dict] = []
    candidates: list[dict] = []
    pages = 0
    for batch in fetched:
        source = cfg.news.source(batch["source"])
        doc = rawstore.read_staged_json(wh, batch["staged"])
        for row in doc["results"]:
            row = {**row, "source": source.name}
            if row["outcome"] != "fetched":
                failures.append(log_row(row, run_id, interval, row["outcome"], row.get("reason"), None))
                continue
            pages += 1
            try:
                html = rawstore.read_raw_html(wh, row["raw_path"])
                candidates.append(extract_candidate(row, html, source, cfg.news.min_words))
            except ExtractionError as exc:
                failures.append(log_row(row, run_id, interval, "extraction_failed", exc.reason, None))
    # Checked here, the first step that sees every source's fetches, before anything is staged for publishing.
    check_failed_share(f"news_ingest {interval}", *fetch_failures(failures, pages),
                       cfg.quality.max_failed_fetch_share)
    staged_candidates = rawstore.write_staged_frame(
        wh, "extracted", interval, run_id, "candidates", candidates_frame(candidates))
    staged_log = rawstore.write_staged_frame(
        wh, "extracted", interval, run_id, "fetch_log", fetch_log_frame(failures))
    outcomes = Counter(r["outcome"] for r in failures)
    log.info("extract %s: %d page(s), %d candidate(s), not articles: %s", interval, pages, len(candidates),
             dict(sorted(outcomes.items())))
    return {
        "candidates": staged_candidates, "fetch_log": staged_log, "pages": pages,
        "candidate_count": len(candidates), "not_articles": dict(sorted(outcomes.items())),
        "urls": sum(int(b["urls"]) for b in fetched), "extract_s": round(time.perf_counter() - started, 3),
    }
