"""Timestamp parsing for feeds, meta tags and printed bylines."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from newsmarkets.news.dates import (
    TimezoneError,
    find_visible_times,
    is_nonexistent,
    numeric_date_order,
    parse_timestamp,
    zone,
)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "text, tz, expected, has_time",
    [
        ("2026-01-05T15:45:00Z", "UTC", utc(2026, 1, 5, 15, 45), True),
        ("2026-01-05T15:45:00.123456789+0100", "UTC", utc(2026, 1, 5, 14, 45, 0, 123456), True),
        ("2026-01-05 15:45", "Europe/Berlin", utc(2026, 1, 5, 14, 45), True),
        ("2026-07-05T15:45", "Europe/Berlin", utc(2026, 7, 5, 13, 45), True),  # summer time
        ("2026-01-05", "America/New_York", utc(2026, 1, 5, 5, 0), False),
        ("Mon, 05 Jan 2026 15:45:00 GMT", "Asia/Tokyo", utc(2026, 1, 5, 15, 45), True),
        ("Mon, 05 Jan 2026 15:45:00 +0200", "UTC", utc(2026, 1, 5, 13, 45), True),
        ("Mon, 05 Jan 2026 15:45:00 EST", "UTC", utc(2026, 1, 5, 20, 45), True),
        ("Mon, 05 Jan 2026 15:45:00", "Europe/Berlin", utc(2026, 1, 5, 14, 45), True),
    ],
)
def test_parse_timestamp(text, tz, expected, has_time):
    parsed = parse_timestamp(text, tz)
    assert parsed is not None
    assert (parsed.value, parsed.has_time) == (expected, has_time)
    assert parsed.value.tzinfo == timezone.utc


@pytest.mark.parametrize("text", [None, "", "yesterday", "2026-13-45", "Mon, 99 Foo 2026"])
def test_unparseable_is_none(text):
    assert parse_timestamp(text) is None


def test_visible_times_in_order_with_zone_abbreviations():
    text = "Published Jan. 5, 2026, 3:45 p.m. ET | Updated 6 January 2026 09:10 UTC+2 and 2026/01/07"
    found = find_visible_times(text, "Europe/Berlin")
    assert [f.parsed.value for f in found] == [utc(2026, 1, 5, 20, 45), utc(2026, 1, 6, 7, 10), utc(2026, 1, 6, 23, 0)]
    assert [f.parsed.has_time for f in found] == [True, True, False]
    assert text[found[0].start : found[0].start + 4] == "Jan."


def test_visible_time_12_hour_edges():
    assert find_visible_times("January 5, 2026 at 12:05 AM")[0].parsed.value == utc(2026, 1, 5, 0, 5)
    assert find_visible_times("January 5, 2026 at 12:05 PM")[0].parsed.value == utc(2026, 1, 5, 12, 5)
    assert find_visible_times("January 5, 2026 at 13:05 PM") == []  # impossible, not guessed


def test_ambiguous_slash_dates_are_not_read():
    assert find_visible_times("05/01/2026 15:45") == []


def test_unknown_zone():
    with pytest.raises(TimezoneError, match="Nowhere/Special"):
        zone("Nowhere/Special")


# --- issue 21, part 2: dates as real pages print them --------------------------------

FETCHED = datetime(2024, 10, 15, 10, 0, tzinfo=timezone.utc)  # 12:00 in Berlin


def only(text, tz="UTC", **kwargs):
    found = find_visible_times(text, tz, **kwargs)
    assert len(found) == 1, (text, found)
    return found[0]


@pytest.mark.parametrize(
    "text, tz, language, expected, has_time",
    [
        # the WordPress seed page: year-first dotted
        ("2024.10.15 09:03", "Europe/Berlin", None, utc(2024, 10, 15, 7, 3), True),
        ("2024/10/15 09:03", "Asia/Tokyo", "ja", utc(2024, 10, 15, 0, 3), True),
        ("15.10.2024, 09:03 Uhr", "Europe/Berlin", "de", utc(2024, 10, 15, 7, 3), True),
        ("3. Mai 2024, 10:15 Uhr", "Europe/Berlin", "de", utc(2024, 5, 3, 8, 15), True),
        ("am 3. März 2024 um 10.15 Uhr", "Europe/Berlin", "de", utc(2024, 3, 3, 9, 15), True),
        ("3. Mai 2024, 10:15 Uhr", "Europe/Berlin", None, utc(2024, 5, 3, 8, 15), True),  # language unknown
        ("15 octobre 2024 à 09h03", "Europe/Paris", "fr", utc(2024, 10, 15, 7, 3), True),
        ("1er mai 2024 à 10 h 00", "Europe/Paris", "fr", utc(2024, 5, 1, 8, 0), True),
        ("16 oct. 2024", "Europe/Paris", "fr", utc(2024, 10, 15, 22, 0), False),
        ("15 de octubre de 2024, 09:03", "Europe/Madrid", "es", utc(2024, 10, 15, 7, 3), True),
        ("15 de octubre de 2024 a las 09:03 h", "Europe/Madrid", "es", utc(2024, 10, 15, 7, 3), True),
        ("2024年5月3日 10時15分", "Asia/Tokyo", "ja", utc(2024, 5, 3, 1, 15), True),
        ("2024年5月3日(金) 午後3時15分", "Asia/Tokyo", "ja", utc(2024, 5, 3, 6, 15), True),
        ("2024年10月15日 09:03", "Asia/Shanghai", "zh", utc(2024, 10, 15, 1, 3), True),
        ("2024年10月15日 下午3点15分", "Asia/Shanghai", "zh", utc(2024, 10, 15, 7, 15), True),
        ("2024年10月15日", "Asia/Shanghai", "zh", utc(2024, 10, 14, 16, 0), False),
        ("3. Mai 2024, 10:15 Uhr MESZ", "UTC", "de", utc(2024, 5, 3, 8, 15), True),
    ],
)
def test_dates_as_pages_print_them(text, tz, language, expected, has_time):
    found = only(text, tz, language=language)
    assert (found.parsed.value, found.parsed.has_time) == (expected, has_time)
    assert found.parsed.alternative is None
    assert text[found.start : found.end] == text.removeprefix("am ")  # the whole date and time, no label


@pytest.mark.parametrize(
    "text, order, expected",
    [
        ("05/03/2024 10:15", "MDY", utc(2024, 5, 3, 10, 15)),
        ("05/03/2024 10:15", "DMY", utc(2024, 3, 5, 10, 15)),
        ("05-03-2024 10:15", "DMY", utc(2024, 3, 5, 10, 15)),
        ("10/15/2024 9:03 AM", None, utc(2024, 10, 15, 9, 3)),  # 15 cannot be a month
        ("15/10/2024 09:03", "MDY", utc(2024, 10, 15, 9, 3)),  # nor here, whatever the locale says
    ],
)
def test_numeric_day_and_month_order(text, order, expected):
    assert only(text, date_order=order).parsed.value == expected


def test_undecidable_numeric_dates_are_not_read():
    assert find_visible_times("05/03/2024 10:15") == []
    assert find_visible_times("05/03/2024 10:15", language="en") == []


@pytest.mark.parametrize(
    "locale, order",
    [("en-US", "MDY"), ("en_us", "MDY"), ("es-US", "MDY"), ("en-GB", "DMY"), ("en_AU", "DMY"), ("de", "DMY"),
     ("de-AT", "DMY"), ("fr", "DMY"), ("en", None), ("en-CA", None), ("ja", None), ("zh-CN", "DMY"), (None, None),
     ("", None), ("x-klingon", None)],
)
def test_numeric_date_order_from_the_page_locale(locale, order):
    assert numeric_date_order(locale) == order


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2 hours ago", utc(2024, 10, 15, 8, 0)),
        ("an hour ago", utc(2024, 10, 15, 9, 0)),
        ("45 mins ago", utc(2024, 10, 15, 9, 15)),
        ("vor 2 Stunden", utc(2024, 10, 15, 8, 0)),
        ("vor einer Stunde", utc(2024, 10, 15, 9, 0)),
        ("il y a 2 heures", utc(2024, 10, 15, 8, 0)),
        ("hace 2 horas", utc(2024, 10, 15, 8, 0)),
        ("2時間前", utc(2024, 10, 15, 8, 0)),
        ("30分前", utc(2024, 10, 15, 9, 30)),
        ("2小时前", utc(2024, 10, 15, 8, 0)),
        ("半小时前", utc(2024, 10, 15, 9, 30)),
        ("Heute, 10:15 Uhr", utc(2024, 10, 15, 8, 15)),
        ("Yesterday at 9:03 PM", utc(2024, 10, 14, 19, 3)),
        ("昨日 23:10", utc(2024, 10, 14, 21, 10)),
    ],
)
def test_relative_times_count_back_from_the_fetch_time(text, expected):
    found = only(text, "Europe/Berlin", relative_base=FETCHED)
    assert (found.parsed.value, found.parsed.has_time) == (expected, True)
    assert (found.start, found.end) == (0, len(text))


def test_relative_days_give_the_local_date_only():
    for text in ("3 days ago", "vor 3 Tagen", "il y a 3 jours", "hace 3 días", "3日前", "3天前"):
        found = only(text, "Europe/Berlin", relative_base=FETCHED)
        assert (found.parsed.value, found.parsed.has_time) == (utc(2024, 10, 11, 22, 0), False), text


def test_relative_times_need_the_fetch_time():
    # no wall clock: without the time the page was fetched "2 hours ago" means nothing
    assert find_visible_times("2 hours ago · Heute, 10:15 Uhr", "Europe/Berlin") == []


def test_relative_across_a_dst_change_is_elapsed_time():
    fetched = datetime(2024, 10, 27, 2, 0, tzinfo=timezone.utc)  # 03:00 CET, an hour after the clocks went back
    assert only("3 hours ago", "Europe/Berlin", relative_base=fetched).parsed.value == utc(2024, 10, 26, 23, 0)


def test_updated_and_published_in_one_byline_keep_their_positions():
    text = "Veröffentlicht am 3. Mai 2024, 10:15 Uhr | Aktualisiert am 4. Mai 2024, 08:00 Uhr"
    found = find_visible_times(text, "Europe/Berlin", language="de")
    assert [f.parsed.value for f in found] == [utc(2024, 5, 3, 8, 15), utc(2024, 5, 4, 6, 0)]
    assert text[found[1].start - 16 : found[1].start] == "Aktualisiert am "
    text = "Publié le 15 octobre 2024 à 09h03, mis à jour le 16 octobre 2024 à 10h00"
    assert len(find_visible_times(text, "Europe/Paris", language="fr")) == 2


@pytest.mark.parametrize(
    "text, language",
    [
        ("May I help you with your 2024 taxes?", "en"),
        ("Mai 2024 10:15", "de"),  # no day
        ("10 15 2024 prices", None),
        ("version 2.10.15 released", None),
        ("v2024.10.15", None),
        ("see 3.5.2024x", None),
        ("1.12.1850 the bank was founded", "de"),  # not a news date
        ("3 min read", "en"),
        ("2 hours", "en"),
        ("vor Ort 2024", "de"),
        ("2024年5月", "ja"),
        ("15分", "ja"),
        ("2024.13.45 09:03", None),
        ("2024.10.15 25:03", None),  # an impossible time is not guessed around
        ("Jan 5, 2026 at 14:05 PM", "en"),
    ],
)
def test_no_false_positives(text, language):
    assert find_visible_times(text, "UTC", language=language, relative_base=FETCHED) == []


# --- DST: a printed local time that the clocks repeat or skip --------------------------


def test_ambiguous_local_time_keeps_both_readings():
    # 2024-10-27 in Berlin: 02:30 happens twice, at 00:30 UTC (CEST) and 01:30 UTC (CET)
    for parsed in (parse_timestamp("2024-10-27T02:30:00", "Europe/Berlin"),
                   only("27.10.2024 02:30", "Europe/Berlin").parsed):
        assert (parsed.value, parsed.alternative, parsed.is_ambiguous) == (utc(2024, 10, 27, 0, 30),
                                                                           utc(2024, 10, 27, 1, 30), True)
        assert parsed.settled(parsed.alternative) == type(parsed)(utc(2024, 10, 27, 1, 30), True)
    assert not is_nonexistent(datetime(2024, 10, 27, 2, 30), "Europe/Berlin")


def test_nonexistent_local_time_keeps_both_readings():
    # 2024-03-31 in Berlin: the clocks jump from 02:00 to 03:00, so 02:30 never shows
    parsed = parse_timestamp("2024-03-31 02:30", "Europe/Berlin")
    assert (parsed.value, parsed.alternative) == (utc(2024, 3, 31, 1, 30), utc(2024, 3, 31, 0, 30))
    assert is_nonexistent(datetime(2024, 3, 31, 2, 30), "Europe/Berlin")
    assert parse_timestamp("Sun, 31 Mar 2024 02:30:00", "Europe/Berlin").is_ambiguous


@pytest.mark.parametrize(
    "text",
    ["2024-10-27T03:30:00", "2024-10-27T01:59:00", "2024-10-27T02:30:00+01:00", "2024-10-27", "2024-03-31"],
)
def test_times_away_from_the_change_or_with_an_offset_are_not_ambiguous(text):
    assert not parse_timestamp(text, "Europe/Berlin").is_ambiguous


def test_us_autumn_change_is_ambiguous_too():
    parsed = only("November 3, 2024 at 1:30 AM ET").parsed
    assert (parsed.value, parsed.alternative) == (utc(2024, 11, 3, 5, 30), utc(2024, 11, 3, 6, 30))
