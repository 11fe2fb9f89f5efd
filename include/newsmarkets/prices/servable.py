"""Which intervals the price DAGs can serve, and a clear refusal for the rest.

A run the provider cannot answer for must fail naming why, not succeed with
an empty batch: a backfill before the provider's history, a day that has not
begun, a "snapshot" of a past slot (the markets endpoint only prices *now*).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta, timezone

from newsmarkets.intervals import Interval, IntervalNotServable, as_utc


def _minute(ts: datetime) -> str:
    return as_utc(ts).strftime("%Y-%m-%dT%H:%MZ")


def check_history_interval(interval: Interval, *, provider: str, history_start: date | None, now: datetime) -> None:
    """Refuse a history interval that has not begun, or that ends before the provider's first day."""
    if interval.start >= as_utc(now):
        raise IntervalNotServable(
            f"prices_history cannot serve {interval}: it has not begun yet (now is {_minute(now)})")
    if history_start is not None and interval.end <= datetime.combine(history_start, time(0), tzinfo=timezone.utc):
        raise IntervalNotServable(
            f"prices_history cannot serve {interval}: {provider}'s price history starts on "
            f"{history_start.isoformat()}; backfill from that day on")


def check_history_answers(interval: Interval, points_per_asset: Mapping[str, int], *, provider: str) -> None:
    """Refuse when every asset that answered answered with no points at all.

    One asset with an empty day is data (it is removed and counted); every
    configured asset empty means the provider has nothing for the interval:
    before the assets were listed, or past the provider's own clock.
    """
    if points_per_asset and not any(points_per_asset.values()):
        names = ", ".join(sorted(points_per_asset))
        raise IntervalNotServable(
            f"prices_history cannot serve {interval}: {provider} has no price point for any of the "
            f"{len(points_per_asset)} configured assets ({names}) in it, so it is before their history "
            "or after the provider's clock; nothing was published")


def check_snapshot_answer(interval: Interval, observed_at: Iterable[datetime], *, tolerance: timedelta) -> None:
    """Refuse a snapshot slot when none of the provider's prices were taken near it.

    The markets endpoint prices *now*; a slot in the past (a backfill) or
    the future cannot be described by it. A few stale assets among current
    ones are the quality suite's business, not this check's.
    """
    times = [as_utc(t) for t in observed_at]
    lo, hi = interval.start - tolerance, interval.end + tolerance
    if times and not any(lo <= t <= hi for t in times):
        day = interval.start.date().isoformat()
        raise IntervalNotServable(
            f"prices_snapshot cannot serve {interval}: the provider prices now (its newest price is from "
            f"{_minute(max(times))}), not that slot, give or take {int(tolerance.total_seconds() // 60)} min. "
            f"History of the past is prices_history's job: airflow backfill create --dag-id prices_history "
            f"--from-date {day} --to-date {day}")
