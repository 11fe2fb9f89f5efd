"""``newsmarkets sources check``: is each configured news source usable, before a DAG depends on it?

Per source, what news_ingest does for the last 24 hours: its discover step
(:func:`~newsmarkets.news.ingest.discover.discover_source`: feeds, then
sitemaps when the feeds do not reach back, through the same polite fetcher
with robots.txt and rate limits), then a sample of the newest articles
fetched and extracted as the extract step does, but without the listing's
date, so what is judged is the pages' own publish times. Nothing is written
to the warehouse.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from newsmarkets.config import Config, NewsSourceConfig
from newsmarkets.intervals import Interval, as_utc

DEFAULT_SAMPLE = 3
LOOKBACK = timedelta(hours=24)
# A source's verdict: ok, WARN (usable, with gaps to look at) or FAIL (news_ingest gets nothing usable from it).
OK, WARN, FAIL = "ok", "WARN", "FAIL"


@dataclass
class SourceHealth:
    source: str
    listings: int  # feeds and sitemaps configured
    listings_read: int  # of them (and of sitemap children) fetched
    robots_refused: int  # listings and sampled pages robots.txt disallows for our user agent
    items_last_day: int  # distinct article URLs dated in the last 24 hours
    sampled: int  # of those, fetched and extracted
    extracted: int  # an article with a title came out
    dated: int  # the page states its publish date
    timed: int  # ... with a time of day
    linked: int  # at least one asset linked
    problems: list[str] = field(default_factory=list)
    robots_sitemaps: list[str] = field(default_factory=list)  # what the hosts' robots.txt list, for a config

    @property
    def is_reachable(self) -> bool:
        return self.listings_read > 0

    @property
    def status(self) -> str:
        if not self.is_reachable or (self.sampled and not self.extracted):
            return FAIL
        if self.robots_refused or not self.items_last_day or self.extracted < self.sampled or self.timed < self.extracted:
            return WARN
        return OK

    def to_dict(self) -> dict:
        return {**asdict(self), "is_reachable": self.is_reachable, "status": self.status}


def _is_robots_refusal(outcome: str, reason: str) -> bool:
    """A rule in robots.txt, not a robots.txt that could not be fetched (RFC 9309 then disallows all: a site down)."""
    return outcome == "robots" and "unreachable" not in (reason or "")


def _sample_pages(cfg: Config, source: NewsSourceConfig, fetcher, entries: list[dict], health: SourceHealth) -> None:
    from newsmarkets.news.extract import ExtractionError, extract_article
    from newsmarkets.news.ingest.link import asset_dictionary
    from newsmarkets.news.link import link_article

    dictionary = asset_dictionary(cfg)
    for result in fetcher.fetch_many([e["url"] for e in entries]):
        health.sampled += 1
        if _is_robots_refusal(result.outcome, result.reason):
            health.robots_refused += 1
        if result.outcome != "fetched" or result.html is None:
            health.problems.append(f"{result.url}: not fetched: {result.outcome} ({result.reason or result.status})")
            continue
        try:
            record = extract_article(result.html, result.final_url, fetched_at=as_utc(result.fetched_at),
                                     source_timezone=source.timezone, min_words=cfg.news.min_words)
        except ExtractionError as exc:
            health.problems.append(f"{result.url}: no article extracted: {exc}")
            continue
        if not (record.title or "").strip():
            health.problems.append(f"{result.url}: no title")
            continue
        health.extracted += 1
        if record.published_at is None:
            health.problems.append(f"{result.url}: the page states no publish date (only the listing's would be used)")
        else:
            health.dated += 1
            if record.published_at_has_time:
                health.timed += 1
            else:
                health.problems.append(f"{result.url}: the page states a publish date without a time of day")
        if link_article(record.title, record.body, dictionary):
            health.linked += 1


def check_source(cfg: Config, source: NewsSourceConfig, *, now: datetime | None = None,
                 sample: int = DEFAULT_SAMPLE) -> SourceHealth:
    """Read one source's listings for the 24 hours before ``now`` and extract its ``sample`` newest articles."""
    from newsmarkets.news.ingest.common import polite_fetcher
    from newsmarkets.news.ingest.discover import discover_source

    now = as_utc(now) if now is not None else datetime.now(timezone.utc)
    with polite_fetcher(cfg, source) as fetcher:
        found = discover_source(cfg, source, Interval(now - LOOKBACK, now), fetcher)
        outcomes = list(found["listing_outcomes"].values())
        health = SourceHealth(
            source=source.name, listings=len(source.feeds) + len(source.sitemaps),
            listings_read=sum(o == "fetched" for o, _ in outcomes),
            robots_refused=sum(_is_robots_refusal(o, reason) for o, reason in outcomes),
            items_last_day=len(found["entries"]), sampled=0, extracted=0, dated=0, timed=0, linked=0,
            problems=list(found["errors"]),
        )
        if health.robots_refused:
            health.problems.insert(0, f"robots.txt disallows {health.robots_refused} of the listings for our user agent")
        if any(o == "robots" and not _is_robots_refusal(o, reason) for o, reason in outcomes):
            health.problems.insert(0, "robots.txt could not be fetched (host down or 5xx): RFC 9309 then allows nothing")
        if not health.is_reachable:
            health.problems.insert(0, "no feed or sitemap could be read")
        elif not health.items_last_day:
            health.problems.append("nothing listed in the last 24 hours")
        if health.is_reachable and not source.sitemaps:
            origins = dict.fromkeys(f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in source.feeds)
            health.robots_sitemaps = [m for origin in origins for m in fetcher.robots_sitemaps(origin)]
            listed = f" (robots.txt lists {', '.join(health.robots_sitemaps[:3])})" if health.robots_sitemaps else ""
            health.problems.append(f"no sitemaps configured: backfills reach back only as far as the feeds{listed}")
        newest = sorted(found["entries"], key=lambda e: e["listed_at"], reverse=True)[:max(0, sample)]
        _sample_pages(cfg, source, fetcher, newest, health)
    return health


