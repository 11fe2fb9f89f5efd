"""A deterministic, generated crypto market with known ground truth.

``MarketWorld.generate(start, days, seed)`` simulates log prices as a market
factor times a per-asset beta plus idiosyncratic noise, adds log-jumps at
known event times, and drops a few asset-hours of points on purpose (gaps).
Everything is derived from the arguments alone, so the same arguments give
byte-identical series and truth; the replay HTTP server and the tests both
read from here, and ``truth()`` is what later stages (news, event studies)
are checked against.

Grid: hourly points over a lead-in (default 30 days) before ``start`` so
estimation windows exist, then 5-minute points over [start, start + days).
An event at ``at`` moves the price between the grid point before ``at`` and
the point at ``at`` by a log-return of ``effect_pct / 100`` (asset events)
or ``beta * effect_pct / 100`` (market events, see ``asset_effects_pct``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from newsmarkets.replay.shape import WorldShape

STEP_S = 300  # the in-range grid: 5 minutes
LEAD_IN_STEP_S = 3600  # the lead-in grid: hourly is enough for estimation windows
DAY_S = 86_400
MAX_ASSETS = 400


class WorldError(ValueError):
    """Invalid generator arguments or a lookup the world cannot answer."""


class UnknownAssetError(WorldError, KeyError):
    """An asset id that is not part of this world."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


@dataclass(frozen=True)
class _AssetSpec:
    id: str
    symbol: str
    name: str
    price_usd: float  # price at the start of the range
    market_cap_usd: float | None  # None: the source publishes no cap for it
    beta: float
    daily_vol: float  # idiosyncratic, as a fraction per day
    turnover: float  # 24h volume as a fraction of market cap


# Real CoinGecko ids/symbols/names; prices and caps are plausible early-2026
# levels, not quotes. shiba-inu and pepe-classic prove tiny prices survive,
# leo-token proves nullable caps survive. The first ten are the bundled
# config's assets, so a small world still covers them.
_NAMED: tuple[tuple[str, str, str, float, float | None, float], ...] = (
    # id, symbol, name, price_usd, market_cap_usd, beta
    ("bitcoin", "btc", "Bitcoin", 94_500.0, 1.88e12, 1.0),
    ("ethereum", "eth", "Ethereum", 3_310.0, 4.0e11, 1.2),
    ("solana", "sol", "Solana", 192.0, 9.2e10, 1.4),
    ("ripple", "xrp", "XRP", 2.31, 1.3e11, 1.1),
    ("cardano", "ada", "Cardano", 0.96, 3.4e10, 1.25),
    ("dogecoin", "doge", "Dogecoin", 0.325, 4.8e10, 1.5),
    ("chainlink", "link", "Chainlink", 21.4, 1.36e10, 1.3),
    ("polkadot", "dot", "Polkadot", 6.85, 1.05e10, 1.2),
    ("near", "near", "NEAR Protocol", 5.12, 6.1e9, 1.35),
    ("uniswap", "uni", "Uniswap", 13.1, 7.9e9, 1.3),
    ("the-open-network", "ton", "Toncoin", 5.48, 1.4e10, 0.8),
    ("sui", "sui", "Sui", 4.41, 1.3e10, 1.45),
    ("optimism", "op", "Optimism", 1.93, 2.4e9, 1.4),
    ("harmony", "one", "Harmony", 0.0231, 3.3e8, 1.3),
    ("leo-token", "leo", "LEO Token", 9.12, None, 0.3),
    ("avalanche-2", "avax", "Avalanche", 37.6, 1.55e10, 1.35),
    ("litecoin", "ltc", "Litecoin", 101.5, 7.6e9, 0.95),
    ("tron", "trx", "TRON", 0.252, 2.2e10, 0.6),
    ("shiba-inu", "shib", "Shiba Inu", 2.13e-5, 1.26e10, 1.4),
    ("pepe-classic", "pepec", "Pepe Classic", 3.4e-8, 1.4e7, 1.6),
    ("stellar", "xlm", "Stellar", 0.421, 1.29e10, 1.0),
)

