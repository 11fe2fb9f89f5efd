"""extract_article on small generated pages: body cleaning, metadata and publish-time rules."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest

from newsmarkets.news.extract import ArticleRecord, ExtractionError, extract_article

URL = "https://www.example-news.com/markets/2026/01/05/story?utm_source=x"
# The same page at an address without a date: what the page alone says (htmldate also reads a URL's date).
UNDATED_URL = "https://www.example-news.com/markets/story?utm_source=x"
FETCHED = datetime(2026, 1, 6, 12, 0, tzinfo=timezone.utc)

P1 = ("The central bank kept its benchmark rate unchanged on Monday, citing a slower decline in services "
      "inflation than officials had expected at the start of the quarter.")
P2 = ("Traders had priced in a small chance of a cut, and short-dated government bond yields rose modestly "
      "after the statement was published in the early afternoon.")
P3 = ("Several members of the committee said they wanted to see two more months of data before changing "
      "course, according to minutes released alongside the decision.")
STORY = [P1, P2, P3]


def page(head: str = "", header: str = "", story: str | None = None, extra: str = "", lang: str = "en") -> str:
    story_html = story if story is not None else "".join(f"<p>{p}</p>" for p in STORY)
    return f"""<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>Rates on hold | Example</title>{head}</head>
<body><header class="site-header"><nav><ul><li><a href="/">Home</a></li><li><a href="/m">Markets</a></li></ul></nav></header>
<article><header><h1>Rates on hold as inflation lingers</h1>{header}</header>
<div class="article-body">{story_html}</div></article>{extra}
<footer><p>© 2026 Example Media. All rights reserved.</p></footer></body></html>"""


def ld(obj: dict | list) -> str:
    return f'<script type="application/ld+json">{json.dumps(obj)}</script>'


def test_record_fields_and_json_friendly_dict():
    head = (
        ld({"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Rates on hold as inflation lingers",
            "datePublished": "2026-01-05T09:30:45+01:00", "dateModified": "2026-01-05T11:02:00+01:00",
            "author": [{"@type": "Person", "name": "Ana Writer"}, {"@type": "Person", "name": "Ben Reporter"}],
            "articleSection": "Markets", "inLanguage": "en-GB"})
        + '<link rel="canonical" href="https://www.example-news.com/markets/2026/01/05/story">'
        + '<meta name="description" content="The bank held rates.">'
    )
    record = extract_article(page(head=head), URL, fetched_at=FETCHED)
    assert isinstance(record, ArticleRecord)
    assert record.title == "Rates on hold as inflation lingers"
    assert record.body.split("\n") == STORY
    assert record.published_at == datetime(2026, 1, 5, 8, 30, tzinfo=timezone.utc)  # to the minute, UTC
    assert record.published_at_source == "json-ld"
    assert record.updated_at == datetime(2026, 1, 5, 10, 2, tzinfo=timezone.utc)
    assert record.authors == ["Ana Writer", "Ben Reporter"]
    assert record.canonical_url == "https://www.example-news.com/markets/2026/01/05/story"
    assert record.language == "en"
    assert record.section == "Markets"
    assert record.description == "The bank held rates."
    assert record.word_count == sum(len(p.split()) for p in STORY)
    as_dict = record.to_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert as_dict["published_at"] == "2026-01-05T08:30:00+00:00"


def test_json_ld_inside_graph_and_blogposting_type():
    head = ld({"@context": "https://schema.org", "@graph": [
        {"@type": "WebSite", "name": "Example"},
        {"@type": ["BlogPosting"], "headline": "Graph headline", "datePublished": "2026-01-04T22:15:00Z"},
    ]})
    record = extract_article(page(head=head), URL, fetched_at=FETCHED)
    assert (record.published_at, record.published_at_source) == (datetime(2026, 1, 4, 22, 15, tzinfo=timezone.utc), "json-ld")
    # the printed <h1> is the headline; a differing JSON-LD headline is not (test_news_titles.py)
    assert record.title == "Rates on hold as inflation lingers"
    without_h1 = page(head=head).replace("<h1>Rates on hold as inflation lingers</h1>", "")
    assert extract_article(without_h1, URL, fetched_at=FETCHED).title == "Graph headline"


def test_json_ld_beats_meta_and_meta_beats_feed():
    head = ld({"@type": "NewsArticle", "datePublished": "2026-01-05T07:00:00Z"}) + \
        '<meta property="article:published_time" content="2026-01-05T08:00:00Z">'
    feed = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
    assert extract_article(page(head=head), URL, feed_published_at=feed).published_at.hour == 7
    meta_only = '<meta property="article:published_time" content="2026-01-05T08:00:00Z">'
    record = extract_article(page(head=meta_only), URL, feed_published_at=feed)
    assert (record.published_at.hour, record.published_at_source) == (8, "meta")


def test_future_json_ld_date_falls_back_to_next_source():
    head = ld({"@type": "NewsArticle", "datePublished": "2026-02-01T00:00:00Z"}) + \
        '<meta property="article:published_time" content="2026-01-05T08:00:00Z">'
    record = extract_article(page(head=head), URL, fetched_at=FETCHED)
    assert (record.published_at, record.published_at_source) == (datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc), "meta")


def test_every_source_in_the_future_gives_none():
    head = '<meta property="article:published_time" content="2026-03-01T08:00:00Z">'
    record = extract_article(page(head=head), URL, fetched_at=FETCHED,
                             feed_published_at=datetime(2026, 3, 2, tzinfo=timezone.utc))
    assert record.published_at is None and record.published_at_source is None


def test_header_time_element_and_itemprop():
    header = '<p class="byline">By Ana Writer · <time datetime="2026-01-05T15:45:00+02:00">Jan 5</time></p>'
    record = extract_article(page(header=header), URL, fetched_at=FETCHED)
    assert (record.published_at, record.published_at_source) == (datetime(2026, 1, 5, 13, 45, tzinfo=timezone.utc), "meta")
    itemprop = '<span itemprop="datePublished" content="2026-01-05T06:05:00Z">5 Jan</span>'
    assert extract_article(page(header=itemprop), URL).published_at == datetime(2026, 1, 5, 6, 5, tzinfo=timezone.utc)


def test_time_elements_in_related_lists_are_ignored():
    related = ('<section class="related-articles"><ul><li><a href="/x">Older story about rates and banks</a>'
               '<time datetime="2025-12-01T10:00:00Z">Dec 1</time></li><li><a href="/y">Another older story</a></li>'
               '<li><a href="/z">A third older story here</a></li></ul></section>')
    # inside the <article>, where header <time> elements are otherwise believed
    story = "".join(f"<p>{p}</p>" for p in STORY) + related
    record = extract_article(page(story=story), UNDATED_URL, fetched_at=FETCHED)
    assert record.published_at is None
    assert "older story" not in record.body


def test_feed_and_sitemap_dates_are_the_third_choice():
    feed = datetime(2026, 1, 5, 9, 0, 59, tzinfo=timezone.utc)
    record = extract_article(page(), URL, feed_published_at=feed, fetched_at=FETCHED)
    assert (record.published_at, record.published_at_source) == (datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc), "feed")
    record = extract_article(page(), URL, feed_published_at=feed, feed_date_source="sitemap")
    assert record.published_at_source == "sitemap"


@pytest.mark.parametrize(
    "printed, tz, expected",
    [
        ("January 5, 2026 at 3:45 PM", "America/New_York", datetime(2026, 1, 5, 20, 45, tzinfo=timezone.utc)),
        ("05.01.2026 15:45", "Europe/Berlin", datetime(2026, 1, 5, 14, 45, tzinfo=timezone.utc)),
        ("5 January 2026, 15:45 UTC", "Asia/Tokyo", datetime(2026, 1, 5, 15, 45, tzinfo=timezone.utc)),
        ("Jan. 5, 2026 3:45 p.m. ET", "UTC", datetime(2026, 1, 5, 20, 45, tzinfo=timezone.utc)),
    ],
)
def test_visible_byline_dates_in_the_source_timezone(printed, tz, expected):
    header = f'<div class="article-date">Published {printed}</div>'
    record = extract_article(page(header=header), URL, source_timezone=tz, fetched_at=FETCHED)
    assert (record.published_at, record.published_at_source) == (expected, "visible-text")


def test_visible_updated_label_goes_to_updated_at():
    header = ('<div class="meta"><span class="date">Published 05.01.2026 10:00</span> '
              '<span class="date">Updated 05.01.2026 12:30</span></div>')
    record = extract_article(page(header=header), URL, source_timezone="Europe/Berlin", fetched_at=FETCHED)
    assert record.published_at == datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
    assert record.updated_at == datetime(2026, 1, 5, 11, 30, tzinfo=timezone.utc)


def test_naive_structured_times_use_source_timezone():
    head = '<meta property="article:published_time" content="2026-01-05T10:00:00">'
    record = extract_article(page(head=head), URL, source_timezone="Asia/Tokyo")
    assert record.published_at == datetime(2026, 1, 5, 1, 0, tzinfo=timezone.utc)


def test_no_date_anywhere_gives_none():
    record = extract_article(page(), UNDATED_URL)
    assert record.published_at is None and record.published_at_source is None and record.updated_at is None


def test_boilerplate_removed_and_story_kept():
    story = (
        f"<p>{P1}</p>"
        "<div class='price-ticker'><span>BTC $97,123 +2.1%</span><span>ETH $3,301 -0.4%</span><span>SOL $201.50 +5.0%</span></div>"
        f"<p>{P2}</p>"
        "<p><strong>Read more:</strong> <a href='/other'>Why bond traders are nervous about the spring</a></p>"
        "<div class='share-bar'><a href='#'>Share on X</a> <a href='#'>Share on Facebook</a></div>"
        "<div class='newsletter-signup'><p>Sign up for our morning briefing and get the top stories every day before the markets open.</p></div>"
        f"<p>{P3}</p>"
        "<p>BTC $97,123 +2.1% ETH $3,301 -0.4% XRP $2.41 +0.8%</p>"
        "<p><a href='https://wire.example.org/x'>Source link</a></p>"
    )
    extra = ("<div id='cookie-consent'><p>We use cookies to personalise content and ads. By continuing you agree "
             "to the use of cookies on this website.</p></div>"
             "<div class='box'><ul><li><a href='/1'>Headline one about markets today</a></li>"
             "<li><a href='/2'>Headline two about other markets</a></li><li><a href='/3'>Headline three</a></li></ul></div>")
    record = extract_article(page(story=story, extra=extra), URL)
    assert record.body.split("\n") == STORY


def test_story_inside_a_wrapper_with_boilerplate_class_name_survives():
    html = f"""<html><body><div class="layout has-sidebar"><h1>Title here</h1>
    {''.join(f'<p>{p}</p>' for p in STORY)}
    <div class="sidebar"><p>Most popular this week: a list of other things you might like to read.</p></div></div></body></html>"""
    record = extract_article(html, URL)
    for p in STORY:
        assert p in record.body
    assert "Most popular" not in record.body


def test_long_prose_starting_like_a_promo_is_kept():
    prose = ("More from the minutes: officials debated whether the labour market had cooled enough to justify a "
             "cut, and a minority argued that waiting another meeting would risk falling behind events.")
    record = extract_article(page(story="".join(f"<p>{p}</p>" for p in [P1, prose, P2])), URL)
    assert prose in record.body


def test_repeated_headline_line_is_dropped():
    story = "<p>Rates on hold as inflation lingers</p>" + "".join(f"<p>{p}</p>" for p in STORY)
    record = extract_article(page(story=story), URL)
    assert not record.body.startswith("Rates on hold")


def test_authors_from_meta_and_title_fallbacks():
    head = '<meta name="author" content="Ana Writer, Ben Reporter">'
    html = page(head=head).replace("<h1>Rates on hold as inflation lingers</h1>", "")
    record = extract_article(html, URL)
    assert record.authors == ["Ana Writer", "Ben Reporter"]
    # <title> is the last resort, minus the site name (example-news.com prints "Example")
    assert record.title == "Rates on hold"


def test_canonical_hint_on_another_domain_is_ignored():
    head = '<link rel="canonical" href="https://syndicator.example.org/copy/123">'
    record = extract_article(page(head=head), URL)
    assert record.canonical_url == "https://www.example-news.com/markets/2026/01/05/story"


def test_bytes_input_with_non_utf8_encoding():
    html = page(story=f"<p>{P1} Café crème.</p><p>{P2}</p>").replace('charset="utf-8"', 'charset="iso-8859-1"')
    record = extract_article(html.encode("iso-8859-1"), URL)
    assert "Café crème." in record.body


@pytest.mark.parametrize(
    "html, reason",
    [
        ("", "empty"),
        ("   \n ", "empty"),
        ('{"not": "html at all, just a json document that came back from an api endpoint"}', "not"),
        # short and nothing says "one article" (issue 21: short stories count only on article pages)
        ("<html><body><p>Too short.</p></body></html>", "not an article page: 2 words, no article markup"),
        ("<html><body><nav><a href='/'>Home</a><a href='/x'>Markets</a></nav></body></html>", "not an article page"),
    ],
)
def test_extraction_error_names_url_and_reason(html, reason):
    with pytest.raises(ExtractionError) as info:
        extract_article(html, "https://example.com/broken")
    assert info.value.url == "https://example.com/broken"
    assert reason in info.value.reason
    assert "https://example.com/broken" in str(info.value)


def test_unknown_timezone_is_a_clear_error():
    with pytest.raises(ValueError, match="Mars/Olympus"):
        extract_article(page(), URL, source_timezone="Mars/Olympus")


def test_wordpress_taxonomy_classes_and_sidebar_wrappers_do_not_hide_the_story_or_its_date():
    html = f"""<html><body class="single no-sidebar"><div class="site-content no-sidebar">
    <article class="post-12 post type-post tag-bitcoin tag-markets category-news">
    <header class="entry-header"><h1 class="entry-title">Rates on hold</h1>
    <time class="entry-date published" datetime="2026-01-05T07:15:00+00:00">January 5, 2026</time></header>
    <div class="entry-content">{''.join(f'<p>{p}</p>' for p in STORY)}</div></article></div></body></html>"""
    record = extract_article(html, URL, fetched_at=FETCHED)
    assert record.body.split("\n") == STORY
    assert (record.published_at, record.published_at_source) == (datetime(2026, 1, 5, 7, 15, tzinfo=timezone.utc), "meta")


def test_masthead_date_is_not_a_publish_date():
    html = page().replace('<header class="site-header">', '<header class="site-header"><span class="today-date">Tuesday, January 6, 2026</span>')
    assert extract_article(html, UNDATED_URL, fetched_at=FETCHED).published_at is None
    html = page().replace('<header class="site-header">', '<header class="site-header"><time datetime="2026-01-06">Today</time>')
    assert extract_article(html, UNDATED_URL, fetched_at=FETCHED).published_at is None


# --- issue 21, part 2: dates as real pages print them ----------------------------------------


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def wordpress_page(date_html: str, lang: str = "en-US") -> str:
    """A WordPress theme's single post: no JSON-LD, no article:published_time, only the printed date."""
    story = "".join(f"<p>{p}</p>" for p in STORY)
    return f"""<!DOCTYPE html><html lang="{lang}"><head><meta charset="UTF-8"><title>Rates on hold – Example</title>
<meta name="generator" content="WordPress 6.6"></head><body class="post-template-default single single-post">
<div id="page" class="site"><header id="masthead" class="site-header"><nav><a href="/">Home</a></nav></header>
<main id="main" class="site-main"><article id="post-42" class="post-42 post type-post status-publish">
<header class="entry-header"><h1 class="entry-title">Rates on hold as inflation lingers</h1>
<div class="entry-meta">{date_html}<span class="author meta-item">Ana Writer</span></div></header>
<div class="entry-content">{story}</div></article></main></div></body></html>"""


