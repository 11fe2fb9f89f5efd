"""Find article URLs in RSS/Atom feeds and (news) sitemaps: bytes in, records out.

Feeds and sitemaps come from servers we do not control. Both are size-capped
and gzip input is inflated with a cap. Feeds are read by ``feedparser``, which
keeps the good items of a feed that is not well-formed (real feeds often are);
it gets only bytes, never a URL, so robots, rate limits and the address guard
of our fetcher still hold, and it loads no DTD or external entity. Sitemaps
are read by a hardened lxml parser: no DTD loading, no entity expansion, no
network (XXE and billion-laughs safe): the sitemap libraries (trafilatura's,
ultimate-sitemap-parser) fetch for themselves, which would bypass the fetcher.
"""

from __future__ import annotations

import html.entities
import io
import logging
import re
import zlib
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Iterable
from urllib.parse import urljoin, urlsplit

import feedparser
from lxml import etree
from w3lib.html import remove_tags

from newsmarkets.intervals import Interval
from newsmarkets.news.dates import parse_timestamp, zone
from newsmarkets.news.urls import registrable_domain

# sitemaps.org caps an uncompressed sitemap at 50 MB; anything bigger is hostile or broken
MAX_XML_BYTES = 50 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
LOGGER = logging.getLogger("newsmarkets.news.discover")


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


def _checked_bytes(data: bytes, url: str) -> bytes:
    """The document's bytes, inflated if gzipped, within the size cap and not empty."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray)):
        raise DiscoveryError(url, f"expected XML bytes, got {type(data).__name__}")
    if data[:2] == _GZIP_MAGIC:
        data = _gunzip(bytes(data), url)
    if len(data) > MAX_XML_BYTES:
        raise DiscoveryError(url, f"document is larger than {MAX_XML_BYTES} bytes")
    # a BOM or blank lines before <?xml ...?> make lxml refuse otherwise fine files
    data = bytes(data).lstrip(b"\xef\xbb\xbf").lstrip()
    if not data:
        raise DiscoveryError(url, "document is empty")
    return data


def _parse_xml(data: bytes, url: str) -> etree._Element:
    data = _checked_bytes(data, url)
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


# Real feeds break XML in a few common ways (HTML entities, bare '&', control
# characters); fixing those bytes first lets the strict parser keep every item
# instead of feedparser's loose fallback, which turns "S&P 500" into "S&P; 500".
_CDATA = re.compile(rb"(<!\[CDATA\[.*?\]\]>)", re.DOTALL)
_AMPERSAND = re.compile(rb"&(?:(#[0-9]+|#[xX][0-9a-fA-F]+)|([A-Za-z][A-Za-z0-9]{0,31}))?(;)?")
_XML_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_XML_ENTITIES = frozenset({b"amp", b"lt", b"gt", b"quot", b"apos"})
_ROOT_TAG = re.compile(rb"<([A-Za-z][\w:.-]*)")


def _repair_entities(chunk: bytes, keep_named: bool) -> bytes:
    def fix(m: re.Match) -> bytes:
        numeric, name, semicolon = m.groups()
        if numeric and semicolon:
            return m.group(0)
        if name and semicolon:
            if name in _XML_ENTITIES or keep_named:
                return m.group(0)
            char = html.entities.html5.get(name.decode("ascii") + ";")
            if char is not None:
                return "".join(f"&#{ord(c)};" for c in char).encode("ascii")
        return b"&amp;" + m.group(0)[1:]  # a bare '&' or an unknown name: keep it as text

    return _AMPERSAND.sub(fix, chunk)


def repair_feed_bytes(data: bytes) -> bytes:
    """Escape bare ``&``, turn HTML named entities into character references and
    drop control characters XML forbids; CDATA sections are left as they are.
    UTF-16/32 documents are returned unchanged (byte patterns would misread them)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:4]:
        return data
    keep_named = b"<!ENTITY" in data  # the document defines its own entities; leave names alone
    parts = _CDATA.split(_XML_CONTROL.sub(b"", data))
    return b"".join(p if i % 2 else _repair_entities(p, keep_named) for i, p in enumerate(parts))


def _plain(text: str | None) -> str | None:
    """Title text without markup or runs of whitespace (feeds put HTML in titles)."""
    if not text:
        return None
    cleaned = " ".join(remove_tags(text).split())
    return cleaned or None


def _entry_link(entry) -> str | None:
    # FeedBurner rewrites <link> to a redirect and keeps the real one in origLink
    link = entry.get("feedburner_origlink") or entry.get("link")
    if not link:
        # Atom: an entry whose id is its URL; RSS: a permalink guid (feedparser maps both to id)
        entry_id = entry.get("id") or ""
        if entry_id.startswith(("http://", "https://")) and entry.get("guidislink", True):
            link = entry_id
    return link


def parse_feed(
    xml: bytes,
    *,
    feed_url: str,
    source: str | None = None,
    source_timezone: str = "UTC",
) -> list[DiscoveredUrl]:
    """Entries of an RSS 0.9x/1.0/2.0 or Atom 0.3/1.0 feed, in feed order, read by feedparser.

    feedparser only ever sees the bytes our guarded fetcher already fetched
    (wrapped in a stream: given bytes or a str it may open a local file or a
    URL). A feed with broken items yields its good items; the rest are
    logged. ``published_at`` comes from the published date (``pubDate``,
    ``published``, ``dc:date``, ``issued``) and falls back to the updated
    one, parsed by our own code so values without an offset are in
    ``source_timezone`` (feedparser would take them as UTC). Relative links
    resolve against ``feed_url``.
    """
    tz = zone(source_timezone)
    data = repair_feed_bytes(_checked_bytes(xml, feed_url))
    # application/xml: the document's own encoding declaration applies (RFC 7303)
    headers = {"content-location": feed_url, "content-type": "application/xml"}
    parsed = feedparser.parse(
        io.BytesIO(data), response_headers=headers, resolve_relative_uris=False, sanitize_html=False
    )
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if isinstance(problem, feedparser.CharacterEncodingOverride):
        LOGGER.info("%s: %s", feed_url, problem)  # read correctly in the encoding that fits
        problem = None
    if not parsed.get("version") and not parsed.entries:
        root = _ROOT_TAG.search(re.sub(rb"<[?!][^>]*>", b"", data[:4096]))
        root_name = root.group(1).decode("ascii", "replace") if root else "none"
        raise DiscoveryError(feed_url, f"not an RSS or Atom feed (root element <{root_name}>)")
    outlet = _default_source(feed_url, source)
    found: list[DiscoveredUrl] = []
    skipped = 0
    for entry in parsed.entries:
        url = _absolute(_entry_link(entry), feed_url)
        if url is None:
            skipped += 1
            continue
        published_at = _date(entry.get("published"), tz) or _date(entry.get("updated"), tz)
        found.append(
            DiscoveredUrl(
                url=url,
                source=outlet,
                title=_plain(entry.get("title")),
                published_at=published_at,
                date_source="feed" if published_at else None,
                discovered_from=feed_url,
                guid=entry.get("id") or None,
            )
        )
    if problem is not None and not found:
        raise DiscoveryError(feed_url, f"malformed XML ({problem})")
    if problem is not None or skipped:
        LOGGER.warning(
            "%s: kept %d of %d feed items (%d without a usable http(s) link)%s",
            feed_url, len(found), len(parsed.entries), skipped,
            f"; the feed is not well-formed, read leniently: {problem}" if problem is not None else "",
        )
    return found


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
