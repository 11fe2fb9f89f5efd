"""The first news batches the ``news_ingest`` DAG runs: discover, fetch per source.

Each function takes the run's data interval and returns small JSON-able
metadata for XCom; the data itself moves through staged files in the
warehouse (see :mod:`newsmarkets.news.rawstore`), so a retried step re-reads
what the earlier step found instead of asking the sites again. The steps
after fetching (extract, deduplicate, link, validate, publish) are in
:mod:`newsmarkets.news.stages` and :mod:`newsmarkets.news.validate`.

Discovery. Every source's feeds are read first. A feed is a recent window,
so when it does not reach back to ``interval.start`` (its oldest item of
the contiguous run of recent items is later than the start, or it could not
be read) the source's sitemaps are read too: the index, then only the child
sitemaps whose name dates the interval can touch (``SITEMAP_LOOKBACK_DAYS``
back, for edits). A live hourly run therefore reads feeds only, a backfill
over past days recovers them from sitemaps. Each URL's date is the feed's
publish date when a feed lists it, else the sitemap's (``news:publication_date``,
else ``lastmod``: an edited article without a news sitemap is discovered in
the interval of its last edit, yet published in its own ``published_at``
partition). URLs whose date lies in the interval are kept, de-duplicated by
canonical URL. Everything goes through :class:`PoliteFetcher` (robots,
rate limits, address guard), never an unguarded client.

Fetching. ``fetch_log.dt`` is the UTC date of the attempt's ``fetched_at``.
Pages seen before are fetched conditionally (If-None-Match /
If-Modified-Since from ``_raw_html/_validators/``); a 304 rebuilds the
article from the raw HTML kept then, and its fetch_log row says status 304.
"""

from __future__ import annotations

import logging
import posixpath
import re
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable

from newsmarkets.config import Config, NewsSourceConfig
from newsmarkets.intervals import Interval, as_utc
from newsmarkets.news import rawstore
from newsmarkets.news.discover import DiscoveredUrl, DiscoveryError, parse_feed, parse_sitemap
from newsmarkets.news.urls import UrlError, article_id, canonicalize_url

log = logging.getLogger("newsmarkets.news")

# Consecutive feed items further apart than this end the feed's "recent
# window": pinned or sticky items far in the past say nothing about coverage.
FEED_MAX_GAP = timedelta(hours=12)
# Child sitemaps dated this many days before the interval are read too: an
# article edited into the interval is listed under its publish day.
SITEMAP_LOOKBACK_DAYS = 2
MAX_SITEMAP_FETCHES = 60  # per source and run; politeness over completeness
MAX_SITEMAP_DEPTH = 2  # index -> index -> urlset
MAX_FETCH_WORKERS = 4
_NAME_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


class NewsIngestError(RuntimeError):
    """A news batch cannot go on (nothing readable at all, a target that cannot be fetched)."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _warehouse(cfg: Config):
    from newsmarkets.warehouse.writer import Warehouse

    return Warehouse.from_config(cfg)


def _fetcher(cfg: Config, source: NewsSourceConfig | None, conditional: dict | None = None):
    from newsmarkets.news.fetch import PoliteFetcher

    news = cfg.news
    return PoliteFetcher(
        conditional=conditional,
        user_agent=news.user_agent or cfg.http.user_agent,
        allowed_domains=source.domains if source is not None else None,
        allow_private_networks=cfg.http.allow_private_networks,
        per_domain_rps=news.per_domain_rps,
        per_domain_concurrency=news.per_domain_concurrency,
        timeout_s=news.timeout_s,
        max_bytes=news.max_bytes,
    )


# ----------------------------------------------------------------------------- discovery (pure parts)

def feed_covered_since(dates: Iterable[datetime | None]) -> datetime | None:
    """The oldest time a feed's contiguous recent window reaches back to (None: no dated items)."""
    ordered = sorted((d for d in dates if d is not None), reverse=True)
    if not ordered:
        return None
    oldest = ordered[0]
    for newer, older in zip(ordered, ordered[1:]):
        if newer - older > FEED_MAX_GAP:
            break
        oldest = older
    return oldest