def test_seed_wordpress_page_with_only_a_dotted_date():
    page_html = wordpress_page('<span class="date meta-item">2024.10.15 09:03</span>')
    record = extract_article(page_html, URL, source_timezone="Asia/Tokyo", fetched_at=utc(2024, 10, 16))
    assert (record.published_at, record.published_at_source) == (utc(2024, 10, 15, 0, 3), "visible-text")


@pytest.mark.parametrize(
    "lang, printed, tz, expected",
    [
        ("de", "3. Mai 2024, 10:15 Uhr", "Europe/Berlin", utc(2024, 5, 3, 8, 15)),
        ("de-DE", "Veröffentlicht am 03.05.2024 um 10:15 Uhr", "Europe/Berlin", utc(2024, 5, 3, 8, 15)),
        ("fr", "Publié le 15 octobre 2024 à 09h03", "Europe/Paris", utc(2024, 10, 15, 7, 3)),
        ("es", "Publicado el 15 de octubre de 2024, 09:03", "Europe/Madrid", utc(2024, 10, 15, 7, 3)),
        ("ja", "公開日：2024年5月3日 10時15分", "Asia/Tokyo", utc(2024, 5, 3, 1, 15)),
        ("zh-CN", "发布时间：2024年10月15日 09:03", "Asia/Shanghai", utc(2024, 10, 15, 1, 3)),
        ("en-US", "Published 05/03/2024 10:15 AM", "America/New_York", utc(2024, 5, 3, 14, 15)),
        ("en-GB", "Published 05/03/2024 10:15", "Europe/London", utc(2024, 3, 5, 10, 15)),
    ],
)
def test_printed_dates_in_the_page_language(lang, printed, tz, expected):
    page_html = wordpress_page(f'<span class="posted-on date">{printed}</span>', lang=lang)
    record = extract_article(page_html, URL, source_timezone=tz, fetched_at=utc(2024, 10, 16))
    assert (record.published_at, record.published_at_source) == (expected, "visible-text")


