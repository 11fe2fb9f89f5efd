"""The deduplicate step of news_ingest: drop duplicate pages, group the rest into stories.

Stages the ``articles`` batch and the run's whole ``fetch_log`` batch, in
the tables' types (:meth:`Warehouse.stage`). Accounting: every discovered
URL gets exactly one ``fetch_log`` row per run (``article``, ``duplicate``,
``extraction_failed`` or the fetcher's outcome), and an ``article`` row
names exactly one ``articles`` row; the rows are built by extract
(failures) and deduplicate (the rest), so no URL can fall between two tasks.

Stories are assigned against this batch plus ``articles`` other intervals
published in the days around it, so a copy found later joins the earlier
story (its id never changes). Runs published concurrently or out of order
are reconciled at publish time, under a lock (see
:mod:`newsmarkets.news.ingest.originals`): exactly one article per ``story_id``
is ``is_original``, across the whole warehouse. How pages are compared is
:mod:`newsmarkets.news.dedup`'s job.
"""

from __future__ import annotations

import logging
import time

from newsmarkets.config import Config
from newsmarkets.intervals import Interval, as_utc
from newsmarkets.news.ingest.common import ARTICLES, FETCH_LOG, NewsIngestError, open_warehouse
from newsmarkets.news.ingest.frames import articles_frame, fetch_log_frame, log_row
from newsmarkets.news.ingest.originals import ids_digest
from newsmarkets.warehouse import rawstore

log = logging.getLogger("newsmarkets.news")


def drop_duplicates(candidates: list[dict], existing_ids: set[str], existing_hashes: dict[str, str]) -> tuple[list[dict], list[tuple[dict, str, str]]]:
    """Split candidates into kept articles and ``(candidate, duplicate_of, reason)``.

    Within the batch the copy reached directly (not via a redirect) wins, then
    the earliest published, then the smallest URL, so reruns choose alike.
    """
    order = sorted(candidates, key=lambda c: (not c["is_direct"], c["published_at"], c["url"]))
    kept: list[dict] = []
    dupes: list[tuple[dict, str, str]] = []
    ids: set[str] = set()
    hashes: dict[str, str] = {}
    for c in order:
        if c["article_id"] in existing_ids:
            dupes.append((c, c["article_id"], "article already published by another interval"))
        elif c["article_id"] in ids:
            dupes.append((c, c["article_id"], "same canonical URL as another page of this batch"))
        elif c["content_hash"] in existing_hashes:
            dupes.append((c, existing_hashes[c["content_hash"]], "same body as an article published by another interval"))
        elif c["content_hash"] in hashes:
            dupes.append((c, hashes[c["content_hash"]], "same body as another page of this batch"))
        else:
            kept.append(c)
            ids.add(c["article_id"])
            hashes[c["content_hash"]] = c["article_id"]
    return kept, dupes


def deduplicate(cfg: Config, interval: Interval, run_id: str, extracted: dict) -> dict:
    """Drop duplicate pages, group the rest into stories; stage ``articles`` and the run's whole ``fetch_log``."""
    from newsmarkets.news.dedup import assign_stories
    from newsmarkets.news.ingest.originals import read_articles, story_days

    started = time.perf_counter()
    wh = open_warehouse(cfg)
    frame = rawstore.read_staged_frame(wh, extracted["candidates"])
    failures = rawstore.read_staged_frame(wh, extracted["fetch_log"])
    candidates = frame.to_dict("records")
    for c in candidates:
        c["published_at"] = as_utc(c["published_at"].to_pydatetime())
        c["authors"] = list(c["authors"]) if c["authors"] is not None else []
    days = story_days([c["published_at"] for c in candidates])
    existing = read_articles(wh, days, ["article_id", "published_at", "body", "story_id", "content_hash"],
                             exclude_interval=interval)
    existing_hashes = dict(zip(existing["content_hash"], existing["article_id"]))
    kept, dupes = drop_duplicates(candidates, set(existing["article_id"]), existing_hashes)

    log_rows = failures.to_dict("records")
    for c, duplicate_of, reason in dupes:
        log_rows.append(log_row(_as_fetched(c), run_id, interval, "duplicate", reason, duplicate_of))
    for c in kept:
        log_rows.append(log_row(_as_fetched(c), run_id, interval, "article", None, c["article_id"]))

    articles = articles_frame(kept)
    articles = assign_stories(articles, existing=existing[["article_id", "published_at", "body", "story_id"]])
    articles = articles.sort_values("article_id", ignore_index=True)
    fetch_log = fetch_log_frame(log_rows)
    if len(fetch_log) != int(extracted["urls"]):
        # every discovered URL ends in exactly one place; a mismatch is a bug, not a data problem
        raise NewsIngestError(
            f"deduplicate {interval}: {len(fetch_log)} fetch_log row(s) for {extracted['urls']} discovered URL(s)")
    out = {
        ARTICLES: wh.stage(ARTICLES, articles, interval, run_id),
        FETCH_LOG: wh.stage(FETCH_LOG, fetch_log, interval, run_id),
        # what the stories were assigned against, so publish can tell whether it changed since
        "neighbour_days": days,
        "neighbour_digest": ids_digest(existing["article_id"]),
        "articles_count": len(articles),
        "duplicates": len(dupes),
        "stories": int(articles["story_id"].nunique()) if len(articles) else 0,
        "urls": int(extracted["urls"]),
        "dedupe_s": round(time.perf_counter() - started, 3),
    }
    log.info("deduplicate %s: %d article(s), %d duplicate(s), %d story(ies)", interval, len(articles),
             len(dupes), out["stories"])
    return out


def _as_fetched(candidate: dict) -> dict:
    """The fetch facts of a candidate under fetch_log's names."""
    return {"url": candidate["listed_url"], "source": candidate["source"], "status": candidate["status"],
            "attempts": candidate["attempts"], "fetched_at": candidate["fetched_at"]}
