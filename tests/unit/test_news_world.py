"""The generated news world: deterministic, event coverage, syndication, trap words, the clock."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta

import pytest

from newsmarkets.news.link import default_dictionary, link_article
from newsmarkets.replay.news_site import NewsSite
from newsmarkets.replay.news_templates import TRAP_WORDS
from newsmarkets.replay.news_world import NewsWorld, NewsWorldError
from newsmarkets.replay.world import MarketWorld


@pytest.fixture(scope="module")
def market() -> MarketWorld:
    return MarketWorld.generate("2026-01-05", 3, 20260105)


@pytest.fixture(scope="module")
def news(market) -> NewsWorld:
    return NewsWorld.generate(market, seed=7)


def test_same_arguments_give_identical_truth_and_another_seed_differs(market, news):
    again = NewsWorld.generate(market, seed=7)
    assert json.dumps(again.truth(), sort_keys=True) == json.dumps(news.truth(), sort_keys=True)
    other = NewsWorld.generate(market, seed=8)
    assert [a.body for a in other.articles] != [a.body for a in news.articles]


def test_truth_is_json_and_article_text_is_the_known_body(news):
    truth = json.loads(json.dumps(news.truth()))
    assert len(truth["outlets"]) >= 4
    first = truth["articles"][0]
    assert news.article_text(first["slug"]) == "\n".join(first["paragraphs"])
    assert len({a["slug"] for a in truth["articles"]}) == len(truth["articles"])
    with pytest.raises(NewsWorldError, match="unknown article slug 'nope'"):
        news.article_text("nope")


def test_every_event_has_an_original_report_at_or_shortly_before_it(market, news):
    for event in market.events:
        at = datetime.fromisoformat(event["at"].replace("Z", "+00:00"))
        reports = [a for a in news.articles if a.event_id == event["event_id"] and a.is_original]
        assert reports, event["event_id"]
        assert any(at - timedelta(minutes=10) <= a.published_at <= at for a in reports), event["event_id"]
        report = reports[0]
        assert set(report.asset_ids) <= set(event["asset_ids"]) and report.asset_ids
        mentioned = {m.asset_id for m in link_article(report.title, report.body, default_dictionary())}
        assert set(report.asset_ids) <= mentioned, (event["event_id"], report.title)


def test_asset_mentions_match_what_a_linker_finds(news):
    dictionary = default_dictionary()
    for article in news.articles:
        found = {m.asset_id for m in link_article(article.title, article.body, dictionary)}
        assert found == set(article.asset_ids), (article.slug, found)
    assert any(a.kind == "asset" and a.event_id is None and a.asset_ids for a in news.articles)


def test_non_crypto_stories_carry_the_trap_words_and_name_no_coin(news):
    general = [a for a in news.articles if a.kind == "general"]
    assert {a.topic for a in general} == {"war", "election", "rates"}
    for article in general:
        text = f"{article.title}\n{article.body}".lower()
        assert all(word in text for word in TRAP_WORDS), article.slug
        assert article.asset_ids == () and article.event_id is None


def test_wire_stories_are_syndicated_later_with_the_same_body_and_their_own_intro(news):
    stories: dict[str, list] = {}
    for article in news.articles:
        stories.setdefault(article.story_key, []).append(article)
    syndicated = [copies for copies in stories.values() if len(copies) > 1]
    assert syndicated
    for copies in syndicated:
        assert 2 <= len(copies) <= 3
        original = next(a for a in copies if a.is_original)
        assert original.outlet == "globalwire"
        assert sum(a.is_original for a in copies) == 1
        for copy in copies:
            if copy is original:
                continue
            assert copy.outlet != original.outlet and copy.published_at > original.published_at
            assert copy.paragraphs[1:] == original.paragraphs  # same body, one intro line on top
            assert copy.paragraphs[0] not in original.paragraphs


def test_nothing_after_the_clock_is_visible_on_any_listing(market, news):
    site = NewsSite(news)
    now = market.start_at + timedelta(hours=30)
    assert all(a.published_at <= now for a in news.visible(now))
    later = [a for a in news.articles if a.published_at > now]
    assert later
    root = "http://news.test"
    for outlet in news.outlets:
        listings = [site.handle(f"/outlets/{outlet}/feed.xml", {}, now, root)[2]]
        listings.append(site.handle(f"/outlets/{outlet}/sitemap.xml", {}, now, root)[2])
        for day in ("2026-01-05", "2026-01-06", "2026-01-07"):
            for suffix in (".xml", ".xml.gz"):
                status, _, body = site.handle(f"/outlets/{outlet}/sitemaps/{day}{suffix}", {}, now, root)
                if status == 200:
                    listings.append(body if suffix == ".xml" else gzip.decompress(body))
        text = b"".join(listings).decode()
        for article in later:
            assert article.path not in text, (outlet, article.slug)
            assert site.handle(article.path, {}, now, root)[0] == 404
    assert all(site.handle(a.path, {}, now, root)[0] == 200 for a in news.visible(now))


def test_bad_arguments_are_named(market):
    with pytest.raises(NewsWorldError, match="seed"):
        NewsWorld.generate(market, seed=-1)
    with pytest.raises(NewsWorldError, match="outlets"):
        NewsWorld.generate(market, seed=1, outlets=())