_HINTS = {
    ("asset", 1): (
        "spot ETF approval",
        "mainnet upgrade goes live",
        "major exchange listing",
        "strategic partnership announced",
        "record on-chain activity",
        "token buyback programme",
    ),
    ("asset", -1): (
        "exchange hack drains hot wallet",
        "regulator sues foundation",
        "network outage halts blocks",
        "large holder dumps tokens",
        "delisting from major exchange",
        "smart-contract exploit",
    ),
    ("market", 1): (
        "Fed signals rate cut",
        "softer-than-expected inflation print",
        "major bank opens crypto custody",
    ),
    ("market", -1): (
        "Fed signals higher-for-longer rates",
        "hotter-than-expected inflation print",
        "global risk-off selloff",
    ),
}

_MARKET_DAILY_VOL = 0.025
_GAP_CLEARANCE_S = 2 * 3600  # no event this close to a gap: its jump must stay visible


def _iso(ts_s: int) -> str:
    return datetime.fromtimestamp(int(ts_s), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_start(start: str | date | datetime) -> datetime:
    if isinstance(start, datetime):
        start = start.date() if start.tzinfo is None else start.astimezone(timezone.utc).date()
    if isinstance(start, str):
        try:
            start = date.fromisoformat(start)
        except ValueError:
            raise WorldError(f"start: expected an ISO date like 2026-01-05, got {start!r}") from None
    if not isinstance(start, date):
        raise WorldError(f"start: expected an ISO date string or a date, got {start!r}")
    return datetime(start.year, start.month, start.day, tzinfo=timezone.utc)


def _to_epoch_s(ts: datetime | int | float | str, what: str) -> float:
    if isinstance(ts, (int, float)) and not isinstance(ts, bool):
        return float(ts)
    if isinstance(ts, str):
        try:
            ts = datetime.fromisoformat(ts.replace("Z", "+00:00"))
        except ValueError:
            raise WorldError(f"{what}: not an ISO-8601 timestamp: {ts!r}") from None
    if not isinstance(ts, datetime):
        raise WorldError(f"{what}: expected a datetime, got {ts!r}")
    if ts.tzinfo is None:
        raise WorldError(f"{what}: {ts.isoformat()} has no timezone; pass an aware UTC time")
    return ts.timestamp()


def _asset_specs(n_assets: int, seed: int) -> list[_AssetSpec]:
    specs = []
    for i in range(n_assets):
        # Per-asset streams: an asset's parameters do not depend on n_assets.
        rng = np.random.default_rng([seed, 3, i])
        vol, turnover = float(rng.uniform(0.015, 0.04)), float(rng.uniform(0.02, 0.12))
        if i < len(_NAMED):
            aid, sym, name, price, cap, beta = _NAMED[i]
        else:
            aid, sym, name = f"replay-coin-{i:03d}", f"rc{i:03d}", f"Replay Coin {i:03d}"
            price = float(10 ** rng.uniform(-4, 2.7))
            cap = float(10 ** rng.uniform(6, 9.7))
            beta = float(rng.uniform(0.5, 1.6))
        specs.append(_AssetSpec(aid, sym, name, price, cap, beta, vol, turnover))
    return specs


class MarketWorld:
    """Generated prices, market caps and volumes plus the events behind their jumps.

    Build with :meth:`generate`; arrays are read-only views of the simulation.
    """

    def __init__(
        self,
        *,
        start_at: datetime,
        days: int,
        seed: int,
        lead_in_days: int,
        specs: list[_AssetSpec],
        timestamps_s: np.ndarray,
        prices: np.ndarray,
        market_caps: np.ndarray,
        volumes: np.ndarray,
        present: np.ndarray,
        events: list[dict],
        gaps: list[dict],
        shape: WorldShape | None = None,
    ) -> None:
        self.start_at = start_at
        self.end_at = start_at + timedelta(days=days)
        self.days = days
        self.seed = seed
        self.lead_in_days = lead_in_days
        self.history_start_at = start_at - timedelta(days=lead_in_days)
        self._specs = specs
        self._index = {s.id: i for i, s in enumerate(specs)}
        self._ts = timestamps_s
        self._prices = prices
        self._caps = market_caps
        self._volumes = volumes
        self._present = present
        # last_idx[a, j]: the latest present point of asset a at or before grid index j.
        idx = np.where(present, np.arange(len(timestamps_s))[None, :], -1)
        self._last_idx = np.maximum.accumulate(idx, axis=1)
        for arr in (self._ts, self._prices, self._caps, self._volumes, self._present, self._last_idx):
            arr.setflags(write=False)
        self.events = events
        self.gaps = gaps
        self.shape = shape or WorldShape()

    # ------------------------------------------------------------------ build
    @classmethod
    def generate(
        cls,
        start: str | date,
        days: int,
        seed: int,
        n_assets: int = 20,
        *,
        gaps: bool = True,
        lead_in_days: int = 30,
        shape: WorldShape | None = None,
    ) -> "MarketWorld":
        """Simulate the world; same arguments give byte-identical output.

        ``shape`` sets the knobs (events per day, effect sizes, reaction
        lags, volatile days; see :class:`~newsmarkets.replay.shape.WorldShape`);
        the default is the demo's small world.
        """
        shape = shape or WorldShape()
        if not isinstance(shape, WorldShape):
            raise WorldError(f"shape: expected a WorldShape, got {type(shape).__name__}")
        start_at = _parse_start(start)
        for name, value, lo, hi in (
            ("days", days, 1, 366),
            ("n_assets", n_assets, 1, MAX_ASSETS),
            ("lead_in_days", lead_in_days, 1, 366),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise WorldError(f"{name}: expected an integer in [{lo}, {hi}], got {value!r}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise WorldError(f"seed: expected a non-negative integer, got {seed!r}")

        start_s = int(start_at.timestamp())
        lead = np.arange(start_s - lead_in_days * DAY_S, start_s, LEAD_IN_STEP_S, dtype=np.int64)
        grid = np.arange(start_s, start_s + days * DAY_S, STEP_S, dtype=np.int64)
        ts = np.concatenate([lead, grid])
        i_start = len(lead)
        dt_days = np.diff(ts, prepend=ts[0]).astype(np.float64) / DAY_S
        sqrt_dt = np.sqrt(dt_days)

        specs = _asset_specs(n_assets, seed)
        n_points = len(ts)
        # volatile days: the noise (not the event jumps) scaled per in-range day
        vol = np.ones(n_points)
        if shape.volatility_by_day:
            day_of = (ts[i_start:] - start_s) // DAY_S
            vol[i_start:] = np.asarray(shape.volatility_by_day)[day_of % len(shape.volatility_by_day)]
        market = np.random.default_rng([seed, 0]).standard_normal(n_points) * _MARKET_DAILY_VOL * sqrt_dt * vol

        gap_list = _choose_gaps(specs, start_s, days, seed) if gaps else []
        events = _choose_events(specs, start_s, days, seed, gap_list, shape)
        spread = max(1, shape.reaction_minutes * 60 // STEP_S)  # grid steps an event's jump is spread over

        # Jumps enter as extra log-returns at the event's grid index.
        market_jumps = np.zeros(n_points)
        asset_jumps: dict[int, np.ndarray] = {}
        spike = np.zeros((n_assets, n_points))  # volume surge after an event
        pos = {s.id: i for i, s in enumerate(specs)}
        since = (ts[None, :] - np.array([e["_at_s"] for e in events])[:, None]) if events else None
        for k, event in enumerate(events):
            j = int(np.searchsorted(ts, event["_at_s"]))
            steps = slice(j, min(j + spread, n_points))
            share = 1.0 / len(range(n_points)[steps])
            decay = np.where(since[k] >= 0, np.exp(-np.maximum(since[k], 0) / (12 * 3600)), 0.0)
            if event["kind"] == "market":
                market_jumps[steps] += share * event["effect_pct"] / 100
                spike += 4 * abs(event["effect_pct"] / 100) * decay[None, :]
            else:
                for aid in event["asset_ids"]:
                    a = pos[aid]
                    asset_jumps.setdefault(a, np.zeros(n_points))[steps] += share * event["effect_pct"] / 100
                    spike[a] += 8 * abs(event["effect_pct"] / 100) * decay
            event.pop("_at_s")

        prices = np.empty((n_assets, n_points))
        caps = np.empty((n_assets, n_points))
        shocks = np.empty((n_assets, n_points))
        base_volume = np.empty((n_assets, n_points))
        for a, spec in enumerate(specs):
            rng = np.random.default_rng([seed, 1, a])
            idio = rng.standard_normal(n_points) * spec.daily_vol * sqrt_dt * vol
            returns = spec.beta * (market + market_jumps) + idio
            if a in asset_jumps:
                returns = returns + asset_jumps[a]
            returns[0] = 0.0
            log_p = np.cumsum(returns)
            log_p += math.log(spec.price_usd) - log_p[i_start]
            prices[a] = np.exp(log_p)
            supply = (spec.market_cap_usd or spec.price_usd * 1e9) / spec.price_usd
            caps[a] = prices[a] * supply if spec.market_cap_usd is not None else np.nan
            shocks[a] = rng.standard_normal(n_points) * 0.08
            base_volume[a] = spec.turnover * supply * prices[a]

        # 24h volume: a slow AR(1) in log space around turnover x cap, plus
        # event surges. Stepped over time with all assets at once: numpy has
        # no AR(1) primitive and the grid is only a few thousand points long.
        log_v = np.empty((n_assets, n_points))
        acc = np.zeros(n_assets)
        for j in range(n_points):
            acc = 0.97 * acc + shocks[:, j]
            log_v[:, j] = acc
        volumes = base_volume * np.exp(log_v) * (1 + spike)

        present = np.ones((n_assets, n_points), dtype=bool)
        for gap in gap_list:
            a = pos[gap["asset_id"]]
            lo, hi = np.searchsorted(ts, gap.pop("_from_s")), np.searchsorted(ts, gap.pop("_to_s"))
            present[a, lo:hi] = False
            gap["missing_points"] = int(hi - lo)

        for e in events:
            if e["kind"] == "market":
                e["asset_effects_pct"] = {
                    s.id: round(s.beta * e["effect_pct"], 6) for s in specs
                }
        return cls(
            start_at=start_at,
            days=days,
            seed=seed,
            lead_in_days=lead_in_days,
            specs=specs,
            timestamps_s=ts,
            prices=prices,
            market_caps=caps,
            volumes=volumes,
            present=present,
            events=events,
            gaps=gap_list,
            shape=shape,
        )

    # ----------------------------------------------------------------- lookup
    @property
    def assets(self) -> list[dict]:
        return [{"id": s.id, "symbol": s.symbol, "name": s.name} for s in self._specs]

    @property
    def asset_ids(self) -> list[str]:
        return [s.id for s in self._specs]

    @property
    def first_at(self) -> datetime:
        """The first point of the lead-in."""
        return datetime.fromtimestamp(int(self._ts[0]), tz=timezone.utc)

    @property
    def last_at(self) -> datetime:
        """The last grid point (end of range minus one step)."""
        return datetime.fromtimestamp(int(self._ts[-1]), tz=timezone.utc)

    def asset(self, asset_id: str) -> dict:
        s = self._specs[self._asset_index(asset_id)]
        return {"id": s.id, "symbol": s.symbol, "name": s.name}

    def circulating_supply(self, asset_id: str) -> float:
        s = self._specs[self._asset_index(asset_id)]
        return (s.market_cap_usd or s.price_usd * 1e9) / s.price_usd

    def has_market_cap(self, asset_id: str) -> bool:
        return self._specs[self._asset_index(asset_id)].market_cap_usd is not None

    def _asset_index(self, asset_id: str) -> int:
        try:
            return self._index[asset_id]
        except (KeyError, TypeError):
            raise UnknownAssetError(f"unknown asset id {asset_id!r} (this world has {len(self._specs)} assets)") from None

    def last_index_at(self, asset_id: str, ts_s: float) -> int:
        """Grid index of the asset's last point at or before ``ts_s``; -1 if none."""
        a = self._asset_index(asset_id)
        j = int(np.searchsorted(self._ts, ts_s, side="right")) - 1
        return -1 if j < 0 else int(self._last_idx[a, j])

    def arrays(
        self, asset_id: str, from_s: float, to_s: float, *, include_end: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(timestamps_s, prices, market_caps (NaN = null), volumes) in [from_s, to_s) (or ]) ."""
        a = self._asset_index(asset_id)
        lo = int(np.searchsorted(self._ts, from_s, side="left"))
        hi = int(np.searchsorted(self._ts, to_s, side="right" if include_end else "left"))
        keep = self._present[a, lo:hi]
        return (
            self._ts[lo:hi][keep],
            self._prices[a, lo:hi][keep],
            self._caps[a, lo:hi][keep],
            self._volumes[a, lo:hi][keep],
        )

    def point(self, asset_id: str, index: int) -> tuple[int, float, float | None, float]:
        a = self._asset_index(asset_id)
        cap = float(self._caps[a, index])
        return int(self._ts[index]), float(self._prices[a, index]), (None if math.isnan(cap) else cap), float(
            self._volumes[a, index]
        )

    def price_at(self, asset_id: str, ts: datetime | float) -> float:
        """The price of the last point at or before ``ts`` (gaps fall back to earlier points)."""
        ts_s = _to_epoch_s(ts, "ts")
        j = self.last_index_at(asset_id, ts_s)
        if j < 0:
            raise WorldError(f"price_at({asset_id!r}): {_iso(int(ts_s))} is before the world's first point {_iso(int(self._ts[0]))}")
        return float(self._prices[self._asset_index(asset_id), j])

    def points(
        self, asset_id: str, start: datetime | float, end: datetime | float
    ) -> list[tuple[datetime, float, float | None, float]]:
        """(observed_at, price_usd, market_cap_usd or None, volume_24h_usd) in [start, end)."""
        ts, p, c, v = self.arrays(asset_id, _to_epoch_s(start, "start"), _to_epoch_s(end, "end"))
        return [
            (
                datetime.fromtimestamp(int(t), tz=timezone.utc),
                float(pi),
                None if math.isnan(ci) else float(ci),
                float(vi),
            )
            for t, pi, ci, vi in zip(ts, p, c, v)
        ]

    # ------------------------------------------------------------------ truth
    def truth(self) -> dict[str, Any]:
        """JSON-serialisable ground truth: what generated the world and what happened in it."""
        return {
            "seed": self.seed,
            "start_at": self.start_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end_at": self.end_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "days": self.days,
            "history_start_at": self.history_start_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "grid_step_s": STEP_S,
            "lead_in_step_s": LEAD_IN_STEP_S,
            "assets": [
                {
                    "id": s.id,
                    "symbol": s.symbol,
                    "name": s.name,
                    "beta": round(s.beta, 6),
                    "start_price_usd": s.price_usd,
                    "has_market_cap": s.market_cap_usd is not None,
                }
                for s in self._specs
            ],
            "events": self.events,
            "gaps": self.gaps,
            "shape": self.shape.to_dict(),
        }

    def save_truth(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.truth(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return path


def _choose_gaps(specs: list[_AssetSpec], start_s: int, days: int, seed: int) -> list[dict]:
    """One missing asset-hour early on, and a two-hour hole later, at fixed-by-seed times."""
    rng = np.random.default_rng([seed, 4])
    candidates = [min(4, len(specs) - 1), min(5, len(specs) - 1)]  # cardano, dogecoin
    plans = [(candidates[0], min(1, days - 1), 1), (candidates[1], days - 1, 2)]
    out = []
    for a, day, hours in plans:
        hour = int(rng.integers(2, 22 - hours))
        from_s = start_s + day * DAY_S + hour * 3600
        to_s = from_s + hours * 3600
        if any(g["asset_id"] == specs[a].id and g["_from_s"] < to_s and from_s < g["_to_s"] for g in out):
            continue  # tiny worlds: do not stack holes on the same asset-hours
        out.append(
            {
                "asset_id": specs[a].id,
                "start_at": _iso(from_s),
                "end_at": _iso(to_s),
                "_from_s": from_s,
                "_to_s": to_s,
            }
        )
    return out


def _choose_events(
    specs: list[_AssetSpec], start_s: int, days: int, seed: int, gaps: list[dict], shape: WorldShape
) -> list[dict]:
    """``shape.events_per_day`` events per day, spaced apart and away from the gaps."""
    rng = np.random.default_rng([seed, 2])
    # By default news covers named assets only; synthetic ones move with the market.
    pickable = [s.id for s in (specs if shape.events_on_all_assets else specs[: len(_NAMED)])]
    blocked = [(g["_from_s"] - _GAP_CLEARANCE_S, g["_to_s"] + _GAP_CLEARANCE_S) for g in gaps]
    spacing_s = shape.event_spacing_minutes * 60
    events: list[dict] = []
    for day in range(days):
        day_s = start_s + day * DAY_S
        n_events = int(rng.integers(shape.events_per_day[0], shape.events_per_day[1] + 1))
        share = shape.market_event_share
        has_market = (day == 0 and share > 0) or (day > 0 and bool(rng.random() < share))
        times: list[int] = []
        for _ in range(max(200, 20 * n_events)):  # rejection sampling; bounded so a crowded day cannot spin
            if len(times) == n_events:
                break
            t = day_s + 3600 + int(rng.integers(0, (DAY_S - 2 * 3600) // STEP_S)) * STEP_S
            if any(abs(t - u) < spacing_s for u in times):
                continue
            if any(lo <= t < hi for lo, hi in blocked):
                continue
            times.append(t)
        if len(times) < n_events:  # a crowded day: take the free slots left, in a seeded order
            slots = day_s + 3600 + rng.permutation((DAY_S - 2 * 3600) // STEP_S) * STEP_S
            for t in (int(x) for x in slots):
                if len(times) == n_events:
                    break
                if not any(abs(t - u) < spacing_s for u in times) and not any(lo <= t < hi for lo, hi in blocked):
                    times.append(t)
        times.sort()
        market_slot = int(rng.integers(0, len(times))) if has_market and times else -1
        for k, t in enumerate(times):
            kind = "market" if k == market_slot else "asset"
            sign = 1 if rng.random() < 0.5 else -1
            if kind == "market":
                magnitude = float(rng.uniform(*shape.market_effect_pct))
                asset_ids = [s.id for s in specs]
            else:
                magnitude = float(rng.uniform(*shape.asset_effect_pct))
                n_hit = 2 if (len(pickable) > 1 and rng.random() < 0.2) else 1
                picks = rng.choice(len(pickable), size=n_hit, replace=False)
                asset_ids = [pickable[int(i)] for i in sorted(picks)]
            hints = _HINTS[(kind, sign)]
            effect = round(sign * magnitude, 3)
            events.append(
                {
                    "event_id": f"ev-{_iso(t)[:10].replace('-', '')}-{k + 1:02d}",
                    "at": _iso(t),
                    "kind": kind,
                    "asset_ids": asset_ids,
                    "effect_pct": effect,
                    "log_jump": round(effect / 100, 8),
                    "sentiment": "positive" if sign > 0 else "negative",
                    "headline_hint": hints[int(rng.integers(0, len(hints)))],
                    "_at_s": t,
                }
            )
    return events
