"""The build half of ``news_ingest``: extract → deduplicate → link → validate → publish.

One function per DAG task. Each reads the previous step's staged files,
stages its own output and returns small JSON-able metadata (paths, counts,
timings) for XCom; a retried task re-reads exactly what the step before it
left. Hand-offs:

* extract: ``_staging/news_extracted/<interval>/<run>/`` — ``candidates.parquet``
  (one row per page that became an article candidate, with its fetch facts)
  and ``fetch_log.parquet`` (the pages that did not: fetcher outcomes and
  extraction failures);
* deduplicate: the ``articles`` and ``fetch_log`` batches, staged in the
  tables' types by :meth:`Warehouse.stage`;
* link: the ``article_assets`` batch, likewise;
* validate (:mod:`newsmarkets.news.validate`: the only step importing Great
  Expectations): the ``dq_results`` rows of the three batches.

Accounting: every discovered URL gets exactly one ``fetch_log`` row per run
(``article``, ``duplicate``, ``extraction_failed`` or the fetcher's
outcome), and an ``article`` row names exactly one ``articles`` row; the
rows are built by extract (failures) and deduplicate (the rest), so no
URL can fall between two tasks.

Stories are assigned against this batch plus ``articles`` other intervals
published in the days around it, so a copy found later joins the earlier
story (its id never changes). Runs published concurrently or out of order
are reconciled at publish time, under a lock (see
:mod:`newsmarkets.news.originals`): exactly one article per ``story_id``
is ``is_original``, across the whole warehouse.

Assets are linked with the built-in vocabulary (:data:`DEFAULT_COINS` and
aliases of :mod:`newsmarkets.news.aliases`), not the price provider's coin
list: the build must not depend on the price API being up. Coins missing
from that vocabulary are not linked.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter

import pandas as pd

from newsmarkets.config import Config, NewsSourceConfig
from newsmarkets.intervals import Interval, as_utc
from newsmarkets.news import rawstore
from newsmarkets.news.pipeline import NewsIngestError, _warehouse
from newsmarkets.news.urls import UrlError, article_id, canonicalize_url

log = logging.getLogger("newsmarkets.news")

ARTICLES = "articles"
ARTICLE_ASSETS = "article_assets"
FETCH_LOG = "fetch_log"
DQ_RESULTS = "dq_results"
PUBLISHED_TABLES = (ARTICLES, ARTICLE_ASSETS, FETCH_LOG)  # publish order
# News hand-off folders under _staging/ (besides the tables' own staged batches).
STAGED_STEPS = ("discovered", "fetched", "extracted")

FETCH_LOG_COLUMNS = ["url", "source", "status", "outcome", "reason", "attempts", "article_id", "fetched_at",
                     "run_id", "interval_start_at"]
# What a candidate carries beyond the article: the fetch facts its fetch_log row needs.
CANDIDATE_LOG_COLUMNS = ["listed_url", "status", "attempts", "is_direct"]


# ----------------------------------------------------------------------------- pure parts

def asset_dictionary(cfg: Config):
    """The linker vocabulary: every built-in coin with its aliases (no network).

    Built-in coins beyond ``prices.assets`` are linked too: an article about
    them is still about them, and their prices can be tracked later. A
    tracked asset without built-in names cannot be linked (warned once).
    """
    from newsmarkets.news.aliases import DEFAULT_COINS
    from newsmarkets.news.link import build_asset_dictionary

    unknown = sorted(set(cfg.prices.assets) - {c["id"] for c in DEFAULT_COINS})
    if unknown:
        log.warning("no built-in names for tracked asset(s) %s: their articles are not linked", ", ".join(unknown))
    return build_asset_dictionary(DEFAULT_COINS)


def extract_candidate(row: dict, html: str, source: NewsSourceConfig, min_words: int) -> dict:
    """One staged fetch row plus its page -> an article candidate dict (raises ExtractionError)."""
    from newsmarkets.news.dedup import content_hash
    from newsmarkets.news.extract import ExtractionError, extract_article

    url = row["final_url"] or row["url"]
    fetched_at = as_utc(row["fetched_at"])
    listed_at = as_utc(row["listed_at"]) if row.get("listed_at") else None
    # A feed's date is a publish date; a sitemap's may be lastmod (the last
    # edit), so it only stands in when the page itself gives no time.
    from_feed = row.get("date_source") == "feed"
    record = extract_article(
        html, url, fetched_at=fetched_at, source_timezone=source.timezone,
        feed_published_at=listed_at if from_feed else None, min_words=min_words,
    )
    if not record.title or not record.title.strip():
        raise ExtractionError(url, "no title")
    if record.published_at is None and listed_at is not None and not from_feed:
        record.published_at = listed_at.replace(second=0, microsecond=0)
        record.published_at_source = "sitemap"
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


def log_row(row: dict, run_id: str, interval: Interval, outcome: str, reason: str | None,
            article: str | None) -> dict:
    """One ``fetch_log`` row; ``row`` needs ``url``, ``source``, ``fetched_at`` (``status``, ``attempts`` optional)."""
    status = row.get("status")
    return {
        "url": row["url"], "source": row["source"], "status": None if pd.isna(status) else int(status),
        "outcome": outcome, "reason": reason, "attempts": int(row.get("attempts") or 0), "article_id": article,
        "fetched_at": as_utc(row["fetched_at"]), "run_id": run_id, "interval_start_at": interval.start,
    }


# A page the site says is gone: its published article goes too. Every other
# failure (5xx, timeouts, robots, extraction) leaves the published article as it was.
GONE_STATUSES = frozenset({404, 410})
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


def ids_digest(article_ids) -> str:
    """A short fingerprint of a set of article ids: tells publish whether the neighbourhood changed."""
    text = "\n".join(sorted({str(a) for a in article_ids}))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


# ----------------------------------------------------------------------------- extract

def extract(cfg: Config, interval: Interval, run_id: str, fetched: list[dict]) -> dict:
    """Extract every fetched page of the run; stage the candidates and the pages that failed.

    ``fetched`` is the list of :func:`~newsmarkets.news.pipeline.fetch_source`
    results (one per source).
    """
    from newsmarkets.news.extract import ExtractionError
    from newsmarkets.quality.thin_batch import check_failed_share

    started = time.perf_counter()
    wh = _warehouse(cfg)
    failures: list[dict] = []
    candidates: list[dict] = []
    pages = 0
    for batch in fetched:
        source = cfg.news.source(batch["source"])
        doc = rawstore.read_staged_json(wh.storage, batch["staged"])
        for row in doc["results"]:
            row = {**row, "source": source.name}
            if row["outcome"] != "fetched":
                failures.append(log_row(row, run_id, interval, row["outcome"], row.get("reason"), None))
                continue
            pages += 1
            try:
                html = rawstore.read_raw_html(wh.storage, row["raw_path"])
                candidates.append(extract_candidate(row, html, source, cfg.news.min_words))
            except ExtractionError as exc:
                failures.append(log_row(row, run_id, interval, "extraction_failed", exc.reason, None))
    # Checked here, the first step that sees every source's fetches, before anything is staged for publishing.
    check_failed_share(f"news_ingest {interval}", *fetch_failures(failures, pages),
                       cfg.quality.max_failed_fetch_share)
    staged_candidates = rawstore.write_staged_frame(
        wh.storage, "extracted", interval, run_id, "candidates", candidates_frame(candidates))
    staged_log = rawstore.write_staged_frame(
        wh.storage, "extracted", interval, run_id, "fetch_log", fetch_log_frame(failures))
    outcomes = Counter(r["outcome"] for r in failures)
    log.info("extract %s: %d page(s), %d candidate(s), not articles: %s", interval, pages, len(candidates),
             dict(sorted(outcomes.items())))
    return {
        "candidates": staged_candidates, "fetch_log": staged_log, "pages": pages,
        "candidate_count": len(candidates), "not_articles": dict(sorted(outcomes.items())),
        "urls": sum(int(b["urls"]) for b in fetched), "extract_s": round(time.perf_counter() - started, 3),
    }


# ----------------------------------------------------------------------------- deduplicate

def deduplicate(cfg: Config, interval: Interval, run_id: str, extracted: dict) -> dict:
    """Drop duplicate pages, group the rest into stories; stage ``articles`` and the run's whole ``fetch_log``."""
    from newsmarkets.news.dedup import assign_stories
    from newsmarkets.news.originals import read_articles, story_days

    started = time.perf_counter()
    wh = _warehouse(cfg)
    frame = rawstore.read_staged_frame(wh.storage, extracted["candidates"])
    failures = rawstore.read_staged_frame(wh.storage, extracted["fetch_log"])
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


