"""The data interval a run covers: the only clock that output paths may use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone


class IntervalNotServable(ValueError):
    """A run's interval lies outside what its DAG's sources can answer for; a retry cannot help.

    Raised instead of succeeding empty (a backfill of a day before the
    provider's history, a snapshot of the past, an hour that has not begun);
    the message names the interval and why.
    """


def as_utc(value: datetime | str) -> datetime:
    """Parse/normalise to an aware UTC datetime; naive input is refused, not guessed."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"timestamp {value.isoformat()} has no timezone; pass an aware UTC time")
    v = value.astimezone(timezone.utc)
    # Airflow hands out pendulum datetimes, whose arithmetic differs from the
    # stdlib's (Interval / timedelta fails); normalise to a plain datetime.
    return datetime(v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Interval:
    """A half-open UTC interval [start, end)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", as_utc(self.start))
        object.__setattr__(self, "end", as_utc(self.end))
        if self.end <= self.start:
            raise ValueError(f"interval end {self.end.isoformat()} is not after start {self.start.isoformat()}")

    @classmethod
    def for_day(cls, day: date | str) -> "Interval":
        d = date.fromisoformat(day) if isinstance(day, str) else day
        start = datetime(d.year, d.month, d.day, tzinfo=timezone.utc)
        return cls(start, start + timedelta(days=1))

    @property
    def key(self) -> str:
        """File-name-safe identity of the interval, e.g. 20260105T000000Z-20260106T000000Z."""
        fmt = "%Y%m%dT%H%M%SZ"
        return f"{self.start.strftime(fmt)}-{self.end.strftime(fmt)}"

    @classmethod
    def from_key(cls, key: str) -> "Interval":
        """The interval whose :attr:`key` is ``key``; a clear error for anything else."""
        fmt = "%Y%m%dT%H%M%SZ"
        try:
            start, end = key.split("-")
            return cls(datetime.strptime(start, fmt).replace(tzinfo=timezone.utc),
                       datetime.strptime(end, fmt).replace(tzinfo=timezone.utc))
        except ValueError:
            raise ValueError(f"{key!r} is not an interval key like 20260105T000000Z-20260106T000000Z") from None

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def contains(self, ts: datetime) -> bool:
        return self.start <= as_utc(ts) < self.end

    def days(self) -> list[str]:
        """UTC dates (yyyy-mm-dd) the interval touches."""
        out, d = [], self.start.date()
        last = (self.end - timedelta(microseconds=1)).date()
        while d <= last:
            out.append(d.isoformat())
            d += timedelta(days=1)
        return out

    def __str__(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"
