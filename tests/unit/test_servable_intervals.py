"""Intervals a DAG cannot serve are refused naming why, never answered with an empty green run (issue 21)."""

from datetime import date, datetime, timedelta, timezone

import pytest

from newsmarkets.intervals import Interval, IntervalNotServable
from newsmarkets.news.ingest.discover import check_servable
from newsmarkets.prices.servable import check_history_answers, check_history_interval, check_snapshot_answer

NOW = datetime(2026, 12, 5, 16, 30, tzinfo=timezone.utc)
SEED_DAY = Interval.for_day("2024-10-15")


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def test_history_of_a_real_past_day_is_served():
    check_history_interval(SEED_DAY, provider="coingecko", history_start=date(2013, 4, 28), now=NOW)
    check_history_interval(Interval.for_day("2013-04-28"), provider="coingecko", history_start=date(2013, 4, 28), now=NOW)


def test_history_before_the_providers_first_day_is_refused():
    with pytest.raises(IntervalNotServable, match=r"coingecko's price history starts on 2013-04-28"):
        check_history_interval(Interval.for_day("2013-04-27"), provider="coingecko",
                               history_start=date(2013, 4, 28), now=NOW)


def test_history_of_a_day_that_has_not_begun_is_refused():
    with pytest.raises(IntervalNotServable, match=r"has not begun yet \(now is 2026-12-05T16:30Z\)"):
        check_history_interval(Interval.for_day("2026-12-06"), provider="coingecko", history_start=None, now=NOW)
    # Today, partly over, is served (the provider answers up to now).
    check_history_interval(Interval.for_day("2026-12-05"), provider="coingecko", history_start=None, now=NOW)


def test_every_asset_answering_empty_is_refused_but_one_empty_asset_is_data():
    check_history_answers(SEED_DAY, {"bitcoin": 24, "solana": 0}, provider="coingecko")
    check_history_answers(SEED_DAY, {}, provider="coingecko")  # nothing answered: the thin-batch rule's case
    with pytest.raises(IntervalNotServable) as err:
        check_history_answers(SEED_DAY, {"solana": 0, "bitcoin": 0}, provider="coingecko")
    assert "no price point for any of the 2 configured assets (bitcoin, solana)" in str(err.value)
    assert "2024-10-15T00:00:00+00:00" in str(err.value)


def test_a_snapshot_of_a_past_slot_is_refused_and_points_to_history():
    slot = Interval(_at("2024-10-15T09:00"), _at("2024-10-15T09:05"))
    with pytest.raises(IntervalNotServable) as err:
        check_snapshot_answer(slot, [_at("2026-12-05T16:29"), _at("2026-12-05T16:28")], tolerance=timedelta(minutes=15))
    message = str(err.value)
    assert "newest price is from 2026-12-05T16:29Z" in message
    assert "--dag-id prices_history --from-date 2024-10-15 --to-date 2024-10-15" in message


def test_a_live_slot_is_served_even_with_a_few_stale_assets():
    slot = Interval(_at("2026-12-05T16:25"), _at("2026-12-05T16:30"))
    check_snapshot_answer(slot, [_at("2026-12-05T16:29"), _at("2026-12-01T00:00")], tolerance=timedelta(minutes=15))
    # Within the tolerance on either side.
    check_snapshot_answer(slot, [_at("2026-12-05T16:44")], tolerance=timedelta(minutes=15))
    with pytest.raises(IntervalNotServable):
        check_snapshot_answer(slot, [_at("2026-12-05T16:46")], tolerance=timedelta(minutes=15))


HOUR = Interval(_at("2024-10-15T09:00"), _at("2024-10-15T10:00"))


def test_news_hour_inside_what_the_listings_cover_is_served_even_when_quiet():
    check_servable(HOUR, {"coinwire": _at("2024-10-01T00:00"), "ledgerpost": _at("2024-10-15T12:00")}, 0, NOW)
    check_servable(HOUR, {"coinwire": _at("2024-10-15T09:59")}, 0, NOW)


def test_news_hour_older_than_every_listing_is_refused_naming_each_sources_reach():
    with pytest.raises(IntervalNotServable) as err:
        check_servable(HOUR, {"coinwire": _at("2026-12-04T08:00"), "ledgerpost": _at("2024-10-15T10:00"),
                              "quiet": None}, 0, NOW)
    message = str(err.value)
    assert "no source's feeds or sitemaps list anything that old" in message
    assert "coinwire 2026-12-04T08:00Z, ledgerpost 2024-10-15T10:00Z" in message


def test_news_hour_with_urls_or_without_dated_listings_is_served():
    check_servable(HOUR, {"coinwire": _at("2026-12-04T08:00")}, 1, NOW)  # a URL dated in the hour was found
    check_servable(HOUR, {"coinwire": None}, 0, NOW)  # undated listings say nothing about reach


def test_news_hour_that_has_not_begun_is_refused():
    with pytest.raises(IntervalNotServable, match="has not begun yet"):
        check_servable(Interval(_at("2026-12-05T17:00"), _at("2026-12-05T18:00")), {}, 0, NOW)