def sitemap_may_touch(child_url: str, interval: Interval) -> bool:
    """Whether a child sitemap can list URLs dated in ``interval``, judged by the date in its name.

    Names without a date may hold anything and are read.
    """
    found = _NAME_DATE.findall(posixpath.basename(child_url.split("?", 1)[0]))
    if not found:
        return True
    try:
        day = date(*map(int, found[-1]))
    except ValueError:
        return True
    first = interval.start.date() - timedelta(days=SITEMAP_LOOKBACK_DAYS)
    last = (interval.end - timedelta(microseconds=1)).date()
    return first <= day <= last


def merge_listings(listings: Iterable[DiscoveredUrl], interval: Interval) -> tuple[list[dict], int]:
    """One entry per canonical URL dated in ``interval``; feed dates win over sitemap dates.

    Returns (entries sorted by date then URL, count of unusable URLs).
    """
    best: dict[str, tuple[tuple, DiscoveredUrl]] = {}
    invalid = 0
    for order, item in enumerate(listings):
        try:
            canonical = canonicalize_url(item.url)
        except UrlError:
            invalid += 1
            continue
        rank = (item.published_at is None, item.date_source != "feed", order)
        if canonical not in best or rank < best[canonical][0]:
            best[canonical] = (rank, item)
    chosen = []
    for canonical, (_, item) in best.items():
        if item.published_at is None or not interval.contains(item.published_at):
            continue
        chosen.append({
            "url": item.url,  # fetched as listed: sites may not answer the canonical spelling
            "canonical_url": canonical,
            "page_id": article_id(canonical),
            "title": item.title,
            "listed_at": item.published_at.astimezone(timezone.utc).isoformat(),
            "date_source": item.date_source,
            "discovered_from": item.discovered_from,
        })
    chosen.sort(key=lambda e: (e["listed_at"], e["url"]))
    return chosen, invalid


# ----------------------------------------------------------------------------- discovery (I/O)

def _read_listing(fetcher, url: str, errors: list[str]) -> bytes | None:
    from newsmarkets.news.fetch import FEED_MEDIA_TYPES

    result = fetcher.fetch(url, accept=FEED_MEDIA_TYPES)
    if result.outcome != "fetched" or result.content is None:
        errors.append(f"{url}: {result.outcome} ({result.reason or result.status})")
        return None
    return result.content


def _read_sitemaps(fetcher, source: NewsSourceConfig, interval: Interval, errors: list[str]) -> tuple[list[DiscoveredUrl], int]:
    found: list[DiscoveredUrl] = []
    queue = [(u, 0) for u in source.sitemaps]
    seen: set[str] = set()
    fetches = 0
    while queue:
        url, depth = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        if fetches >= MAX_SITEMAP_FETCHES:
            errors.append(f"{url}: skipped, {MAX_SITEMAP_FETCHES} sitemaps read already this run")
            continue
        fetches += 1
        data = _read_listing(fetcher, url, errors)
        if data is None:
            continue
        try:
            parsed = parse_sitemap(data, sitemap_url=url, source=source.name, source_timezone=source.timezone)
        except DiscoveryError as exc:
            errors.append(str(exc))
            continue
        found.extend(parsed.urls)
        if depth < MAX_SITEMAP_DEPTH:
            queue.extend((c, depth + 1) for c in parsed.child_sitemaps if sitemap_may_touch(c, interval))
    return found, fetches