# ----------------------------------------------------------------------------- link

def link(cfg: Config, interval: Interval, run_id: str, deduped: dict) -> dict:
    """Link the staged articles to the assets they mention; stage ``article_assets``."""
    from newsmarkets.news.link import LINK_COLUMNS, link_frame

    started = time.perf_counter()
    wh = _warehouse(cfg)
    articles = wh.load_staged(ARTICLES, deduped[ARTICLES])
    if len(articles):
        links = link_frame(articles, asset_dictionary(cfg)).drop(columns=["dt"])
    else:
        links = pd.DataFrame(columns=LINK_COLUMNS[:-1])
        links["published_at"] = pd.to_datetime(links["published_at"], utc=True)
    out = {**deduped, ARTICLE_ASSETS: wh.stage(ARTICLE_ASSETS, links, interval, run_id),
           "links": len(links), "link_s": round(time.perf_counter() - started, 3)}
    log.info("link %s: %d asset link(s) for %d article(s)", interval, len(links), len(articles))
    return out


# ----------------------------------------------------------------------------- publish

def publish(cfg: Config, interval: Interval, run_id: str, validated: dict) -> dict:
    """Publish the validated batches: ``articles`` (reconciling originals), ``article_assets``, ``fetch_log``.

    ``validated`` is :func:`newsmarkets.news.validate.validate`'s result. Each
    table's ``dq_results`` rows are written after its write, saying whether it
    was published (as the quality gate does). After a successful publish this
    run's staged files are deleted; a failure keeps them for debugging.
    """
    from newsmarkets.news.originals import publish_articles
    from newsmarkets.warehouse.writer import Refreshed

    started = time.perf_counter()
    wh = _warehouse(cfg)
    staged = {t: validated[t] for t in (*PUBLISHED_TABLES, DQ_RESULTS)}
    missing = [p for p in staged.values() if not wh.storage.fs.exists(wh.storage.to_path(p))]
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
                kept, removed = reconciled.pop("kept"), reconciled.pop("removed")
                out["articles_kept"], out["articles_removed"] = len(kept), len(removed)
                if len(removed):
                    log.warning("news %s: removed %d published article(s) their sites say are gone: %s", interval,
                                len(removed), ", ".join(sorted(removed["canonical_url"])[:10]))
            elif table == ARTICLE_ASSETS:
                # links follow their article: re-fetched ones are replaced, kept ones stay
                scope = set(frames[ARTICLES]["article_id"]) | set(removed["article_id"])
                out[table] = wh.write(table, frames[table], interval,
                                      refreshed=Refreshed.of("article_id", scope)).rows_written
            else:
                frames[table] = annotate_fetch_log(frames[table], set(kept["canonical_url"]),
                                                   set(removed["canonical_url"]))
                out[table] = wh.write(table, frames[table], interval).rows_written
        except Exception:
            for later in PUBLISHED_TABLES[position:]:
                _record_dq(wh, dq, later, interval, run_id, is_published=False)
            raise
        _record_dq(wh, dq, table, interval, run_id, is_published=True)
    out["outcomes"] = dict(sorted(Counter(frames[FETCH_LOG]["outcome"]).items()))
    out["stories"] = int(frames[ARTICLES]["story_id"].nunique()) if len(frames[ARTICLES]) else 0
    out["warnings"] = list(validated.get("warnings", []))
    out.update(reconciled)
    out["staged_removed"] = cleanup_staged(wh, interval, run_id, staged.values())
    out["publish_s"] = round(time.perf_counter() - started, 3)
    log.info("news %s: published %d article(s), %d asset link(s), %d fetch_log row(s); outcomes %s",
             interval, out[ARTICLES], out[ARTICLE_ASSETS], out[FETCH_LOG], out["outcomes"])
    return out