def test_numeric_date_that_the_locale_does_not_order_is_not_guessed():
    page_html = wordpress_page('<span class="date">05/03/2024 10:15</span>', lang="en")
    assert extract_article(page_html, UNDATED_URL, fetched_at=utc(2024, 10, 16)).published_at is None
    # og:locale supplies the region the lang attribute left out
    page_html = page_html.replace("<head>", '<head><meta property="og:locale" content="en_US">')
    assert extract_article(page_html, URL, fetched_at=utc(2024, 10, 16)).published_at == utc(2024, 5, 3, 10, 15)


@pytest.mark.parametrize(
    "lang, tz, meta_html",
    [
        ("de", "Europe/Berlin", '<span class="date">Veröffentlicht am 3. Mai 2024, 10:15 Uhr</span> '
                                '<span class="date">Aktualisiert am 4. Mai 2024, 08:00 Uhr</span>'),
        ("fr", "Europe/Berlin", '<span class="date">Publié le 3 mai 2024 à 10h15, mis à jour le 4 mai 2024 à 08h00</span>'),
        ("es", "Europe/Berlin", '<span class="date">Publicado el 3 de mayo de 2024, 10:15 | '
                                'Actualizado el 4 de mayo de 2024, 08:00</span>'),
        ("ja", "Europe/Berlin", '<span class="date">公開：2024年5月3日 10時15分</span>'
                                '<span class="date">更新：2024年5月4日 08時00分</span>'),
        ("ja", "Europe/Berlin", '<span class="date">2024年5月3日 10時15分</span>'
                                '<span class="date">2024年5月4日 08時00分 更新</span>'),
        ("zh", "Europe/Berlin", '<span class="date">发布时间：2024年5月3日 10:15 更新时间：2024年5月4日 08:00</span>'),
        ("en", "Europe/Berlin", '<span class="date">Last updated May 4, 2024 8:00 · Published May 3, 2024 10:15</span>'),
    ],
)
def test_updated_and_published_labels_in_six_languages(lang, tz, meta_html):
    record = extract_article(wordpress_page(meta_html, lang=lang), URL, source_timezone=tz, fetched_at=utc(2024, 10, 16))
    assert (record.published_at, record.updated_at) == (utc(2024, 5, 3, 8, 15), utc(2024, 5, 4, 6, 0))


