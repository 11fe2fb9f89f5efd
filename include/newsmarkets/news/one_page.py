"""One article from a URL or a local HTML file, for ``newsmarkets extract`` (the CLI), outside any DAG run."""

from __future__ import annotations

import re
from typing import Any

from newsmarkets.config import Config
from newsmarkets.intervals import as_utc
from newsmarkets.news.ingest.common import NewsIngestError, polite_fetcher
from newsmarkets.news.urls import UrlError, article_id, canonicalize_url


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
    from newsmarkets.news.ingest.link import asset_dictionary

    fetched_at = None
    if re.match(r"^https?://", target, re.I):
        with polite_fetcher(cfg, None) as fetcher:
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
