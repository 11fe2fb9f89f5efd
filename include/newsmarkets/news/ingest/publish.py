"""The publish step of news_ingest: where an hour of news is published.

Writes the validated batches in order, ``articles`` (reconciling
``is_original`` across intervals, :mod:`newsmarkets.news.ingest.originals`),
then ``article_assets``, then ``fetch_log``, each followed by its
``dq_results`` rows saying whether it was published (as the quality gate
does). A page this run fetched again replaces its published article; a page
its site says is gone (404/410) removes it; a page that failed otherwise
keeps it, and its ``fetch_log`` row says so. After a successful publish the
run's staged hand-offs are deleted; a failure keeps them for debugging.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

import pandas as pd

from newsmarkets.config import Config
from newsmarkets.intervals import Interval
from newsmarkets.news.ingest.common import (
    ARTICLE_ASSETS,
    ARTICLES,
    DQ_RESULTS,
    FETCH_LOG,
    PUBLISHED_TABLES,
    STAGED_STEPS,
    NewsIngestError,
    open_warehouse,
)
from newsmarkets.news.ingest.frames import GONE_STATUSES
from newsmarkets.news.urls import UrlError, canonicalize_url
from newsmarkets.warehouse import rawstore

log = logging.getLogger("newsmarkets.news")

# fetch_log outcomes of pages this run built again: their published article is replaced.
REFRESHED_OUTCOMES = frozenset({"article", "duplicate"})


def _canonical_or_none(url) -> str | None:
    try:
        return canonicalize_url(str(url))
    except (UrlError, ValueError):
        return None


def refreshed_pages(fetch_log: pd.DataFrame, articles: pd.DataFrame) -> set[str]:
    """Canonical URLs whose published article this run may replace or remove.

    Pages fetched and built again (``article`` or ``duplicate``), the batch's
    own articles, and pages answering 404/410. Pages that failed otherwise are
    not in it, so their published articles are kept.
    """
    refreshed = set(articles["canonical_url"].dropna())
    status = pd.to_numeric(fetch_log["status"], errors="coerce")
    done = fetch_log["outcome"].isin(REFRESHED_OUTCOMES) | ((fetch_log["outcome"] == "http_error")
                                                            & status.isin(GONE_STATUSES))
    refreshed |= {c for c in map(_canonical_or_none, fetch_log.loc[done, "url"]) if c}
    return refreshed


def annotate_fetch_log(fetch_log: pd.DataFrame, kept_urls: set[str], removed_urls: set[str]) -> pd.DataFrame:
    """Say on each page's ``fetch_log`` row what happened to its published article."""
    out = fetch_log.copy()
    canonical = out["url"].map(_canonical_or_none)
    failed = ~out["outcome"].isin(REFRESHED_OUTCOMES)
    for urls, note in ((kept_urls, "published article kept"), (removed_urls, "published article removed")):
        hit = failed & canonical.isin(urls)
        out.loc[hit, "reason"] = [f"{r}; {note}" if isinstance(r, str) and r else note for r in out.loc[hit, "reason"]]
    return out


def publish(cfg: Config, interval: Interval, run_id: str, validated: dict) -> dict:
    """Publish the validated batches: ``articles`` (reconciling originals), ``article_assets``, ``fetch_log``.

    ``validated`` is :func:`newsmarkets.news.ingest.validate.validate`'s result. Each
    table's ``dq_results`` rows are written after its write, saying whether it
    was published (as the quality gate does). After a successful publish this
    run's staged files are deleted; a failure keeps them for debugging.
    """
    from newsmarkets.news.ingest.originals import publish_articles
    from newsmarkets.warehouse.writer import Refreshed

    started = time.perf_counter()
    wh = open_warehouse(cfg)
    staged = {t: validated[t] for t in (*PUBLISHED_TABLES, DQ_RESULTS)}
    missing = [p for p in staged.values() if not wh.is_staged(p)]
    if missing:
        raise NewsIngestError(
            f"publish {interval} (run {run_id}): staged batch(es) {', '.join(missing)} missing — this run "
            "published already and cleaned up, or the warehouse was cleaned; clear the whole run to redo it")
    frames = {t: wh.load_staged(t, staged[t]) for t in PUBLISHED_TABLES}
    dq = wh.load_staged(DQ_RESULTS, staged[DQ_RESULTS])
    out: dict = {"urls": validated.get("urls")}
    reconciled: dict = {}
    refreshed_urls = refreshed_pages(frames[FETCH_LOG], frames[ARTICLES])
    for position, table in enumerate(PUBLISHED_TABLES):
        try:
            if table == ARTICLES:
                reconciled = publish_articles(
                    wh, frames[table], interval,
                    neighbour_days=validated.get("neighbour_days"), neighbour_digest=validated.get("neighbour_digest"),
                    refreshed_urls=refreshed_urls)
                out[table] = reconciled.pop("rows_written")
                version = reconciled.pop("table_version")
                kept, removed = reconciled.pop("kept"), reconciled.pop("removed")
                out["articles_kept"], out["articles_removed"] = len(kept), len(removed)
                if len(removed):
                    log.warning("news %s: removed %d published article(s) their sites say are gone: %s", interval,
                                len(removed), ", ".join(sorted(removed["canonical_url"])[:10]))
            elif table == ARTICLE_ASSETS:
                # links follow their article: re-fetched ones are replaced, kept ones stay
                scope = set(frames[ARTICLES]["article_id"]) | set(removed["article_id"])
                written = wh.write(table, frames[table], interval, refreshed=Refreshed.of("article_id", scope))
                out[table], version = written.rows_written, written.table_version
            else:
                frames[table] = annotate_fetch_log(frames[table], set(kept["canonical_url"]),
                                                   set(removed["canonical_url"]))
                written = wh.write(table, frames[table], interval)
                out[table], version = written.rows_written, written.table_version
        except Exception:
            for later in PUBLISHED_TABLES[position:]:
                _record_dq(wh, dq, later, interval, run_id, is_published=False)
            raise
        _record_dq(wh, dq, table, interval, run_id, is_published=True, table_version=version)
    out["outcomes"] = dict(sorted(Counter(frames[FETCH_LOG]["outcome"]).items()))
    out["stories"] = int(frames[ARTICLES]["story_id"].nunique()) if len(frames[ARTICLES]) else 0
    out["warnings"] = list(validated.get("warnings", []))
    out.update(reconciled)
    out["staged_removed"] = cleanup_staged(wh, interval, run_id, staged.values())
    out["publish_s"] = round(time.perf_counter() - started, 3)
    log.info("news %s: published %d article(s), %d asset link(s), %d fetch_log row(s); outcomes %s",
             interval, out[ARTICLES], out[ARTICLE_ASSETS], out[FETCH_LOG], out["outcomes"])
    return out


def _record_dq(wh, dq: pd.DataFrame, table: str, interval: Interval, run_id: str, *, is_published: bool,
               table_version: int | None = None) -> None:
    """This table's ``dq_results`` rows, in the gate's file (one per interval, table and run)."""
    rows = dq[dq["table_name"] == table].copy()
    if not len(rows):
        return
    rows["is_published"] = is_published
    rows["table_version"] = pd.array([table_version] * len(rows), dtype="Int64")
    wh.write(DQ_RESULTS, rows, interval, file_tag=f"{table}-{run_id}")


def cleanup_staged(wh, interval: Interval, run_id: str, table_batches) -> int:
    """Delete this run's hand-offs: the news step folders and the tables' staged batches."""
    return len(rawstore.remove_staged_run(wh, list(STAGED_STEPS), interval, run_id)) + wh.discard_staged(table_batches)
