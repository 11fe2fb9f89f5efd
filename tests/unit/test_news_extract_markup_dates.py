"""Publish dates from markup beyond news CMS meta tags (bench/bench_real_pages.py misses), trimmed."""

from __future__ import annotations

from datetime import date, datetime, timezone

from newsmarkets.news.extract import extract_article

FETCHED = datetime(2026, 1, 6, 12, 0, tzinfo=timezone.utc)
BODY = "".join(f"<p>Sentence number {i} of a story that is long enough to count as an article body.</p>"
               for i in range(6))


def page(head: str = "", before_story: str = "") -> str:
    return (f"<html><head><title>A story</title>{head}</head><body><article><h1>A story</h1>{before_story}"
            f"{BODY}</article></body></html>")


def extract(html: str, tz: str = "UTC"):
    return extract_article(html, "https://example.org/story", fetched_at=FETCHED, source_timezone=tz)


def test_video_upload_date_in_itemprop_markup():
    # htmldate:0b4609a864eb4fa0bbcb2b395f6be9eb.html (a broadcaster's video page: no article date at all)
    html = page(before_story='<div itemscope itemtype="http://schema.org/VideoObject">'
                             '<meta itemprop="uploadDate" content="2019-10-16T20:15:00+02:00"></div>')
    record = extract(html)
    assert record.published_at == datetime(2019, 10, 16, 18, 15, tzinfo=timezone.utc)
    assert record.published_at_source == "meta"
    html = page(before_story='<span itemprop="dateCreated" datetime="2019-10-16">16.10.2019</span>')
    assert extract(html).published_at == datetime(2019, 10, 16, tzinfo=timezone.utc)


def test_scholarly_citation_date_with_slashes():
    # trafilatura:laviedesidees.fr.evaluation.html
    record = extract(page('<meta name="citation_publication_date" content="2009/09/15">'))
    assert (record.published_at, record.published_at_source) == (datetime(2009, 9, 15, tzinfo=timezone.utc), "meta")
    record = extract(page('<meta name="bepress_citation_date" content="2019">'))  # a year names no day
    assert record.published_at is None


def test_rdfa_dublin_core_and_a_zone_abbreviation():
    html = page(before_story='<span property="dc:date" content="2019-10-16 10:00 CDT"></span>')
    record = extract(html)
    assert record.published_at == datetime(2019, 10, 16, 15, 0, tzinfo=timezone.utc)
    assert record.published_local_date == date(2019, 10, 16)


def test_json_ld_of_a_webpage_is_a_last_resort():
    # htmldate:creativecommons.ch.wie.html: JSON-LD typed WebPage, no article item
    ld = ('<script type="application/ld+json">{"@context": "https://schema.org", "@graph": [{"@type": "WebPage", '
          '"datePublished": "2014-03-17T01:44:35+00:00", "dateModified": "2019-01-02T10:00:00+00:00"}]}</script>')
    record = extract(page(ld))
    assert (record.published_at, record.published_at_source) == (
        datetime(2014, 3, 17, 1, 44, tzinfo=timezone.utc), "json-ld")
    # a byline the page prints comes first
    record = extract(page(ld, '<p class="byline">Published March 18, 2014 at 9:30 am</p>'))
    assert record.published_at == datetime(2014, 3, 18, 9, 30, tzinfo=timezone.utc)
    assert record.published_at_source == "visible-text"


def test_day_only_markup_does_not_beat_a_minute_exact_time_of_the_same_day():
    head = ('<meta name="citation_publication_date" content="2024/05/03">'
            '<meta property="article:published_time" content="2024-05-03T10:15:00+02:00">')
    record = extract(page(head))
    assert record.published_at == datetime(2024, 5, 3, 8, 15, tzinfo=timezone.utc)
    head = '<meta name="citation_publication_date" content="2024/05/03">'
    record = extract(page(head, '<p class="byline">3 May 2024, 10:15</p>'), tz="Europe/Berlin")
    assert record.published_at == datetime(2024, 5, 3, 8, 15, tzinfo=timezone.utc)


def test_local_day_is_the_day_the_page_states():
    # late evening in Chicago is the next day in UTC; the page (and a day-level reference) says the 19th
    record = extract(page('<meta property="article:published_time" content="2019-10-19T23:30:00-05:00">'))
    assert record.published_at == datetime(2019, 10, 20, 4, 30, tzinfo=timezone.utc)
    assert record.published_local_date == date(2019, 10, 19)
    assert record.to_dict()["published_local_date"] == "2019-10-19"
    # a naive byline is read in the source's timezone, and that is its day
    record = extract(page(before_story='<p class="byline">19 October 2019, 23:30</p>'), tz="America/Chicago")
    assert record.published_local_date == date(2019, 10, 19)
    assert extract(page()).published_local_date is None
