"""URL canonicalization and article ids."""

from __future__ import annotations

import pytest

from newsmarkets.news.urls import UrlError, article_id, canonicalize_url, registrable_domain


@pytest.mark.parametrize(
    "url, expected",
    [
        ("HTTPS://WWW.Example.COM:443/News/Story", "https://www.example.com/News/Story"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com/a#comments", "https://example.com/a"),
        ("https://example.com/a/", "https://example.com/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/a?utm_source=x&utm_medium=y&fbclid=1&gclid=2&mc_cid=3&mc_eid=4&ref=tw&cmpid=5", "https://example.com/a"),
        ("https://example.com/a?UTM_Campaign=x&id=7", "https://example.com/a?id=7"),
        ("https://example.com/a?b=2&a=1&a=0", "https://example.com/a?a=0&a=1&b=2"),
        ("https://example.com/news/amp/story-1", "https://example.com/news/story-1"),
        ("https://amp.example.com/news/story-1", "https://example.com/news/story-1"),
        ("https://example.com/news/story-1?amp=1", "https://example.com/news/story-1"),
        ("https://example.com/news/story-1?amp", "https://example.com/news/story-1"),
        ("https://example.com/news/story-1/amp", "https://example.com/news/story-1"),
        ("https://example.com/news/story-1.amp.html", "https://example.com/news/story-1.html"),
        ("https://example.com/a/./b/../c", "https://example.com/a/c"),
        ("https://user:secret@example.com/a", "https://example.com/a"),
        ("https://example.com/caf%c3%a9/%7euser", "https://example.com/caf%C3%A9/~user"),
        ("https://example.com/search?q=a+b", "https://example.com/search?q=a%20b"),
        ("  https://example.com/a  ", "https://example.com/a"),
    ],
)
def test_canonicalize(url, expected):
    assert canonicalize_url(url) == expected


def test_canonicalize_is_idempotent():
    for url in ("https://AMP.Example.com/x/amp/?utm_source=a&z=1&b=%7e#f", "http://example.com:8080/a/../b/"):
        once = canonicalize_url(url)
        assert canonicalize_url(once) == once


def test_variants_share_one_article_id():
    variants = [
        "https://www.example.com/markets/story-42",
        "https://www.example.com/markets/story-42/?utm_source=twitter",
        "https://www.example.com/markets/amp/story-42#top",
        "HTTPS://WWW.EXAMPLE.COM/markets/story-42/amp",
    ]
    assert len({article_id(v) for v in variants}) == 1
    ident = article_id(variants[0])
    assert len(ident) == 16 and int(ident, 16) >= 0
    assert article_id("https://www.example.com/markets/story-43") != ident


def test_canonical_hint_on_same_site_wins():
    assert canonicalize_url("https://m.example.co.uk/a?x=1", canonical_hint="https://www.example.co.uk/a/") == \
        "https://www.example.co.uk/a"
    # relative hints resolve against the page URL
    assert canonicalize_url("https://example.com/x/y?page=2", canonical_hint="/x/y") == "https://example.com/x/y"


def test_canonical_hint_on_other_site_is_ignored():
    assert canonicalize_url("https://example.com/a", canonical_hint="https://aggregator.example.org/a") == \
        "https://example.com/a"
    # two different sites under one public suffix are different sites
    assert canonicalize_url("https://alice.github.io/a", canonical_hint="https://bob.github.io/a") == \
        "https://alice.github.io/a"
    assert canonicalize_url("https://example.com/a", canonical_hint="javascript:alert(1)") == "https://example.com/a"


def test_registrable_domain():
    assert registrable_domain("https://news.bbc.co.uk/x") == "bbc.co.uk"
    assert registrable_domain("www.example.com") == "example.com"
    assert registrable_domain("http://127.0.0.1:8765/feed") == "127.0.0.1"


@pytest.mark.parametrize("bad", ["", "not a url", "/relative/path", "ftp://example.com/a", "mailto:x@example.com", None])
def test_bad_urls_raise(bad):
    with pytest.raises(UrlError, match="url"):
        canonicalize_url(bad)
