"""Find article URLs in RSS/Atom feeds and (news) sitemaps: bytes in, records out.

Feeds and sitemaps come from servers we do not control, so the XML parser is
hardened: no DTD loading, no entity expansion, no network (XXE and
billion-laughs safe), and gzip input is inflated with a size cap.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Iterable
from urllib.parse import urljoin, urlsplit

from lxml import etree

from newsmarkets.intervals import Interval
from newsmarkets.news.dates import parse_timestamp, zone
from newsmarkets.news.urls import registrable_domain

# sitemaps.org caps an uncompressed sitemap at 50 MB; anything bigger is hostile or broken
MAX_XML_BYTES = 50 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


class DiscoveryError(ValueError):
    """A feed or sitemap could not be parsed; the message names its URL."""

    def __init__(self, url: str, reason: str):
        self.url, self.reason = url, reason
        super().__init__(f"{url}: {reason}")


@dataclass(frozen=True)
class DiscoveredUrl:
    """One candidate article URL and what the listing said about it."""

    url: str
    source: str  # the outlet, by default the listing's registrable domain
    title: str | None
    published_at: datetime | None  # aware UTC
    date_source: str | None  # 'feed' | 'sitemap' | None when the listing gave no date
    discovered_from: str  # the feed or sitemap URL
    guid: str | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["published_at"] = self.published_at.isoformat() if self.published_at else None
        return d


@dataclass(frozen=True)
class SitemapResult:
    urls: list[DiscoveredUrl] = field(default_factory=list)
    child_sitemaps: list[str] = field(default_factory=list)


def _parser() -> etree.XMLParser:
    # a fresh parser per call: lxml parsers are not thread-safe
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        recover=False,
    )


def _gunzip(data: bytes, url: str) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, MAX_XML_BYTES + 1)
    except zlib.error as exc:
        raise DiscoveryError(url, f"gzip data is corrupt ({exc})") from None
    if len(out) > MAX_XML_BYTES:
        raise DiscoveryError(url, f"gzip data inflates beyond {MAX_XML_BYTES} bytes")
    if not inflater.eof:
        raise DiscoveryError(url, "gzip data is truncated")
    return out


def _parse_xml(data: bytes, url: str) -> etree._Element:
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray)):
        raise DiscoveryError(url, f"expected XML bytes, got {type(data).__name__}")
    if data[:2] == _GZIP_MAGIC:
        data = _gunzip(bytes(data), url)
    if len(data) > MAX_XML_BYTES:
        raise DiscoveryError(url, f"document is larger than {MAX_XML_BYTES} bytes")
    # a BOM or blank lines before <?xml ...?> make lxml refuse otherwise fine files
    data = data.lstrip(b"\xef\xbb\xbf").lstrip()
    if not data:
        raise DiscoveryError(url, "document is empty")
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise DiscoveryError(url, f"malformed XML ({exc})") from None
    if root is None:
        raise DiscoveryError(url, "document has no root element")
    return root


def _local(tag) -> str:
    return etree.QName(tag).localname.lower() if isinstance(tag, str) else ""


def _children(el: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in el if _local(c.tag) == name]


def _first_text(el: etree._Element, *names: str) -> str | None:
    for name in names:
        for child in _children(el, name):
            text = "".join(child.itertext()).strip()
            if text:
                return text
    return None


def _date(text: str | None, tz) -> datetime | None:
    parsed = parse_timestamp(text, tz) if text else None
    return parsed.value if parsed else None


def _absolute(link: str | None, base: str) -> str | None:
    if not link:
        return None
    absolute = urljoin(base, link.strip())
    return absolute if urlsplit(absolute).scheme in ("http", "https") else None


def _default_source(listing_url: str, source: str | None) -> str:
    return source or registrable_domain(listing_url) or urlsplit(listing_url).netloc or listing_url


def parse_feed(
    xml: bytes, *, feed_url: str, source: str | None = None, source_timezone: str = "UTC"
) -> list[DiscoveredUrl]:
    """Entries of an RSS 2.0 / RSS 1.0 (RDF) / Atom feed, in feed order.

    ``published_at`` comes from ``pubDate`` / ``published`` / ``dc:date`` and
    falls back to ``updated``; values without an offset are in
    ``source_timezone``. Relative links resolve against ``feed_url``; entries
    without a usable http(s) link are skipped.
    """
    tz = zone(source_timezone)
    root = _parse_xml(xml, feed_url)
    kind = _local(root.tag)
    outlet = _default_source(feed_url, source)
    if kind == "rss":
        channel = next(iter(_children(root, "channel")), None)
        if channel is None:
            raise DiscoveryError(feed_url, "RSS document has no <channel>")
        items = _children(channel, "item")
    elif kind == "rdf":
        items = _children(root, "item")
    elif kind == "feed":
        items = _children(root, "entry")
    else:
        raise DiscoveryError(feed_url, f"not an RSS or Atom feed (root element <{kind}>)")

    found: list[DiscoveredUrl] = []
    for item in items:
        guid = _first_text(item, "guid", "id")
        link = _atom_link(item) if kind == "feed" else _rss_link(item, guid)
        url = _absolute(link, feed_url)
        if url is None:
            continue
        published_at = _date(_first_text(item, "pubdate", "published", "issued", "date", "created"), tz)
        if published_at is None:
            published_at = _date(_first_text(item, "updated", "modified"), tz)
        title = _first_text(item, "title")
        found.append(
            DiscoveredUrl(
                url=url,
                source=outlet,
                title=" ".join(title.split()) if title else None,
                published_at=published_at,
                date_source="feed" if published_at else None,
                discovered_from=feed_url,
                guid=guid,
            )
        )
    return found


def _rss_link(item: etree._Element, guid: str | None) -> str | None:
    # FeedBurner rewrites <link> to a redirect and keeps the real one here
    orig = _first_text(item, "origlink")
    if orig:
        return orig
    for child in _children(item, "link"):
        text = (child.text or "").strip() or child.get("href")
        if text:
            return text
    for child in _children(item, "guid"):
        if (child.get("isPermaLink") or "true").lower() != "false" and guid and "://" in guid:
            return guid
    return None


def _atom_link(entry: etree._Element) -> str | None:
    # rel defaults to "alternate" (RFC 4287); self/edit/enclosure links are not the article
    for link in _children(entry, "link"):
        if link.get("href") and link.get("rel", "alternate") == "alternate":
            return link.get("href")
    entry_id = _first_text(entry, "id")
    return entry_id if entry_id and entry_id.startswith(("http://", "https://")) else None


def parse_sitemap(
    xml: bytes, *, sitemap_url: str, source: str | None = None, source_timezone: str = "UTC"
) -> SitemapResult:
    """URLs of a ``urlset`` (incl. Google News sitemaps) or children of a ``sitemapindex``.

    ``news:publication_date`` is the date when present, ``lastmod`` the
    fallback; gzip bytes are inflated transparently.
    """
    tz = zone(source_timezone)
    root = _parse_xml(xml, sitemap_url)
    kind = _local(root.tag)
    if kind == "sitemapindex":
        children = []
        for entry in _children(root, "sitemap"):
            loc = _absolute(_first_text(entry, "loc"), sitemap_url)
            if loc:
                children.append(loc)
        return SitemapResult(urls=[], child_sitemaps=children)
    if kind != "urlset":
        raise DiscoveryError(sitemap_url, f"not a sitemap (root element <{kind}>, expected <urlset> or <sitemapindex>)")

    outlet = _default_source(sitemap_url, source)
    found: list[DiscoveredUrl] = []
    for entry in _children(root, "url"):
        url = _absolute(_first_text(entry, "loc"), sitemap_url)
        if url is None:
            continue
        news = next(iter(_children(entry, "news")), None)
        title = _first_text(news, "title") if news is not None else None
        published_at = _date(_first_text(news, "publication_date"), tz) if news is not None else None
        if published_at is None:
            published_at = _date(_first_text(entry, "lastmod"), tz)
        found.append(
            DiscoveredUrl(
                url=url,
                source=outlet,
                title=" ".join(title.split()) if title else None,
                published_at=published_at,
                date_source="sitemap" if published_at else None,
                discovered_from=sitemap_url,
            )
        )
    return SitemapResult(urls=found, child_sitemaps=[])


def select_for_interval(urls: Iterable[DiscoveredUrl], interval: Interval) -> list[DiscoveredUrl]:
    """Those whose date lies in ``[interval.start, interval.end)``; undated ones are left out."""
    return [u for u in urls if u.published_at is not None and interval.contains(u.published_at)]
