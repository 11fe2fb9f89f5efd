"""Short stories count (issue 21 part 3): a flash or a brief on an article page is kept under the
word floor; navigation, index, tag and home pages with short bodies are still rejected, saying why."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from lxml.html import fromstring

from newsmarkets.news.article_page import SHORT_STORY_MIN_WORDS, has_sentence, judge_page, listing_url, story_floor
from newsmarkets.news.extract import ExtractionError, extract_article

FETCHED = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)
MIN_WORDS = 80  # the configured floor (news.min_words) in production
URL = "https://www.example-wire.com/markets/2026/03/02/sec-sues-exchange"

FLASH = ("Bitcoin fell 8% to $38,000 on Monday after the SEC sued the largest U.S. crypto exchange, "
         "accusing it of operating as an unregistered broker and exchange, a court filing showed.")  # 30 words
BRIEF = (FLASH + " The exchange said it would fight the case in court. Ether and solana dropped more than 10%, "
         "and futures liquidations topped $400 million in an hour, data showed.")  # 58 words


def ld(obj: dict | list) -> str:
    return f'<script type="application/ld+json">{json.dumps(obj)}</script>'


def article_page(story: str, *, head: str = "", byline: str = "", extra: str = "") -> str:
    """A clean wire-story page: headline, byline/date, one <article>, a short story, site chrome around."""
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>SEC sues largest U.S. crypto exchange | Example Wire</title>{head}</head>
<body><header class="site-header"><nav><a href="/">Home</a> <a href="/markets/">Markets</a>
<a href="/tech/">Tech</a></nav></header>
<main><article><h1>SEC sues largest U.S. crypto exchange</h1>{byline}
<div class="article-body"><p>{story}</p></div></article>{extra}</main>
<footer><p>© 2026 Example Wire. All rights reserved.</p></footer></body></html>"""