def check_sources(cfg: Config, *, now: datetime | None = None, sample: int = DEFAULT_SAMPLE,
                  names: list[str] | None = None, progress=None) -> list[SourceHealth]:
    """:func:`check_source` for every configured source (or the ``names`` given), in config order."""
    if not cfg.news.sources:
        from newsmarkets.config import ConfigError

        raise ConfigError(f"{cfg.source_path}: news.sources is empty: there is nothing to check")
    sources = [cfg.news.source(n) for n in names] if names else list(cfg.news.sources)
    out = []
    for index, source in enumerate(sources, 1):
        if progress:
            progress(f"[{index}/{len(sources)}] {source.name}: reading listings, extracting {sample} newest article(s)…")
        out.append(check_source(cfg, source, now=now, sample=sample))
    return out


def _short(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _fraction(part: int, whole: int) -> str:
    return f"{part}/{whole}" if whole else "-"


def render(results: list[SourceHealth], *, now: datetime) -> str:
    """A fixed-width health table, then every source's problems."""
    header = ("source", "status", "reachable", "robots", "items 24h", "extracted", "dated", "with time", "linked")
    rows = [(h.source, h.status, f"{h.listings_read} read" if h.is_reachable else "no",
             f"{h.robots_refused} refused" if h.robots_refused else ("allowed" if h.is_reachable else "-"),
             str(h.items_last_day),
             _fraction(h.extracted, h.sampled), _fraction(h.dated, h.extracted), _fraction(h.timed, h.extracted),
             _fraction(h.linked, h.extracted)) for h in results]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [f"News sources at {now:%Y-%m-%d %H:%M} UTC (listings of the last 24 h, newest articles sampled)", ""]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    flagged = [h for h in results if h.problems]
    if flagged:
        lines.append("")
        for h in flagged:
            lines.append(f"{h.source} ({h.status}):")
            lines += [f"  - {_short(p)}" for p in h.problems[:10]]
            if len(h.problems) > 10:
                lines.append(f"  - … and {len(h.problems) - 10} more")
    return "\n".join(lines)