def _record_dq(wh, dq: pd.DataFrame, table: str, interval: Interval, run_id: str, *, is_published: bool) -> None:
    """This table's ``dq_results`` rows, in the gate's file (one per interval, table and run)."""
    rows = dq[dq["table_name"] == table].copy()
    if not len(rows):
        return
    rows["is_published"] = is_published
    wh.write(DQ_RESULTS, rows, interval, file_tag=f"{table}-{run_id}")


def cleanup_staged(wh, interval: Interval, run_id: str, table_batches) -> int:
    """Delete this run's hand-offs: the news step folders and the tables' staged batches."""
    removed = len(rawstore.remove_staged_run(wh.storage, list(STAGED_STEPS), interval, run_id))
    for path in table_batches:
        local = wh.storage.to_path(path)
        if wh.storage.fs.exists(local):
            wh.storage.remove(local)
            removed += 1
        rawstore.remove_if_empty(wh.storage, local.rsplit("/", 1)[0])
    return removed


def run_interval(cfg: Config, interval: Interval, run_id: str) -> dict:
    """Every step of one interval in this process, in the DAG's order (tests, one-off reruns)."""
    from newsmarkets.news.pipeline import discover, fetch_source
    from newsmarkets.news.validate import validate

    discovered = discover(cfg, interval, run_id)
    fetched = [fetch_source(cfg, interval, run_id, d) for d in discovered]
    extracted = extract(cfg, interval, run_id, fetched)
    deduped = deduplicate(cfg, interval, run_id, extracted)
    linked = link(cfg, interval, run_id, deduped)
    validated = validate(cfg, interval, run_id, linked)
    published = publish(cfg, interval, run_id, validated)
    return {"discovered": discovered, "fetched": fetched, "extracted": extracted, "deduped": deduped,
            "linked": linked, "validated": validated, "built": published}