def teaser_list(n: int, *, head: str = "", h1: str = "Markets") -> str:
    cards = "".join(
        f'<article class="card"><h2><a href="/markets/2026/03/0{i % 9 + 1}/story-{i}">Story number {i} about '
        f'markets</a></h2><p>A line.</p></article>' for i in range(n))
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Markets | Example Wire</title>{head}
</head><body><header><nav><a href="/">Home</a></nav></header><main><h1>{h1}</h1>{cards}
<nav class="pagination"><a href="?page=2">Next</a></nav></main></body></html>"""


NEWS_ARTICLE_LD = ld({"@context": "https://schema.org", "@type": "NewsArticle",
                      "headline": "SEC sues largest U.S. crypto exchange",
                      "datePublished": "2026-03-02T09:41:27-05:00",
                      "author": {"@type": "Person", "name": "Dana Reporter"}})


def words(text: str) -> int:
    return len(text.split())


def test_the_stories_are_as_long_as_the_brief_says():
    assert words(FLASH) == 30 and words(BRIEF) == 58


def test_30_word_flash_with_json_ld_is_kept_with_its_minute():
    record = extract_article(article_page(FLASH, head=NEWS_ARTICLE_LD), URL, fetched_at=FETCHED, min_words=MIN_WORDS)
    assert record.body == FLASH and record.word_count == 30
    assert record.published_at == datetime(2026, 3, 2, 14, 41, tzinfo=timezone.utc)  # minute-exact, UTC
    assert record.published_at_source == "json-ld"
    assert record.title == "SEC sues largest U.S. crypto exchange"
    assert record.authors == ["Dana Reporter"]


def test_58_word_brief_with_og_article_and_a_printed_byline_is_kept():
    head = '<meta property="og:type" content="article">'
    byline = ('<p class="byline">By Dana Reporter · <time datetime="2026-03-02T14:41:00Z">'
              'March 2, 2026 2:41 PM UTC</time></p>')
    record = extract_article(article_page(BRIEF, head=head, byline=byline), URL, fetched_at=FETCHED,
                             min_words=MIN_WORDS)
    assert record.word_count == 58 and record.body == BRIEF
    assert record.published_at == datetime(2026, 3, 2, 14, 41, tzinfo=timezone.utc)


def test_flash_with_only_an_article_element_and_a_printed_date_is_kept():
    byline = '<p class="dateline">Published March 2, 2026 09:41 ET</p>'
    record = extract_article(article_page(FLASH, byline=byline), URL, fetched_at=FETCHED,
                             source_timezone="America/New_York", min_words=MIN_WORDS)
    assert record.body == FLASH
    assert (record.published_at, record.published_at_source) == (
        datetime(2026, 3, 2, 14, 41, tzinfo=timezone.utc), "visible-text")


def test_related_story_cards_beside_the_story_do_not_make_it_an_index():
    related = "<aside>" + "".join(
        f'<article class="related"><h3><a href="/markets/r{i}">Related {i}</a></h3></article>' for i in range(6)
    ) + "</aside>"
    record = extract_article(article_page(FLASH, head=NEWS_ARTICLE_LD, extra=related), URL, fetched_at=FETCHED,
                             min_words=MIN_WORDS)
    assert record.body == FLASH


def test_long_pages_are_not_judged():
    # over the floor nothing changes: a long body on a page with no article markup at all is kept as before
    story = " ".join([BRIEF] * 2)
    html = f"<html><head><title>Notes</title></head><body><div><p>{story}</p></div></body></html>"
    assert extract_article(html, "https://example.com/", min_words=MIN_WORDS).word_count == 116


@pytest.mark.parametrize(
    "html, url, reasons",
    [
        # a section front: og:type website, a list of <article> teasers and pagination
        (teaser_list(14, head='<meta property="og:type" content="website">'),
         "https://www.example-wire.com/markets/", ["og:type website", "14 <article> teasers", "pagination"]),
        # a tag page, told by its URL and its CollectionPage JSON-LD
        (teaser_list(3, head=ld({"@type": "CollectionPage", "name": "Bitcoin"}), h1="Tag: Bitcoin"),
         "https://www.example-wire.com/tag/bitcoin/", ["listing URL /tag/", "JSON-LD CollectionPage"]),
        # the home page: site root, WebSite JSON-LD only
        (teaser_list(2, head=ld({"@type": "WebSite", "name": "Example Wire"}), h1="Example Wire"),
         "https://www.example-wire.com/", ["site root URL", "JSON-LD WebSite only"]),
        # a bare navigation page: no markup, no headline, no date
        ("<html><body><nav><a href='/'>Home</a><a href='/x'>Markets</a></nav><p>Browse our sections and "
         "find the latest coverage from our desks around the world today.</p></body></html>",
         "https://www.example-wire.com/sections-overview", ["no article markup", "no byline or publish date"]),
    ],
)
def test_index_and_navigation_pages_are_rejected_naming_why(html, url, reasons):
    with pytest.raises(ExtractionError) as info:
        extract_article(html, url, fetched_at=FETCHED, min_words=MIN_WORDS)
    reason = info.value.reason
    assert reason.startswith("not an article page: ") and " words, " in reason
    for expected in reasons:
        assert expected in reason


def test_article_markup_without_byline_or_date_is_not_enough():
    with pytest.raises(ExtractionError, match=r"not an article page: \d+ words, no byline or publish date"):
        extract_article(article_page(FLASH, head='<meta property="og:type" content="article">'), URL,
                        fetched_at=FETCHED, min_words=MIN_WORDS)


def test_feed_date_alone_does_not_make_an_article_page():
    # the date must be the page's own evidence; a feed lists index pages too
    with pytest.raises(ExtractionError, match="no byline or publish date"):
        extract_article(article_page(FLASH, head='<meta property="og:type" content="article">'), URL,
                        fetched_at=FETCHED, feed_published_at=datetime(2026, 3, 2, 14, 41, tzinfo=timezone.utc),
                        min_words=MIN_WORDS)


def test_paywalled_teaser_on_an_article_page_is_rejected():
    head = ld({"@type": "NewsArticle", "headline": "SEC sues largest U.S. crypto exchange",
               "datePublished": "2026-03-02T14:41:00Z", "isAccessibleForFree": "False"})
    with pytest.raises(ExtractionError, match=r"paywalled \(isAccessibleForFree false\)"):
        extract_article(article_page(FLASH, head=head), URL, fetched_at=FETCHED, min_words=MIN_WORDS)


def test_too_short_even_for_an_article_page():
    stub = "Subscribe to continue reading this story."
    with pytest.raises(ExtractionError, match=r"words on an article page, need 15 and a finished sentence"):
        extract_article(article_page(stub, head=NEWS_ARTICLE_LD), URL, fetched_at=FETCHED, min_words=MIN_WORDS)


def test_a_list_of_words_without_a_sentence_is_not_a_story():
    items = " ".join(f"Ticker{i}" for i in range(20))
    with pytest.raises(ExtractionError, match="finished sentence"):
        extract_article(article_page(items, head=NEWS_ARTICLE_LD), URL, fetched_at=FETCHED, min_words=MIN_WORDS)


# --- the pure verdict ------------------------------------------------------------------


def verdict(html: str, url: str | None = URL, **evidence):
    tree = fromstring(html)
    metas = {(m.get("property") or m.get("name") or "").lower(): m.get("content") for m in tree.iter("meta")}
    items = [json.loads(s.text) for s in tree.iterfind('.//script[@type="application/ld+json"]')]
    kwargs = {"headline": "SEC sues", "byline": True, "dated": True, **evidence}
    return judge_page(tree, url=url, meta=metas, ld_items=items, **kwargs)


def test_verdict_names_the_evidence_either_way():
    kept = verdict(article_page(FLASH, head=NEWS_ARTICLE_LD + '<meta property="og:type" content="article">'))
    assert kept.is_article
    assert kept.reason == "og:type article, JSON-LD NewsArticle, <article> element, byline, date"
    rejected = verdict(teaser_list(14, head='<meta property="og:type" content="website">'))
    assert not rejected.is_article and rejected.reason == "og:type website, 14 <article> teasers, pagination, no article markup"


def test_og_type_website_on_a_page_with_article_json_ld_is_a_cms_default():
    head = NEWS_ARTICLE_LD + '<meta property="og:type" content="website">'
    assert verdict(article_page(FLASH, head=head)).is_article


def test_itemprop_article_body_counts_as_article_markup():
    html = (f"<html><body><h1>SEC sues</h1><div itemprop='articleBody'><p>{FLASH}</p></div>"
            "</body></html>")
    assert verdict(html).reason.startswith("itemprop articleBody")


@pytest.mark.parametrize("url, expected", [
    ("https://example.com/", "site root URL"),
    ("https://example.com/tag/bitcoin/", "listing URL /tag/"),
    ("https://example.com/news/page/2/", "listing URL /page/"),
    ("https://example.com/search?q=btc", "listing URL /search/"),
    ("http://unexpecteduser.blogspot.de/2011/", "date archive URL"),
    ("https://example.com/2011/03/", "date archive URL"),
    ("https://example.com/2011/03/30/12345", None),
    ("https://example.com/?p=3289", None),  # a WordPress post by id
    ("https://example.com/2026/03/02/tag-team-wins/", None),
    ("https://example.com/tag", "listing URL /tag/"),
    ("https://www.theatlantic.com/ideas/archive/2020/08/climate-change-is-here/615610/", None),
    (None, None),
])
def test_listing_urls(url, expected):
    assert listing_url(url) == expected


def test_floor_and_sentence_helpers():
    assert story_floor(80) == SHORT_STORY_MIN_WORDS == 15
    assert story_floor(10) == 10  # a floor configured lower than ours stays the floor
    assert has_sentence("Prices fell. ") and has_sentence("株価が下落した。") and has_sentence('He said "no."')
    assert has_sentence("Ether rose 10%.") and has_sentence("It closed at $38,000.")
    assert not has_sentence("Home Markets Tech Crypto v1.2 Login")
    assert not has_sentence("SEC sues U.S. crypto exchange")  # an abbreviation ends no sentence
