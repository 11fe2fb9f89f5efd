"""Timestamp parsing for feeds, meta tags and printed bylines."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from newsmarkets.news.dates import TimezoneError, find_visible_times, parse_timestamp, zone


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