def test_relative_times_use_the_fetch_time():
    meta_html = '<span class="date">Published 3 hours ago · Updated 40 min ago</span>'
    fetched = utc(2024, 10, 15, 10, 0, 30)
    record = extract_article(wordpress_page(meta_html), URL, source_timezone="America/New_York", fetched_at=fetched)
    assert (record.published_at, record.published_at_source) == (utc(2024, 10, 15, 7, 0), "visible-text")
    assert record.updated_at == utc(2024, 10, 15, 9, 20)
    german = '<span class="date">vor 2 Stunden</span>'
    record = extract_article(wordpress_page(german, lang="de"), URL, source_timezone="Europe/Berlin", fetched_at=fetched)
    assert record.published_at == utc(2024, 10, 15, 8, 0)
    # without a fetch time a relative time cannot be read
    assert extract_article(wordpress_page(meta_html), UNDATED_URL).published_at is None


def test_false_positives_in_a_byline_are_not_dates():
    meta_html = ('<span class="meta-item">May I help? Version 2.10.15 · 10 15 2024 prices · 3 min read</span>'
                 '<span class="date">Posted in Markets</span>')
    record = extract_article(wordpress_page(meta_html), UNDATED_URL, fetched_at=utc(2024, 10, 16))
    assert record.published_at is None and record.updated_at is None


