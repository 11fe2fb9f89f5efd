"""htmldate's last-resort day on the page as served (issue 13, publish day).

A page whose markup gives no date and whose printed day sits outside anything we read as a byline got
no date at all: htmldate's header search on the pre-cleaned tree found nothing. The page as served,
searched with htmldate's extensive search, dates it, and the day is kept only when the page prints it.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from newsmarkets.news.extract import extract_article

# Trimmed from bench/corpus trafilatura:bfs.de-radon.html (htmldate:bfs.de-radon.html too; reference day
# 2022-01-25): a press release whose only date is the "Datum" row of a docData box.
URL = "https://www.bfs.de/SharedDocs/Pressemitteilungen/BfS/DE/2022/001.html"
BFS_PAGE = """<!doctype html>
<html lang="de">
<head>
  <meta charset="UTF-8"/>
  <title>BfS  -  Pressemitteilungen - Radon im Boden: Neue Karte gibt Orientierung</title>
  <meta property="og:site_name" content="Bundesamt für Strahlenschutz"/>
  <meta property="og:type" content="website"/>
  <meta property="og:title" content="Radon im Boden: Neue Karte gibt Orientierung"/>
</head>
<body>
<div id="main" class="row">
  <div id="content" class="large-9 small-12 large-push-3 medium-12 columns">
    <div>
      <div class="singleview">
<h1 class="isFirstInSlot">Radon im Boden: Neue Karte gibt Orientierung</h1>
<div class="docData">
  <span class="label">Ausgabejahr</span> <span class="value">2022</span><br />
  <span class="label">Datum</span> <span class="value">25.01.2022</span><br />
</div>
<p>Das Bundesamt für Strahlenschutz hat eine neue Karte zur Radon-Situation in Deutschland veröffentlicht.
Die Karte zeigt die zu erwartende Radon-Konzentration in der Bodenluft in einer Auflösung von 1x1 Kilometer.</p>
<p>Die Karte richtet sich an alle, die sich über die Radon-Situation in ihrer Region informieren möchten.
Bauplaner*innen kann sie erste Hinweise geben, ob Radonmessungen im Baugrund oder zusätzliche
Schutzmaßnahmen gegen Radon erwogen werden sollten.</p>
<h2>Radon in Gebäuden erhöht Lungenkrebsrisiko</h2>
<p>Radon ist ein radioaktives Gas, das in allen Böden vorkommt. Je höher die Radon-Konzentration im Boden
ist, desto höher ist auch die Wahrscheinlichkeit, dass Radon in größeren Mengen in Gebäude eindringt und
sich dort ansammelt.</p>
      </div>
    </div>
  </div>
</div>
</body>
</html>
"""
FETCHED = datetime(2022, 2, 1, tzinfo=timezone.utc)


def test_a_day_printed_outside_any_byline_is_htmldates_day_from_the_served_page():
    record = extract_article(BFS_PAGE, URL, fetched_at=FETCHED, source_timezone="Europe/Berlin")
    assert (record.published_at_source, record.published_at_has_time) == ("htmldate", False)
    assert record.published_local_date == date(2022, 1, 25)
    assert record.published_at == datetime(2022, 1, 24, 23, 0, tzinfo=timezone.utc)  # local midnight


def test_the_served_page_gives_no_day_after_the_fetch():
    fetched = datetime(2022, 1, 20, tzinfo=timezone.utc)
    assert extract_article(BFS_PAGE, URL, fetched_at=fetched).published_at is None


def test_a_day_the_page_does_not_print_is_not_taken():
    # only the year is printed: htmldate's extensive search would read it as 1 January
    page = BFS_PAGE.replace('<span class="label">Datum</span> <span class="value">25.01.2022</span><br />', "")
    assert extract_article(page, URL, fetched_at=FETCHED).published_at is None
