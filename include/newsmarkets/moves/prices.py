"""As-of price lookups: the last observation at or before a time, for many (asset, time) pairs at once.

:class:`PriceBook` sorts the observations once by (asset, time) and encodes
both in one int64 key (``asset_code * span + microseconds since the first
observation``), so a whole batch of lookups is one ``numpy.searchsorted``:
no per-row Python, no per-asset loop. A lookup is usable when the
observation found is at most ``max_stale`` old; otherwise it says why not:

* ``no prices yet``: the time is after the latest observation of any asset
  in the book (the data has not arrived; a later run will settle it);
* ``granularity too coarse for horizon``: the asset's observations around
  that time are themselves further apart than the limit (e.g. hourly
  backfilled history asked for a 15-minute horizon);
* ``gap``: observations are normally closer than the limit but some are
  missing around that time (or the asset has none at all).

Times are int64 microseconds since the Unix epoch (UTC) throughout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

OK = "ok"
NO_PRICES_YET = "no prices yet"
GAP = "gap"
COARSE = "granularity too coarse for horizon"
NOT_TRACKED = "asset not tracked"
THIN_WINDOW = "estimation window too thin"

# Codes of :attr:`AsOf.status`; higher wins when several lookups explain one row.
STATUS_OK, STATUS_GAP, STATUS_COARSE, STATUS_NO_PRICES_YET = 0, 1, 2, 3
STATUS_TEXT = {STATUS_OK: None, STATUS_GAP: GAP, STATUS_COARSE: COARSE, STATUS_NO_PRICES_YET: NO_PRICES_YET}

US_PER_MINUTE = 60_000_000
_MAX_KEY = 2**62
_SORT_QUERIES_ABOVE = 50_000  # random lookups into a large book are cache misses; sorted ones are not


class PriceBookError(ValueError):
    """Price observations or a lookup that cannot be used (names what was wrong)."""


def to_us(values) -> np.ndarray:
    """Aware timestamps (Series, Index, array or list) as int64 microseconds since the epoch."""
    index = pd.DatetimeIndex(values if isinstance(values, pd.DatetimeIndex) else pd.to_datetime(values))
    if index.tz is None and len(index):
        # Localising here would guess; the warehouse only ever holds aware UTC times.
        raise PriceBookError("timestamps must be timezone-aware (UTC), got naive ones")
    if index.tz is None:
        index = index.tz_localize("UTC")
    if index.hasnans:
        raise PriceBookError("timestamps must not be null")
    return index.tz_convert("UTC").as_unit("us").asi8.astype(np.int64)


def from_us(values: np.ndarray) -> pd.Series:
    return pd.Series(pd.to_datetime(np.asarray(values, dtype=np.int64), unit="us", utc=True)).astype("datetime64[us, UTC]")


@dataclass(frozen=True)
class AsOf:
    """Result of a batch of lookups, one entry per query (arrays of equal length)."""

    price: np.ndarray  # float64; NaN unless status is OK
    cap: np.ndarray  # float64 market cap of the observation used (NaN when unknown)
    stale_us: np.ndarray  # int64 age of the observation used (-1 when none)
    status: np.ndarray  # int8 STATUS_* code

    @property
    def ok(self) -> np.ndarray:
        return self.status == STATUS_OK


class PriceBook:
    """Observations of many assets, sorted once, for vectorised as-of lookups.

    ``prices`` needs ``asset_id``, ``observed_at`` (aware), ``price_usd`` and
    optionally ``market_cap_usd`` and ``source``. Rows without a positive
    price are ignored; two observations of one asset at the same instant
    (two sources) keep the ``markets`` snapshot's, deterministically.
    """

    def __init__(self, prices: pd.DataFrame) -> None:
        missing = [c for c in ("asset_id", "observed_at", "price_usd") if c not in prices.columns]
        if missing:
            raise PriceBookError(f"price frame is missing column(s) {', '.join(missing)}")
        # Integer codes and one int64 sort key: sorting strings row by row is what makes as-of joins slow.
        categories = pd.Categorical(prices["asset_id"])
        codes = categories.codes.astype(np.int64)
        times = to_us(prices["observed_at"]) if len(prices) else np.array([], dtype=np.int64)
        price = pd.to_numeric(prices["price_usd"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        cap = (pd.to_numeric(prices["market_cap_usd"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
               if "market_cap_usd" in prices.columns else np.full(len(prices), np.nan))
        # at the same instant the markets snapshot (sorted last, kept) wins over history
        source = ((prices["source"] == "markets").to_numpy(dtype=np.int64, na_value=0)
                  if "source" in prices.columns else np.zeros(len(prices), dtype=np.int64))
        good = np.isfinite(price) & (price > 0) & (codes >= 0)
        codes, times, price, cap, source = codes[good], times[good], price[good], cap[good], source[good]
        # dense codes over the assets that kept rows
        present = np.bincount(codes, minlength=len(categories.categories)) > 0
        used = np.flatnonzero(present)
        codes = (np.cumsum(present) - 1)[codes].astype(np.int64)
        self.assets = np.asarray(categories.categories, dtype=str)[used] if len(used) else np.array([], dtype=str)
        n = len(times)
        if n:
            self.origin = int(times.min())
            self.span = int(times.max()) - self.origin + 2  # +2: room for "before the first" at offset -1
            if len(self.assets) * self.span >= _MAX_KEY:  # keys * 2 + source must stay below 2**63
                raise PriceBookError(f"{len(self.assets)} assets over {self.span / 8.64e10:.0f} days do not fit one lookup key")
            keys = codes * self.span + (times - self.origin + 1)
            order = np.argsort(keys * 2 + source, kind="stable")
            keys, codes, times, price, cap = keys[order], codes[order], times[order], price[order], cap[order]
            last_of_instant = np.ones(n, dtype=bool)
            last_of_instant[:-1] = keys[1:] != keys[:-1]
            keys, codes, times, price, cap = (a[last_of_instant] for a in (keys, codes, times, price, cap))
            self.keys = keys
            self.latest_us = int(times.max())
        else:
            self.origin, self.span, self.keys, self.latest_us = 0, 1, np.array([], dtype=np.int64), None
        self.codes, self.times, self.prices, self.caps = codes, times, price, cap
        n = len(times)
        # How far apart an observation's neighbours are: its local resolution,
        # which tells "the data is this coarse" from "some points are missing".
        same_prev = np.zeros(n, dtype=bool)
        same_prev[1:] = self.codes[1:] == self.codes[:-1]
        gap_prev = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        gap_prev[1:] = np.where(same_prev[1:], np.diff(self.times), gap_prev[1:])
        gap_next = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        gap_next[:-1] = np.where(same_prev[1:], np.diff(self.times), gap_next[:-1])
        self.resolution_us = np.minimum(gap_prev, gap_next)

    def __len__(self) -> int:
        return len(self.times)

    def asset_codes(self, asset_ids) -> np.ndarray:
        """Codes of ``asset_ids`` in this book; -1 for assets it holds no observation of."""
        ids = asset_ids if isinstance(asset_ids, (pd.Series, pd.Index)) else pd.Series(np.asarray(asset_ids, dtype=object))
        return pd.Index(self.assets).get_indexer(ids.astype(str)).astype(np.int64)  # a hash lookup; unknown: -1

    def index_at(self, codes: np.ndarray, times_us: np.ndarray) -> np.ndarray:
        """Row of the last observation at or before each time (-1 when none), by asset code."""
        codes = np.asarray(codes, dtype=np.int64)
        times_us = np.asarray(times_us, dtype=np.int64)
        if not len(self.times):
            return np.full(len(times_us), -1, dtype=np.int64)
        # Times past the last observation have the same as-of row as the last one;
        # times before the first fall to offset 0, below every key of their asset.
        rel = np.clip(times_us - self.origin + 1, 0, self.span - 1)
        idx = np.searchsorted(self.keys, np.maximum(codes, 0) * self.span + rel, side="right") - 1
        valid = (codes >= 0) & (idx >= 0)
        valid &= self.codes[np.maximum(idx, 0)] == codes
        return np.where(valid, idx, -1)

    def asof(self, codes: np.ndarray, times_us: np.ndarray, max_stale_us) -> AsOf:
        """As-of lookups of (asset code, time) pairs within ``max_stale_us`` (scalar or per query)."""
        codes = np.asarray(codes, dtype=np.int64)
        times_us = np.asarray(times_us, dtype=np.int64)
        max_stale = np.broadcast_to(np.asarray(max_stale_us, dtype=np.int64), times_us.shape)
        n = len(times_us)
        if not len(self.times):
            return AsOf(price=np.full(n, np.nan), cap=np.full(n, np.nan), stale_us=np.full(n, -1, dtype=np.int64),
                        status=np.full(n, STATUS_NO_PRICES_YET, dtype=np.int8))
        if n <= _SORT_QUERIES_ABOVE:
            return self._asof(codes, times_us, max_stale)
        # Many queries: answer them in key order, so every gather below walks memory forward.
        order = np.argsort(np.maximum(codes, 0) * self.span + np.clip(times_us - self.origin + 1, 0, self.span - 1),
                           kind="stable")
        part = self._asof(codes[order], times_us[order], max_stale[order])
        out = AsOf(price=np.empty(n), cap=np.empty(n), stale_us=np.empty(n, dtype=np.int64),
                   status=np.empty(n, dtype=np.int8))
        for name in ("price", "cap", "stale_us", "status"):
            getattr(out, name)[order] = getattr(part, name)
        return out

    def _asof(self, codes: np.ndarray, times_us: np.ndarray, max_stale: np.ndarray) -> AsOf:
        last_row = len(self.times) - 1
        idx = self.index_at(codes, times_us)
        found = idx >= 0
        safe = np.maximum(idx, 0)
        stale = np.where(found, times_us - self.times[safe], -1)
        fresh = found & (stale <= max_stale)

        # Why not: judge the resolution by the observation before the time, or after it when none is before.
        nxt = np.where(found, idx + 1, self._first_row(codes))
        has_next = (codes >= 0) & (nxt >= 0) & (nxt <= last_row)
        has_next &= self.codes[np.clip(nxt, 0, last_row)] == codes
        around = np.where(found, safe, np.where(has_next, nxt, -1))
        resolution = self.resolution_us[np.maximum(around, 0)]
        never = np.iinfo(np.int64).max  # a lone observation has no resolution
        coarse = (around >= 0) & (resolution != never) & (resolution > max_stale)
        status = np.where(coarse, STATUS_COARSE, STATUS_GAP).astype(np.int8)
        status[fresh] = STATUS_OK
        status[times_us > self.latest_us] = STATUS_NO_PRICES_YET
        ok = status == STATUS_OK
        return AsOf(price=np.where(ok, self.prices[safe], np.nan), cap=np.where(ok, self.caps[safe], np.nan),
                    stale_us=stale, status=status)

    def _first_row(self, codes: np.ndarray) -> np.ndarray:
        """Row of each asset's first observation (-1 for unknown assets)."""
        starts = np.searchsorted(self.codes, np.maximum(codes, 0), side="left")
        return np.where(codes >= 0, starts, -1)


def merge_asof_baseline(prices: pd.DataFrame, queries: pd.DataFrame) -> pd.Series:
    """The same as-of prices through ``pandas.merge_asof`` (the benchmark's baseline; no staleness rule).

    ``queries`` has ``asset_id`` and ``at``; returns the price per query in its order.
    """
    left = queries.assign(_row=np.arange(len(queries)), at=pd.to_datetime(queries["at"], utc=True).astype("datetime64[us, UTC]"))
    right = prices[["asset_id", "observed_at", "price_usd"]].copy()
    right["observed_at"] = pd.to_datetime(right["observed_at"], utc=True).astype("datetime64[us, UTC]")
    right = right.sort_values(["observed_at", "asset_id"], kind="stable")
    left = left.sort_values("at", kind="stable")
    joined = pd.merge_asof(left, right, left_on="at", right_on="observed_at", by="asset_id", direction="backward")
    return joined.sort_values("_row")["price_usd"].reset_index(drop=True)
