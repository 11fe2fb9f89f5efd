"""The run interval: half-open, UTC-only, and plain stdlib datetimes whatever Airflow passes in."""

from datetime import datetime, timedelta, timezone

import pendulum
import pytest

from newsmarkets.intervals import Interval, as_utc


def test_pendulum_input_becomes_stdlib_datetime():
    interval = Interval(pendulum.datetime(2026, 1, 5, tz="Europe/Berlin"), pendulum.datetime(2026, 1, 6))
    assert type(interval.start) is datetime and interval.start.tzinfo is timezone.utc
    assert interval.start == datetime(2026, 1, 4, 23, tzinfo=timezone.utc)
    assert interval.duration / timedelta(minutes=5) == 300


def test_naive_and_reversed_are_refused():
    with pytest.raises(ValueError, match="no timezone"):
        as_utc(datetime(2026, 1, 5))
    with pytest.raises(ValueError, match="not after start"):
        Interval(datetime(2026, 1, 6, tzinfo=timezone.utc), datetime(2026, 1, 5, tzinfo=timezone.utc))


def test_key_days_and_contains():
    day = Interval.for_day("2026-01-05")
    assert day.key == "20260105T000000Z-20260106T000000Z"
    assert day.days() == ["2026-01-05"]
    assert day.contains(datetime(2026, 1, 5, 23, 59, tzinfo=timezone.utc))
    assert not day.contains(datetime(2026, 1, 6, tzinfo=timezone.utc))
    assert Interval(datetime(2026, 1, 5, 23, tzinfo=timezone.utc), datetime(2026, 1, 6, 1, tzinfo=timezone.utc)).days() == ["2026-01-05", "2026-01-06"]


def test_interval_keys_round_trip_and_bad_keys_are_named():
    import pytest

    day = Interval.for_day("2026-01-05")
    assert Interval.from_key(day.key) == day
    with pytest.raises(ValueError, match="'part-x' is not an interval key"):
        Interval.from_key("part-x")
