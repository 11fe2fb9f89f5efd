"""The knobs of a generated replay world: how many events and stories, how big, how late, how volatile.

The defaults are the demo's small world (about a dozen stories a day, 3-8 %
jumps the minute they are reported); :func:`scaled` gives the dense worlds
the gold table is measured on (hundreds of stories a day, 1-3 % moves,
reactions that start before publication, volatile days, bursts of stories
about one coin). A shape is part of the world's ground truth, so a run can
say exactly what it was checked against.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any


class ShapeError(ValueError):
    """A knob outside its range, named with the value given."""


@dataclass(frozen=True)
class WorldShape:
    # market events
    events_per_day: tuple[int, int] = (3, 5)  # inclusive range per day
    asset_effect_pct: tuple[float, float] = (3.0, 8.0)  # |jump| of an asset event, percent
    market_effect_pct: tuple[float, float] = (3.0, 6.0)  # |jump| of a market event (times each asset's beta)
    market_event_share: float = 0.5  # chance a day after the first has one market event
    event_spacing_minutes: int = 180  # no two events closer than this
    events_on_all_assets: bool = False  # False: only the named (real-id) assets get asset events
    reaction_minutes: int = 0  # an event's jump spreads evenly over this many minutes from its time
    volatility_by_day: tuple[float, ...] = ()  # noise multiplier per in-range day, cycled; () = 1 every day
    # news
    publish_offset_minutes: tuple[int, int] = (-6, 0)  # report time minus event time (> 0: the move leads)
    notes_per_day: int = 4  # market notes naming 1-2 coins with no event behind them
    follow_ups_per_event: tuple[int, int] = (0, 0)  # more stories on the event's coins within the hour after

    def __post_init__(self) -> None:
        def pair(name: str, lo_min: float, lo_max: float | None = None) -> None:
            value = getattr(self, name)
            if (not isinstance(value, tuple) or len(value) != 2
                    or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value)
                    or value[0] > value[1] or value[0] < lo_min or (lo_max is not None and value[1] > lo_max)):
                bound = f"in [{lo_min}, {lo_max}]" if lo_max is not None else f">= {lo_min}"
                raise ShapeError(f"{name}: expected (low, high) with low <= high, {bound}; got {value!r}")

        pair("events_per_day", 0, 200)
        pair("asset_effect_pct", 0.01, 50)
        pair("market_effect_pct", 0.01, 50)
        pair("publish_offset_minutes", -180, 180)
        pair("follow_ups_per_event", 0, 20)
        for name, lo, hi in (("event_spacing_minutes", 5, 1440), ("reaction_minutes", 0, 240),
                             ("notes_per_day", 0, 5000)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise ShapeError(f"{name}: expected an integer in [{lo}, {hi}], got {value!r}")
        if not isinstance(self.market_event_share, (int, float)) or not 0 <= self.market_event_share <= 1:
            raise ShapeError(f"market_event_share: expected a share in [0, 1], got {self.market_event_share!r}")
        if (not isinstance(self.volatility_by_day, tuple)
                or any(isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 20
                       for v in self.volatility_by_day)):
            raise ShapeError(f"volatility_by_day: expected multipliers in (0, 20], got {self.volatility_by_day!r}")

    @property
    def is_default(self) -> bool:
        return self == WorldShape()

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "WorldShape":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ShapeError(f"unknown world knob(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def scaled(stories_per_day: int, events_per_day: int = 30, **overrides: Any) -> WorldShape:
    """A dense world: ``events_per_day`` realistic events and notes up to about ``stories_per_day`` stories.

    Realistic means 1-3 % asset moves (2-4 % market), reactions over 15
    minutes that start up to 10 minutes before the report, one volatile day
    in three, and 0-2 follow-up stories per event.
    """
    if isinstance(stories_per_day, bool) or not isinstance(stories_per_day, int) or stories_per_day < 1:
        raise ShapeError(f"stories_per_day: expected a positive integer, got {stories_per_day!r}")
    # each event is one report plus one follow-up on average; three general stories a day name no coin
    notes = max(0, stories_per_day - 2 * events_per_day - 3)
    shape = WorldShape(events_per_day=(events_per_day, events_per_day), asset_effect_pct=(1.0, 3.0),
                       market_effect_pct=(2.0, 4.0), event_spacing_minutes=max(5, min(180, 480 // max(
                           events_per_day, 1))), events_on_all_assets=True, reaction_minutes=15,
                       volatility_by_day=(1.0, 1.0, 2.0), publish_offset_minutes=(-5, 10), notes_per_day=notes,
                       follow_ups_per_event=(0, 2))
    return replace(shape, **overrides)