# DST. Europe/Berlin, 2024-10-27: 02:30 is shown twice, at 00:30 UTC (CEST) and 01:30 UTC (CET);
# 2024-03-31: the clocks jump from 02:00 to 03:00, so a printed 02:30 names no instant.
AUTUMN = '<span class="date">27.10.2024 02:30</span>'
SPRING = '<span class="date">31.03.2024 02:30</span>'
LATER = utc(2024, 11, 1)


def test_ambiguous_autumn_time_without_a_feed_time_is_marked():
    record = extract_article(wordpress_page(AUTUMN, lang="de"), URL, source_timezone="Europe/Berlin", fetched_at=LATER)
    assert (record.published_at, record.published_at_source) == (utc(2024, 10, 27, 0, 30), "visible-text-ambiguous")


def test_ambiguous_autumn_time_settled_by_the_sitemap_time():
    # the article was published at the second 02:30 (CET); the sitemap's lastmod says 01:41 UTC
    record = extract_article(wordpress_page(AUTUMN, lang="de"), URL, source_timezone="Europe/Berlin",
                             fetched_at=LATER, listing_time=utc(2024, 10, 27, 1, 41))
    assert (record.published_at, record.published_at_source) == (utc(2024, 10, 27, 1, 30), "visible-text")
    # ... and the first 02:30 when that is what the listing agrees with
    record = extract_article(wordpress_page(AUTUMN, lang="de"), URL, source_timezone="Europe/Berlin",
                             fetched_at=LATER, listing_time=utc(2024, 10, 27, 0, 31))
    assert (record.published_at, record.published_at_source) == (utc(2024, 10, 27, 0, 30), "visible-text")