def _discover_source(cfg: Config, source: NewsSourceConfig, interval: Interval) -> dict:
    errors: list[str] = []
    listings: list[DiscoveredUrl] = []
    feeds_read = 0
    covered_since: datetime | None = None
    with _fetcher(cfg, source) as fetcher:
        for url in source.feeds:
            data = _read_listing(fetcher, url, errors)
            if data is None:
                continue
            try:
                items = parse_feed(data, feed_url=url, source=source.name, source_timezone=source.timezone)
            except DiscoveryError as exc:
                errors.append(str(exc))
                continue
            feeds_read += 1
            listings.extend(items)
            since = feed_covered_since(i.published_at for i in items)
            if since is not None:
                covered_since = since if covered_since is None else max(covered_since, since)
        # every feed must have been read for its window to count
        feeds_cover = feeds_read == len(source.feeds) and covered_since is not None and covered_since <= interval.start
        read_sitemaps = bool(source.sitemaps) and not feeds_cover
        sitemap_fetches = 0
        if read_sitemaps:
            from_sitemaps, sitemap_fetches = _read_sitemaps(fetcher, source, interval, errors)
            listings.extend(from_sitemaps)
    entries, invalid = merge_listings(listings, interval)
    listing_reads = feeds_read + sitemap_fetches
    return {
        "entries": entries, "errors": errors, "invalid_urls": invalid, "read_sitemaps": read_sitemaps,
        "feeds_read": feeds_read, "sitemap_fetches": sitemap_fetches, "nothing_read": listing_reads == 0,
    }


def discover(cfg: Config, interval: Interval, run_id: str) -> list[dict]:
    """Find each source's article URLs dated in ``interval`` and stage them (see the module docstring).

    Returns one dict per source: ``source``, ``staged`` (path for
    :func:`fetch_source`), ``urls``, ``read_sitemaps`` and ``errors`` (listing
    problems). Raises :class:`NewsIngestError` only when not a single feed or
    sitemap of any source could be read: that is an outage, not a quiet hour.
    """
    if not cfg.news.sources:
        log.warning("news.sources is empty: nothing to discover")
        return []
    wh = _warehouse(cfg)
    out, all_failed = [], True
    for source in cfg.news.sources:
        started = time.perf_counter()
        found = _discover_source(cfg, source, interval)
        all_failed = all_failed and found["nothing_read"]
        for line in found["errors"]:
            log.warning("discover %s: %s", source.name, line)
        doc = {"source": source.name, "interval": [interval.start.isoformat(), interval.end.isoformat()],
               "run_id": run_id, "urls": found["entries"]}
        staged = rawstore.write_staged_json(wh.storage, "discovered", interval, run_id, source.name, doc)
        log.info("discover %s %s: %d URL(s) in the interval (sitemaps read: %s, %d sitemap fetch(es))",
                 source.name, interval, len(found["entries"]), found["read_sitemaps"], found["sitemap_fetches"])
        out.append({
            "source": source.name, "staged": staged, "urls": len(found["entries"]),
            "read_sitemaps": found["read_sitemaps"], "errors": found["errors"][:20],
            "invalid_urls": found["invalid_urls"], "discover_s": round(time.perf_counter() - started, 3),
        })
    if all_failed:
        raise NewsIngestError(
            f"discover {interval}: no feed or sitemap of any source could be read: "
            + "; ".join(e for o in out for e in o["errors"][:3])
        )
    return out


# ----------------------------------------------------------------------------- fetching

