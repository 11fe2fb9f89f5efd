"""Feed and sitemap parsing on generated XML, including hostile input."""

from __future__ import annotations

import gzip
from datetime import datetime, timezone

import pytest

from newsmarkets.intervals import Interval
from newsmarkets.news.discover import (
    DiscoveredUrl,
    DiscoveryError,
    SitemapResult,
    parse_feed,
    parse_sitemap,
    select_for_interval,
)

FEED_URL = "https://news.example.com/feeds/markets.xml"
SITEMAP_URL = "https://news.example.com/sitemap-news.xml"

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0">
<channel><title>Markets</title><link>https://news.example.com/</link>
  <item><title>  Bitcoin   climbs  </title><link>https://news.example.com/a/1</link>
    <guid isPermaLink="false">item-1</guid><pubDate>Mon, 05 Jan 2026 15:45:00 +0100</pubDate></item>
  <item><title>Relative link</title><link>/a/2</link><dc:date>2026-01-05T23:30:00Z</dc:date></item>
  <item><title>Guid as link</title><guid>https://news.example.com/a/3</guid><pubDate>Tue, 06 Jan 2026 01:00:00 GMT</pubDate></item>
  <item><title>FeedBurner</title><link>https://feeds.example.net/~r/x/123</link>
    <feedburner:origLink>https://news.example.com/a/4</feedburner:origLink></item>
  <item><title>No zone</title><link>https://news.example.com/a/5</link><pubDate>Mon, 05 Jan 2026 10:00:00</pubDate></item>
  <item><title>No link at all</title><description>nothing to fetch</description></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom news</title>
  <entry><title>Atom one</title><id>tag:news.example.com,2026:1</id>
    <link rel="self" href="https://news.example.com/api/1"/><link rel="alternate" href="https://news.example.com/atom/1"/>
    <published>2026-01-05T08:00:00+02:00</published><updated>2026-01-05T09:00:00+02:00</updated></entry>
  <entry><title>Atom two</title><id>https://news.example.com/atom/2</id><link href="https://news.example.com/atom/2"/>
    <updated>2026-01-06T12:00:00Z</updated></entry>
</feed>"""


def test_rss_items():
    urls = parse_feed(RSS, feed_url=FEED_URL)
    assert [u.url for u in urls] == [
        "https://news.example.com/a/1",
        "https://news.example.com/a/2",
        "https://news.example.com/a/3",
        "https://news.example.com/a/4",
        "https://news.example.com/a/5",
    ]
    first = urls[0]
    assert first == DiscoveredUrl(
        url="https://news.example.com/a/1",
        source="example.com",
        title="Bitcoin climbs",
        published_at=datetime(2026, 1, 5, 14, 45, tzinfo=timezone.utc),
        date_source="feed",
        discovered_from=FEED_URL,
        guid="item-1",
    )
    assert urls[1].published_at == datetime(2026, 1, 5, 23, 30, tzinfo=timezone.utc)
    assert urls[3].published_at is None and urls[3].date_source is None
    assert first.to_dict()["published_at"] == "2026-01-05T14:45:00+00:00"


def test_rss_dates_without_offset_use_the_source_timezone():
    urls = parse_feed(RSS, feed_url=FEED_URL, source="example-news", source_timezone="America/New_York")
    assert urls[4].published_at == datetime(2026, 1, 5, 15, 0, tzinfo=timezone.utc)
    assert urls[0].published_at == datetime(2026, 1, 5, 14, 45, tzinfo=timezone.utc)  # had an offset
    assert {u.source for u in urls} == {"example-news"}


def test_atom_entries():
    urls = parse_feed(ATOM, feed_url=FEED_URL)
    assert [(u.url, u.title) for u in urls] == [
        ("https://news.example.com/atom/1", "Atom one"),
        ("https://news.example.com/atom/2", "Atom two"),
    ]
    assert urls[0].published_at == datetime(2026, 1, 5, 6, 0, tzinfo=timezone.utc)  # published beats updated
    assert urls[1].published_at == datetime(2026, 1, 6, 12, 0, tzinfo=timezone.utc)  # updated as fallback
    assert urls[0].guid == "tag:news.example.com,2026:1"


def test_gzipped_feed():
    assert [u.url for u in parse_feed(gzip.compress(ATOM), feed_url=FEED_URL)][0] == "https://news.example.com/atom/1"


NEWS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>https://news.example.com/s/1</loc><lastmod>2026-01-04T00:00:00Z</lastmod>
    <news:news><news:publication><news:name>Example</news:name><news:language>en</news:language></news:publication>
      <news:publication_date>2026-01-05T10:15:00+01:00</news:publication_date><news:title>Sitemap story one</news:title></news:news></url>
  <url><loc>https://news.example.com/s/2</loc><lastmod>2026-01-05</lastmod></url>
  <url><loc>https://news.example.com/s/3</loc><lastmod>2026-01-05T18:00:00</lastmod></url>
  <url><loc>https://news.example.com/s/4</loc></url>
</urlset>"""