def test_a_listing_time_far_away_or_halfway_settles_nothing():
    for listing in (utc(2024, 10, 27, 9, 0), utc(2024, 10, 27, 1, 0)):
        record = extract_article(wordpress_page(AUTUMN, lang="de"), URL, source_timezone="Europe/Berlin",
                                 fetched_at=LATER, listing_time=listing)
        assert record.published_at_source == "visible-text-ambiguous"


def test_ambiguous_json_ld_time_settled_by_the_feed_time():
    head = ld({"@type": "NewsArticle", "headline": "Rates on hold", "datePublished": "2024-10-27T02:30:00"})
    feed = utc(2024, 10, 27, 1, 30)
    record = extract_article(page(head=head), URL, source_timezone="Europe/Berlin", fetched_at=LATER,
                             feed_published_at=feed)
    assert (record.published_at, record.published_at_source) == (utc(2024, 10, 27, 1, 30), "json-ld")
    record = extract_article(page(head=head), URL, source_timezone="Europe/Berlin", fetched_at=LATER)
    assert (record.published_at, record.published_at_source) == (utc(2024, 10, 27, 0, 30), "json-ld-ambiguous")


def test_ambiguous_time_settled_by_the_fetch_time():
    # fetched at 01:00 UTC: the 01:30 UTC reading lies in the future, so only the first one is possible
    record = extract_article(wordpress_page(AUTUMN, lang="de"), URL, source_timezone="Europe/Berlin",
                             fetched_at=utc(2024, 10, 27, 1, 0))
    assert (record.published_at, record.published_at_source) == (utc(2024, 10, 27, 0, 30), "visible-text")


