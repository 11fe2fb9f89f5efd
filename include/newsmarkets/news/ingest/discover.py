"""The discover step of news_ingest: each source's article URLs dated in the run's interval.

Every source's feeds are read first. A feed is a recent window,
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
rate limits, address guard), never an unguarded client. Parsing the feeds
and sitemaps themselves is :mod:`newsmarkets.news.discover`'s job.
"""

from __future__ import annotations

import logging
import posixpath
import re
import time
from datetime import date, datetime, timedelta, timezone
from typing import Iterable

from newsmarkets.config import Config, NewsSourceConfig
from newsmarkets.intervals import Interval, IntervalNotServable
from newsmarkets.news.discover import DiscoveredUrl, DiscoveryError, parse_feed, parse_sitemap
from newsmarkets.news.ingest.common import NewsIngestError, open_warehouse, polite_fetcher
from newsmarkets.news.urls import UrlError, article_id, canonicalize_url
from newsmarkets.warehouse import rawstore

log = logging.getLogger("newsmarkets.news")

# Consecutive feed items further apart than this end the feed's "recent
# window": pinned or sticky items far in the past say nothing about coverage.
FEED_MAX_GAP = timedelta(hours=12)
# Child sitemaps dated this many days before the interval are read too: an
# article edited into the interval is listed under its publish day.
SITEMAP_LOOKBACK_DAYS = 2
MAX_SITEMAP_FETCHES = 60  # per source and run; politeness over completeness
MAX_SITEMAP_DEPTH = 2  # index -> index -> urlset
_NAME_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


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

def _read_listing(fetcher, url: str, errors: list[str], outcomes: dict[str, tuple[str, str]]) -> bytes | None:
    from newsmarkets.news.fetch import FEED_MEDIA_TYPES

    result = fetcher.fetch(url, accept=FEED_MEDIA_TYPES)
    outcomes[url] = (result.outcome, result.reason)
    if result.outcome != "fetched" or result.content is None:
        errors.append(f"{url}: {result.outcome} ({result.reason or result.status})")
        return None
    return result.content


def _read_sitemaps(fetcher, source: NewsSourceConfig, interval: Interval, errors: list[str],
                   outcomes: dict[str, tuple[str, str]]) -> tuple[list[DiscoveredUrl], int]:
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
        data = _read_listing(fetcher, url, errors, outcomes)
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


def discover_source(cfg: Config, source: NewsSourceConfig, interval: Interval, fetcher=None) -> dict:
    """One source's listings for ``interval``; ``fetcher``: an open :class:`PoliteFetcher` to use (else its own)."""
    if fetcher is None:
        with polite_fetcher(cfg, source) as own:
            return discover_source(cfg, source, interval, own)
    errors: list[str] = []
    outcomes: dict[str, tuple[str, str]] = {}  # listing URL -> (fetch outcome, reason), for sources check
    listings: list[DiscoveredUrl] = []
    feeds_read = 0
    covered_since: datetime | None = None
    for url in source.feeds:
        data = _read_listing(fetcher, url, errors, outcomes)
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
        from_sitemaps, sitemap_fetches = _read_sitemaps(fetcher, source, interval, errors, outcomes)
        listings.extend(from_sitemaps)
    entries, invalid = merge_listings(listings, interval)
    listing_reads = feeds_read + sitemap_fetches
    dated = [i.published_at for i in listings if i.published_at is not None]
    return {
        "entries": entries, "errors": errors, "invalid_urls": invalid, "read_sitemaps": read_sitemaps,
        "feeds_read": feeds_read, "sitemap_fetches": sitemap_fetches, "nothing_read": listing_reads == 0,
        "oldest_listed_at": min(dated).astimezone(timezone.utc) if dated else None, "listing_outcomes": outcomes,
    }


def check_servable(interval: Interval, oldest_listed: dict[str, datetime | None], urls_found: int,
                   now: datetime) -> None:
    """Refuse an hour the sources cannot answer for, instead of succeeding with no articles.

    An hour that has not begun cannot be served; nor can one older than
    everything every source's feeds and sitemaps list (before the sources'
    archives reach back). A quiet hour inside what the listings cover is
    data: it succeeds empty. Sources that listed nothing dated say nothing.
    """
    if interval.start >= now:
        raise IntervalNotServable(
            f"news_ingest cannot serve {interval}: it has not begun yet (now is {now:%Y-%m-%dT%H:%MZ})")
    known = {name: at for name, at in oldest_listed.items() if at is not None}
    if urls_found or not known or min(known.values()) < interval.end:
        return
    reach = ", ".join(f"{name} {at:%Y-%m-%dT%H:%MZ}" for name, at in sorted(known.items()))
    raise IntervalNotServable(
        f"news_ingest cannot serve {interval}: no source's feeds or sitemaps list anything that old "
        f"(oldest listed page per source: {reach}); add an archive sitemap reaching back that far to the "
        "source's sitemaps")


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
    wh = open_warehouse(cfg)
    now = datetime.now(timezone.utc)
    if interval.start >= now:  # before reading anything: nothing can be listed yet
        check_servable(interval, {}, 0, now)
    found_per_source, all_failed = [], True
    for source in cfg.news.sources:
        started = time.perf_counter()
        found = discover_source(cfg, source, interval)
        all_failed = all_failed and found["nothing_read"]
        for line in found["errors"]:
            log.warning("discover %s: %s", source.name, line)
        found_per_source.append((source, found, time.perf_counter() - started))
    if all_failed:
        raise NewsIngestError(
            f"discover {interval}: no feed or sitemap of any source could be read: "
            + "; ".join(e for _, f, _ in found_per_source for e in f["errors"][:3])
        )
    check_servable(interval, {s.name: f["oldest_listed_at"] for s, f, _ in found_per_source},
                   sum(len(f["entries"]) for _, f, _ in found_per_source), now)
    out = []
    for source, found, discover_s in found_per_source:
        doc = {"source": source.name, "interval": [interval.start.isoformat(), interval.end.isoformat()],
               "run_id": run_id, "urls": found["entries"]}
        staged = rawstore.write_staged_json(wh, "discovered", interval, run_id, source.name, doc)
        log.info("discover %s %s: %d URL(s) in the interval (sitemaps read: %s, %d sitemap fetch(es))",
                 source.name, interval, len(found["entries"]), found["read_sitemaps"], found["sitemap_fetches"])
        out.append({
            "source": source.name, "staged": staged, "urls": len(found["entries"]),
            "read_sitemaps": found["read_sitemaps"], "errors": found["errors"][:20],
            "invalid_urls": found["invalid_urls"], "discover_s": round(discover_s, 3),
        })
    return out