SITEMAP_INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://news.example.com/sitemap-2026-01.xml.gz</loc><lastmod>2026-01-05</lastmod></sitemap>
  <sitemap><loc>/sitemap-news.xml</loc></sitemap>
</sitemapindex>"""


def test_news_sitemap_prefers_publication_date_then_lastmod():
    result = parse_sitemap(NEWS_SITEMAP, sitemap_url=SITEMAP_URL, source_timezone="Europe/Berlin")
    assert isinstance(result, SitemapResult) and result.child_sitemaps == []
    by_url = {u.url: u for u in result.urls}
    one = by_url["https://news.example.com/s/1"]
    assert (one.title, one.published_at, one.date_source) == (
        "Sitemap story one", datetime(2026, 1, 5, 9, 15, tzinfo=timezone.utc), "sitemap")
    # date-only and offset-less lastmod values are in the source's timezone
    assert by_url["https://news.example.com/s/2"].published_at == datetime(2026, 1, 4, 23, 0, tzinfo=timezone.utc)
    assert by_url["https://news.example.com/s/3"].published_at == datetime(2026, 1, 5, 17, 0, tzinfo=timezone.utc)
    assert by_url["https://news.example.com/s/4"].published_at is None
    assert one.discovered_from == SITEMAP_URL


def test_sitemap_index_lists_children_resolved():
    result = parse_sitemap(SITEMAP_INDEX, sitemap_url=SITEMAP_URL)
    assert result.urls == []
    assert result.child_sitemaps == [
        "https://news.example.com/sitemap-2026-01.xml.gz",
        "https://news.example.com/sitemap-news.xml",
    ]


def test_gzipped_sitemap_is_inflated_transparently():
    result = parse_sitemap(gzip.compress(NEWS_SITEMAP), sitemap_url=SITEMAP_URL + ".gz")
    assert len(result.urls) == 4


def test_select_for_interval_is_half_open():
    urls = parse_sitemap(NEWS_SITEMAP, sitemap_url=SITEMAP_URL).urls
    day = Interval(datetime(2026, 1, 5, tzinfo=timezone.utc), datetime(2026, 1, 5, 18, tzinfo=timezone.utc))
    # s/1 at 09:15 is in; s/2 at 00:00 is on the start edge (in); s/3 at 18:00 is on the end edge (out); s/4 undated
    assert [u.url.rsplit("/", 1)[1] for u in select_for_interval(urls, day)] == ["1", "2"]


def test_xxe_entities_are_not_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    payload = f"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>
<rss version="2.0"><channel><item><title>x&xxe;</title><link>https://news.example.com/a/&xxe;</link></item></channel></rss>"""
    urls = parse_feed(payload.encode(), feed_url=FEED_URL)
    assert all("TOP-SECRET-VALUE" not in (u.title or "") + u.url for u in urls)


def test_entity_expansion_bomb_is_not_expanded():
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://news.example.com/&lol3;</loc></url></urlset>"""
    result = parse_sitemap(bomb, sitemap_url=SITEMAP_URL)
    assert all("lollol" not in u.url for u in result.urls)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"<rss><channel><item><title>unclosed</channel></rss>", "malformed XML"),
        (b"<html><body>not a feed</body></html>", "not an RSS or Atom feed"),
        (b"\x1f\x8b\x08\x00garbage", "gzip"),
    ],
)
def test_bad_feeds_raise_discovery_error_naming_the_url(data, message):
    with pytest.raises(DiscoveryError, match=message) as info:
        parse_feed(data, feed_url=FEED_URL)
    assert info.value.url == FEED_URL and FEED_URL in str(info.value)


def test_non_sitemap_root_is_rejected():
    with pytest.raises(DiscoveryError, match="not a sitemap") as info:
        parse_sitemap(RSS, sitemap_url=SITEMAP_URL)
    assert SITEMAP_URL in str(info.value)


def test_gzip_bomb_is_refused(monkeypatch):
    import newsmarkets.news.discover as discover

    monkeypatch.setattr(discover, "MAX_XML_BYTES", 1000)
    big = gzip.compress(b"<urlset>" + b" " * 5000 + b"</urlset>")
    with pytest.raises(DiscoveryError, match="inflates beyond"):
        parse_sitemap(big, sitemap_url=SITEMAP_URL)