def test_nonexistent_spring_time():
    record = extract_article(wordpress_page(SPRING, lang="de"), URL, source_timezone="Europe/Berlin", fetched_at=LATER)
    # kept with the offset before the change (CET: 02:30+01:00, i.e. 03:30 CEST) and marked
    assert (record.published_at, record.published_at_source) == (utc(2024, 3, 31, 1, 30), "visible-text-ambiguous")
    record = extract_article(wordpress_page(SPRING, lang="de"), URL, source_timezone="Europe/Berlin", fetched_at=LATER,
                             listing_time=utc(2024, 3, 31, 0, 32))
    assert (record.published_at, record.published_at_source) == (utc(2024, 3, 31, 0, 30), "visible-text")


def test_unambiguous_times_do_not_depend_on_the_listing_time():
    page_html = wordpress_page('<span class="date">27.10.2024 04:30</span>', lang="de")
    record = extract_article(page_html, URL, source_timezone="Europe/Berlin", fetched_at=LATER,
                             listing_time=utc(2024, 10, 27, 1, 0))
    assert (record.published_at, record.published_at_source) == (utc(2024, 10, 27, 3, 30), "visible-text")


def test_ingest_hands_the_sitemap_time_to_the_extractor():
    from newsmarkets.config import NewsSourceConfig
    from newsmarkets.news.ingest.extract import extract_candidate

    source = NewsSourceConfig(name="wp", sitemaps=("https://www.example-news.com/sitemap.xml",),
                              timezone="Europe/Berlin")
    row = {"url": URL, "final_url": None, "fetched_at": LATER, "listed_at": utc(2024, 10, 27, 1, 41),
           "date_source": "sitemap", "status": 200, "attempts": 1}
    candidate = extract_candidate(row, wordpress_page(AUTUMN, lang="de"), source, 20)
    assert (candidate["published_at"], candidate["published_at_source"]) == (utc(2024, 10, 27, 1, 30), "visible-text")
    candidate = extract_candidate({**row, "listed_at": None, "date_source": None},
                                  wordpress_page(AUTUMN, lang="de"), source, 20)
    assert candidate["published_at_source"] == "visible-text-ambiguous"


def test_a_page_nothing_else_dates_gets_htmldates_day_from_its_url():
    record = extract_article(page(), URL, fetched_at=FETCHED, source_timezone="Europe/Berlin")
    assert (record.published_at_source, record.published_at_has_time) == ("htmldate", False)
    assert record.published_local_date == date(2026, 1, 5)  # the URL's day, at local midnight in the source's zone
    assert record.published_at == datetime(2026, 1, 4, 23, 0, tzinfo=timezone.utc)
    # never a day after the fetch
    assert extract_article(page(), URL, fetched_at=datetime(2026, 1, 4, tzinfo=timezone.utc)).published_at is None
    # any time of day the page or its feed gives wins: htmldate is not even asked
    feed = datetime(2026, 1, 5, 9, 30, tzinfo=timezone.utc)
    record = extract_article(page(), URL, fetched_at=FETCHED, feed_published_at=feed)
    assert (record.published_at, record.published_at_source) == (feed, "feed")


def test_ingest_prefers_the_sitemap_time_to_htmldates_day():
    from newsmarkets.config import NewsSourceConfig
    from newsmarkets.news.ingest.extract import extract_candidate

    source = NewsSourceConfig(name="ex", sitemaps=("https://www.example-news.com/sitemap.xml",))
    row = {"url": URL, "final_url": None, "fetched_at": FETCHED, "listed_at": utc(2026, 1, 5, 9, 41),
           "date_source": "sitemap", "status": 200, "attempts": 1}
    candidate = extract_candidate(row, page(), source, 20)  # the page says nothing; its URL names the day
    assert (candidate["published_at"], candidate["published_at_source"]) == (utc(2026, 1, 5, 9, 41), "sitemap")
    # listed without a time: htmldate's day is what there is
    candidate = extract_candidate({**row, "listed_at": None, "date_source": None}, page(), source, 20)
    assert (candidate["published_at"], candidate["published_at_source"]) == (utc(2026, 1, 5), "htmldate")
