"""The publish day on the site's own calendar when the page states the time in UTC.

Snippets trimmed from real pages of htmldate's evaluation set (bench/corpus/), named in each test; the
annotated day is the site's local day, which a "…Z" timestamp alone does not give.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from newsmarkets.news.extract import extract_article

BODY = "".join(f"<p>Sentence number {i} of a story that is long enough to count as an article body.</p>"
               for i in range(6))
FETCHED = datetime(2026, 1, 1, tzinfo=timezone.utc)


def local_day(head: str, url: str) -> tuple[date | None, datetime | None]:
    html = f"<html><head>{head}</head><body><article><h1>A headline for the story</h1>{BODY}</article></body></html>"
    record = extract_article(html, url, fetched_at=FETCHED)
    return record.published_local_date, record.published_at


def ld(published: str) -> str:
    return f'<script type="application/ld+json">{{"@type": "NewsArticle", "datePublished": "{published}"}}</script>'


def test_wall_time_beside_the_utc_time_gives_the_day():
    # htmldate:denverpost.com-Colorado.html: JSON-LD in UTC, a meta tag with the Denver wall time
    head = ld("2023-11-09T01:09:55Z") + '<meta name="parsely-pub-date" content="2023-11-08 18:09:55">'
    got = local_day(head, "https://www.denverpost.com/colorado-high-school-football-playoffs/")
    assert got == (date(2023, 11, 8), datetime(2023, 11, 9, 1, 9, tzinfo=timezone.utc))


def test_same_instant_with_the_site_offset_gives_the_day():
    # htmldate:0b96fc66e2c94f45a1b923ec9a31fcf2.html (nachrichten.at): "Z" in JSON-LD, "+0200" in a meta tag
    head = ld("2019-10-18T22:04:00Z") + '<meta name="date" content="Sat, 19 Oct 2019 00:04:00 +0200">'
    assert local_day(head, "https://www.nachrichten.at/meine-welt/gesundheit/x")[0] == date(2019, 10, 19)


def test_day_in_the_url_gives_the_day():
    # htmldate:pagesix.com.myers.html: only a UTC time, the URL carries New York's day
    head = ld("2020-02-25T02:25:54Z")
    assert local_day(head, "https://pagesix.com/2020/02/24/former-wh-press-secretary-exits/")[0] == date(2020, 2, 24)
    # no day in the URL, nothing else: the UTC day
    assert local_day(head, "https://pagesix.com/former-wh-press-secretary-exits/")[0] == date(2020, 2, 25)


def test_url_day_more_than_ten_hours_away_is_the_filing_day():
    # mediacloud:1676872902.html (washingtonpost.com): filed on the 8th, published 10:04 UTC on the 9th
    head = ld("2020-07-09T10:04:04Z")
    url = "https://www.washingtonpost.com/politics/x/2020/07/08/c3d22ec8-c151-11ea-b4f6-cb39cd8940fb_story.html"
    assert local_day(head, url)[0] == date(2020, 7, 9)


def test_a_stated_offset_is_the_sites_own_day():
    # an offset other than UTC already names the site's day: the URL does not override it
    head = ld("2023-11-08T23:30:00-05:00")
    assert local_day(head, "https://example.com/2023/11/09/x/")[0] == date(2023, 11, 8)


def test_elapsed_times_in_a_list_of_other_stories_do_not_date_the_page():
    # htmldate:eishockeynews.de-halbfinale.html: the article's date, then "vor 16 Stunden" in a news list
    html = (f'<html lang="de"><head></head><body><article><h1>Das Halbfinale der Champions Hockey League</h1>'
            f'<div class="date">Dienstag, 1. Februar 2022</div>{BODY}</article>'
            '<ul class="news-list"><li class="date">vor 16 Stunden</li><li class="date">vor 18 Stunden</li></ul>'
            '</body></html>')
    record = extract_article(html, "https://www.eishockeynews.de/x.html", fetched_at=datetime(2026, 12, 7, 22, 0,
                                                                                               tzinfo=timezone.utc))
    assert record.published_local_date == date(2022, 2, 1)
    # an elapsed time on the same day as the printed date still gives the time of day
    same_day = html.replace("Dienstag, 1. Februar 2022", "Montag, 7. Dezember 2026")
    record = extract_article(same_day, "https://www.eishockeynews.de/x.html",
                             fetched_at=datetime(2026, 12, 7, 22, 0, tzinfo=timezone.utc))
    assert record.published_at == datetime(2026, 12, 7, 6, 0, tzinfo=timezone.utc)


def test_rdfa_schema_org_date_property():
    # htmldate:meininger.de-wachstum.html: RDFa with the schema: prefix on a <span>, no other date
    html = ('<html><body><article><h1>LVMH mit ordentlichem Wachstum</h1>'
            '<span property="schema:dateCreated" content="2022-01-28T12:45:46+00:00" class="rdf-meta"></span>'
            f'{BODY}</article></body></html>')
    record = extract_article(html, "https://www.meininger.de/wein/erzeuger/x", fetched_at=FETCHED)
    assert (record.published_at, record.published_at_source) == (
        datetime(2022, 1, 28, 12, 45, tzinfo=timezone.utc), "meta")


def test_date_in_an_article_header_with_a_share_bar_is_not_the_masthead():
    # trafilatura:zfk.de.waermepumpen.html: the story's header holds a share <nav> beside the date
    html = ('<html lang="de"><body><article><header class="contentHeader contentHeader--articleHeader has-sharing">'
            '<section class="articleHeader"><div class="articleHeader__content"><div class="contentHeaderHeader">'
            '<nav class="sharing"><a href="/share">Teilen</a></nav>'
            '<span class="meta meta__date">06.12.2022</span></div>'
            '<h1>Wärmepumpenmarkt wächst um 42 Prozent</h1></div></section></header>'
            f'{BODY}</article></body></html>')
    record = extract_article(html, "https://www.zfk.de/energie/waerme/x", fetched_at=FETCHED)
    assert (record.published_local_date, record.published_at_source) == (date(2022, 12, 6), "visible-text")