def fetch_source(cfg: Config, interval: Interval, run_id: str, discovered: dict) -> dict:
    """Fetch one source's discovered URLs politely, keep raw HTML, stage the results."""
    source = cfg.news.source(discovered["source"])
    wh = _warehouse(cfg)
    doc = rawstore.read_staged_json(wh.storage, discovered["staged"])
    entries = doc["urls"]
    started = time.perf_counter()
    # Pages fetched before are asked for with If-None-Match / If-Modified-Since;
    # a 304 reuses the raw HTML we kept, so the site sends nothing twice.
    known = {e["url"]: rawstore.read_validators(wh.storage, source.name, e["page_id"]) for e in entries}
    known = {url: doc for url, doc in known.items() if doc is not None}
    conditional = {url: (doc.get("etag"), doc.get("last_modified")) for url, doc in known.items()}
    with _fetcher(cfg, source, conditional) as fetcher:
        results = fetcher.fetch_many([e["url"] for e in entries], max_workers=MAX_FETCH_WORKERS)
    rows = []
    for entry, result in zip(entries, results):
        fetched_at = as_utc(result.fetched_at)
        raw_path, outcome, final_url, is_not_modified = None, result.outcome, result.final_url, False
        if result.outcome == "fetched" and result.html is not None:
            raw_path = rawstore.write_raw_html(wh.storage, fetched_at, source.name, entry["page_id"], result.html)
            if result.etag or result.last_modified:
                rawstore.write_validators(wh.storage, source.name, entry["page_id"], etag=result.etag,
                                          last_modified=result.last_modified, raw_path=raw_path,
                                          final_url=result.final_url)
        elif result.outcome == "not_modified" and entry["url"] in known:
            doc = known[entry["url"]]
            raw_path, outcome, is_not_modified = doc["raw_path"], "fetched", True
            final_url = doc.get("final_url") or result.final_url
        rows.append({
            **entry,
            "final_url": final_url,
            "is_not_modified": is_not_modified,
            "outcome": outcome,
            "status": result.status,
            "reason": result.reason or None,
            "attempts": result.attempts,
            "fetched_at": fetched_at.isoformat(),
            "content_type": result.content_type,
            "raw_path": raw_path,
        })
    outcomes = Counter("not_modified" if r["is_not_modified"] else r["outcome"] for r in rows)
    staged = rawstore.write_staged_json(
        wh.storage, "fetched", interval, run_id, source.name,
        {"source": source.name, "run_id": run_id, "results": rows},
    )
    log.info("fetch %s %s: %s", source.name, interval, dict(sorted(outcomes.items())))
    return {"source": source.name, "staged": staged, "urls": len(rows), "outcomes": dict(sorted(outcomes.items())),
            "fetch_s": round(time.perf_counter() - started, 3)}


# ----------------------------------------------------------------------------- one page, for the CLI

def extract_url_or_file(target: str, *, url: str | None = None, cfg: Config) -> dict:
    """Extract one article from a URL (fetched politely) or a local HTML file.

    ``url`` is the page's address when ``target`` is a file (for relative
    links and the canonical URL). The source timezone is that of the
    configured source whose domains include the page's host, else UTC.
    Returns the :class:`ArticleRecord` dict plus ``article_id``,
    ``content_hash`` and ``assets`` (the linked assets).
    """
    from urllib.parse import urlsplit

    from newsmarkets.news.dedup import content_hash
    from newsmarkets.news.extract import extract_article
    from newsmarkets.news.link import link_article
    from newsmarkets.news.stages import asset_dictionary

    fetched_at = None
    if re.match(r"^https?://", target, re.I):
        with _fetcher(cfg, None) as fetcher:
            result = fetcher.fetch(target)
        if result.outcome != "fetched" or result.html is None:
            raise NewsIngestError(f"{target}: cannot fetch the page: {result.outcome} ({result.reason or result.status})")
        html, page_url, fetched_at = result.html, result.final_url, as_utc(result.fetched_at)
    else:
        try:
            with open(target, "rb") as handle:
                html = handle.read()
        except OSError as exc:
            raise NewsIngestError(f"{target}: cannot read the file ({exc.strerror or exc})") from None
        page_url = url
    host = urlsplit(page_url).hostname if page_url else None
    tz = next((s.timezone for s in cfg.news.sources if host and host in s.domains), "UTC")
    record = extract_article(html, page_url, fetched_at=fetched_at, source_timezone=tz, min_words=cfg.news.min_words)
    out: dict[str, Any] = record.to_dict()
    canonical = None
    if page_url or record.canonical_url:
        try:
            canonical = canonicalize_url(page_url or record.canonical_url, canonical_hint=record.canonical_url)
        except UrlError:
            canonical = None
    out["canonical_url"] = canonical or record.canonical_url
    out["article_id"] = article_id(canonical) if canonical else None
    out["content_hash"] = content_hash(record.body)
    out["assets"] = [
        {"asset_id": m.asset_id, "mentions": m.mentions, "in_title": m.in_title, "matched_terms": list(m.matched_terms)}
        for m in link_article(record.title, record.body, asset_dictionary(cfg))
    ]
    return out
