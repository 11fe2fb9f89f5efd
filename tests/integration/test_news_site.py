"""The replay news sites over real HTTP: feeds, sitemaps, article pages, oddities, robots, 304s."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import requests

from newsmarkets.news.discover import parse_feed, parse_sitemap
from newsmarkets.news.extract import extract_article
from newsmarkets.replay.news_site import ODDITIES
from newsmarkets.replay.news_world import NewsWorld
from newsmarkets.replay.server import ReplayServer
from newsmarkets.replay.world import MarketWorld

NOW = datetime(2026, 1, 7, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def server():
    world = MarketWorld.generate("2026-01-05", 3, 20260105)
    with ReplayServer(world, now=NOW, news=NewsWorld.generate(world, seed=3)) as running:
        yield running


@pytest.fixture
def http():
    with requests.Session() as s:
        yield s


def _words(text: str) -> list[str]:
    return text.split()


def test_feeds_list_the_last_day_newest_first_and_the_pinned_oddities(server, http):
    for name, outlet in server.news.outlets.items():
        url = f"{server.root_url}/outlets/{name}/feed.xml"
        reply = http.get(url)
        assert reply.status_code == 200
        assert ("atom" if outlet.feed_format == "atom" else "rss") in reply.headers["Content-Type"]
        entries = parse_feed(reply.content, feed_url=url)
        expected = [a for a in server.news.visible(NOW, name) if a.published_at > NOW - timedelta(hours=24)]
        by_url = {e.url: e for e in entries}
        for article in expected:
            assert by_url[server.root_url + article.path].published_at == article.published_at
        odd = {server.root_url + p for p, s in ODDITIES.items() if s["outlet"] == name}
        assert set(by_url) == {server.root_url + a.path for a in expected} | odd


def test_sitemap_index_and_daily_sitemaps_incl_gzip_list_everything_up_to_the_clock(server, http):
    for name, outlet in server.news.outlets.items():
        index_url = f"{server.root_url}/outlets/{name}/sitemap.xml"
        index = parse_sitemap(http.get(index_url).content, sitemap_url=index_url)
        assert not index.urls and index.child_sitemaps
        assert all(c.endswith(".xml.gz" if outlet.is_sitemap_gz else ".xml") for c in index.child_sitemaps)
        listed = set()
        for child in index.child_sitemaps:
            reply = http.get(child)
            assert reply.status_code == 200
            if outlet.is_sitemap_gz:
                assert reply.content[:2] == b"\x1f\x8b"
            listed |= {u.url for u in parse_sitemap(reply.content, sitemap_url=child).urls}
        expected = {server.root_url + a.path for a in server.news.visible(NOW, name)}
        assert expected <= listed
        assert listed - expected <= {server.root_url + p for p in ODDITIES}


def test_google_news_sitemap_gives_publication_dates(server, http):
    url = f"{server.root_url}/outlets/ledgerpost/news-sitemap.xml"
    urls = parse_sitemap(http.get(url).content, sitemap_url=url).urls
    truth = {server.root_url + a.path: a for a in server.news.visible(NOW, "ledgerpost")}
    assert urls
    for u in urls:
        assert u.published_at == truth[u.url].published_at and u.title == truth[u.url].title


def test_article_pages_extract_to_their_known_text_and_publish_time_for_every_template(server, http):
    checked = set()
    for article in server.news.visible(NOW):
        outlet = server.news.outlet(article.outlet)
        url = server.root_url + article.path
        record = extract_article(http.get(url).text, url, fetched_at=NOW, source_timezone=outlet.timezone)
        known = _words(server.news.article_text(article.slug))
        got = set(_words(record.body))
        recall = sum(1 for w in known if w in got) / len(known)
        assert recall >= 0.95 and record.body == article.body, outlet.name
        assert record.published_at == article.published_at, outlet.name
        assert record.title == article.title
        checked.add(outlet.name)
    # every page of every outlet, wire copies and the robots-disallowed one included
    assert checked == set(server.news.outlets)


def test_marketdesk_prints_only_a_local_time_without_structured_dates(server, http):
    article = next(a for a in server.news.visible(NOW, "marketdesk"))
    html = http.get(server.root_url + article.path).text
    assert "ld+json" not in html and "published_time" not in html and "<time" not in html
    local = article.published_at.astimezone(ZoneInfo("America/New_York"))
    assert f"{local.strftime('%B')} {local.day}, {local.year} at" in html
    record = extract_article(html, fetched_at=NOW, source_timezone="America/New_York")
    assert record.published_at_source == "visible-text" and record.published_at == article.published_at


def test_ledgerpost_amp_copy_links_back_and_extracts_the_same_story(server, http):
    article = next(a for a in server.news.visible(NOW, "ledgerpost"))
    page = http.get(server.root_url + article.path).text
    amp_path = "/outlets/ledgerpost/amp" + article.path[len("/outlets/ledgerpost"):]
    assert f'rel="amphtml" href="{server.root_url}{amp_path}"' in page
    amp = http.get(server.root_url + amp_path).text
    assert f'rel="canonical" href="{server.root_url}{article.path}"' in amp
    assert extract_article(amp, server.root_url + amp_path, fetched_at=NOW).body == article.body


def test_oddities_404_redirects_oversized_and_pdf(server, http):
    root = server.root_url
    by_kind = {s["kind"]: p for p, s in ODDITIES.items()}
    assert http.get(root + by_kind["not_found"]).status_code == 404
    moved = http.get(root + by_kind["redirect_in_domain"], allow_redirects=False)
    assert moved.status_code == 301 and moved.headers["Location"].startswith(root + "/outlets/ledgerpost/news/")
    assert http.get(root + by_kind["redirect_in_domain"]).status_code == 200
    away = http.get(root + by_kind["redirect_off_domain"], allow_redirects=False)
    assert away.status_code == 301 and away.headers["Location"].startswith("http://elsewhere.invalid/")
    big = http.get(root + by_kind["oversized"], stream=True)
    assert big.status_code == 200 and int(big.headers["Content-Length"]) > 6 * 1024 * 1024
    big.close()
    pdf = http.get(root + by_kind["pdf"])
    assert pdf.headers["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_robots_txt_combines_the_outlets_rules_and_the_disallowed_article_is_in_the_sitemap(server, http):
    text = http.get(server.root_url + "/robots.txt").text
    assert "Disallow: /outlets/coinwire/private/" in text and "Crawl-delay: 0.1" in text
    for name in server.news.outlets:
        assert f"Sitemap: {server.root_url}/outlets/{name}/sitemap.xml" in text
    private = [a for a in server.news.articles if a.is_robots_disallowed]
    assert private and all(a.path.startswith("/outlets/coinwire/private/") for a in private)
    day = private[0].published_at.strftime("%Y-%m-%d")
    url = f"{server.root_url}/outlets/coinwire/sitemaps/{day}.xml.gz"
    assert server.root_url + private[0].path in {u.url for u in parse_sitemap(http.get(url).content, sitemap_url=url).urls}


def test_article_pages_answer_304_to_their_etag_and_last_modified(server, http):
    article = server.news.visible(NOW, "coinwire")[-1]
    url = server.root_url + article.path
    first = http.get(url)
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    again = http.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert http.get(url, headers={"If-Modified-Since": last_modified}).status_code == 304
    assert http.get(url, headers={"If-None-Match": '"stale"'}).status_code == 200


def test_news_follows_the_replay_clock_and_truth_is_served(server, http):
    article = next(a for a in server.news.articles if a.published_at > NOW - timedelta(hours=6) and a.published_at <= NOW)
    try:
        server.set_now(article.published_at - timedelta(minutes=1))
        assert http.get(server.root_url + article.path).status_code == 404
        feed = http.get(f"{server.root_url}/outlets/{article.outlet}/feed.xml").text
        assert article.path not in feed
    finally:
        server.set_now(NOW)
    assert http.get(server.root_url + article.path).status_code == 200
    truth = http.get(server.root_url + "/_replay/news_truth").json()
    assert {a["slug"] for a in truth["articles"]} == {a.slug for a in server.news.articles}
    assert {o["path"] for o in truth["oddities"]} == set(ODDITIES)
    assert http.get(server.base_url + "/ping").status_code == 200  # the price API is still there
