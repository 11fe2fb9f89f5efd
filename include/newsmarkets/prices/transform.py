"""Pure transforms from provider records to ``price_snapshots`` / ``price_gaps`` rows (no I/O).

Bad *values* (null or negative prices) pass through untouched so the quality
gate sees and quarantines them; only records too broken to become a row at
all (no ``id``, no usable timestamp, a price that is not a number) raise
:class:`ProviderPayloadError` naming the asset and the field.

Column dtypes: text is pandas ``string`` (NA-aware), money and percentages are
nullable ``Float64``, counts ``int64``, timestamps ``datetime64[us, UTC]``.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any, Sequence

import pandas as pd

from newsmarkets.intervals import Interval, as_utc
from newsmarkets.prices.provider import ProviderPayloadError
from newsmarkets.warehouse.schemas import PRICE_GAPS, PRICE_SNAPSHOTS

SNAPSHOT_COLUMNS: list[str] = [f.name for f in PRICE_SNAPSHOTS.schema]
GAP_COLUMNS: list[str] = [f.name for f in PRICE_GAPS.schema if f.name not in ("run_id", "ingested_at", "dt")]

TS_DTYPE = "datetime64[us, UTC]"
TEXT = pd.StringDtype()
MONEY = pd.Float64Dtype()

_SNAPSHOT_DTYPES: dict[str, Any] = {
    "asset_id": TEXT,
    "symbol": TEXT,
    "name": TEXT,
    "price_usd": MONEY,
    "market_cap_usd": MONEY,
    "volume_24h_usd": MONEY,
    "change_24h_pct": MONEY,
    "observed_at": TS_DTYPE,
    "snapshot_at": TS_DTYPE,
    "source": TEXT,
    "ingested_at": TS_DTYPE,
    "dt": TEXT,
}
_GAP_DTYPES: dict[str, Any] = {
    "asset_id": TEXT,
    "gap_start_at": TS_DTYPE,
    "gap_end_at": TS_DTYPE,
    "expected_points": "int64",
    "received_points": "int64",
    "reason": TEXT,
    "source": TEXT,
}
# CoinGecko /coins/markets field -> our column
_MARKET_NUMBERS = {
    "current_price": "price_usd",
    "market_cap": "market_cap_usd",
    "total_volume": "volume_24h_usd",
    "price_change_percentage_24h": "change_24h_pct",
}


def _number(value: Any, *, asset: str, field: str, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProviderPayloadError(f"{where}: asset {asset!r} field {field!r} is {value!r}, expected a number or null")
    return float(value)


def _text(value: Any, *, asset: str, field: str, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProviderPayloadError(f"{where}: asset {asset!r} field {field!r} is {value!r}, expected a string or null")
    return value


def _timestamps(values: Sequence[datetime] | pd.Series) -> pd.Series:
    return pd.Series(pd.to_datetime(list(values), utc=True), dtype=TS_DTYPE) if len(values) else pd.Series([], dtype=TS_DTYPE)


def _typed(frame: pd.DataFrame, dtypes: dict[str, Any]) -> pd.DataFrame:
    return frame.astype(dtypes)[list(dtypes)]


def _empty(dtypes: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in dtypes.items()})


def _finish_snapshots(frame: pd.DataFrame, *, snapshot_at: datetime, ingested_at: datetime, source: str) -> pd.DataFrame:
    frame["snapshot_at"] = pd.Timestamp(as_utc(snapshot_at)).as_unit("us")
    frame["source"] = source
    frame["ingested_at"] = pd.Timestamp(as_utc(ingested_at)).as_unit("us")
    frame["dt"] = frame["observed_at"].dt.strftime("%Y-%m-%d")
    return _typed(frame, _SNAPSHOT_DTYPES).reset_index(drop=True)


def markets_to_frame(records: list[dict], *, snapshot_at: datetime, ingested_at: datetime) -> pd.DataFrame:
    """``/coins/markets`` records -> ``price_snapshots`` rows (source ``markets``), one per record.

    ``observed_at`` is CoinGecko's ``last_updated`` (when *they* priced it),
    ``snapshot_at`` the moment our run represents.
    """
    snapshot_at, ingested_at = as_utc(snapshot_at), as_utc(ingested_at)
    where = "/coins/markets"
    rows = []
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise ProviderPayloadError(f"{where}: record [{i}] is a {type(record).__name__}, expected an object")
        asset_id = record.get("id")
        if not isinstance(asset_id, str) or not asset_id:
            raise ProviderPayloadError(f"{where}: record [{i}] has no usable 'id' (got {asset_id!r})")
        last_updated = record.get("last_updated")
        try:
            observed_at = as_utc(last_updated)
        except (TypeError, ValueError, AttributeError):
            raise ProviderPayloadError(
                f"{where}: asset {asset_id!r} field 'last_updated' is {last_updated!r}, expected an ISO timestamp with zone"
            ) from None
        symbol = _text(record.get("symbol"), asset=asset_id, field="symbol", where=where)
        row = {
            "asset_id": asset_id,
            "symbol": symbol.lower() if symbol is not None else None,
            "name": _text(record.get("name"), asset=asset_id, field="name", where=where),
            "observed_at": observed_at,
        }
        for field, column in _MARKET_NUMBERS.items():
            row[column] = _number(record.get(field), asset=asset_id, field=field, where=where)
        rows.append(row)
    if not rows:
        return _empty(_SNAPSHOT_DTYPES)
    frame = pd.DataFrame(rows)
    # Build money columns from Python floats so 1e-8 and None stay exact / null.
    for column in _MARKET_NUMBERS.values():
        frame[column] = pd.array([r[column] for r in rows], dtype=MONEY)
    frame["observed_at"] = _timestamps([r["observed_at"] for r in rows])
    return _finish_snapshots(frame, snapshot_at=snapshot_at, ingested_at=ingested_at, source="markets")


def _series(payload: dict, name: str, *, asset_id: str, required: bool) -> pd.DataFrame:
    """One ``[[ms, value], ...]`` series as a frame (ms, value), last value winning per timestamp."""
    where = "/market_chart/range"
    points = payload.get(name)
    if points is None:
        if required:
            raise ProviderPayloadError(f"{where}: asset {asset_id!r} payload has no '{name}'")
        points = []
    if not isinstance(points, list):
        raise ProviderPayloadError(f"{where}: asset {asset_id!r} field '{name}' is a {type(points).__name__}, expected a list")
    ms, values = [], []
    for i, point in enumerate(points):
        if not (isinstance(point, (list, tuple)) and len(point) == 2) or isinstance(point[0], bool) or not isinstance(point[0], (int, float)):
            raise ProviderPayloadError(f"{where}: asset {asset_id!r} {name}[{i}] is {point!r}, expected [unix_ms, value]")
        if isinstance(point[0], float) and not math.isfinite(point[0]):
            raise ProviderPayloadError(f"{where}: asset {asset_id!r} {name}[{i}] timestamp {point[0]!r} is not finite")
        ms.append(int(point[0]))
        values.append(_number(point[1], asset=asset_id, field=f"{name}[{i}]", where=where))
    frame = pd.DataFrame({"ms": pd.Series(ms, dtype="int64"), name: pd.array(values, dtype=MONEY)})
    return frame.drop_duplicates("ms", keep="last")


def market_chart_to_frame(
    asset: dict,
    payload: dict,
    *,
    interval: Interval,
    snapshot_at: datetime,
    ingested_at: datetime,
) -> pd.DataFrame:
    """``/market_chart/range`` payload -> ``price_snapshots`` rows (source ``market_chart``) inside ``interval``."""
    asset_id = asset.get("id") if isinstance(asset, dict) else None
    if not isinstance(asset_id, str) or not asset_id:
        raise ProviderPayloadError(f"/market_chart/range: asset {asset!r} has no usable 'id'")
    if not isinstance(payload, dict):
        raise ProviderPayloadError(f"/market_chart/range: asset {asset_id!r} payload is a {type(payload).__name__}, expected an object")
    snapshot_at, ingested_at = as_utc(snapshot_at), as_utc(ingested_at)
    symbol = _text(asset.get("symbol"), asset=asset_id, field="symbol", where="/coins/list")
    name = _text(asset.get("name"), asset=asset_id, field="name", where="/coins/list")

    frame = _series(payload, "prices", asset_id=asset_id, required=True)
    for series in ("market_caps", "total_volumes"):
        frame = frame.merge(_series(payload, series, asset_id=asset_id, required=False), on="ms", how="left")
    frame["observed_at"] = pd.to_datetime(frame["ms"], unit="ms", utc=True).astype(TS_DTYPE)
    inside = (frame["observed_at"] >= pd.Timestamp(interval.start)) & (frame["observed_at"] < pd.Timestamp(interval.end))
    frame = frame[inside].sort_values("observed_at", kind="stable")
    frame = frame.rename(columns={"prices": "price_usd", "market_caps": "market_cap_usd", "total_volumes": "volume_24h_usd"})
    frame["asset_id"] = asset_id
    frame["symbol"] = symbol.lower() if symbol is not None else None
    frame["name"] = name
    frame["change_24h_pct"] = pd.array([None] * len(frame), dtype=MONEY)
    return _finish_snapshots(frame, snapshot_at=snapshot_at, ingested_at=ingested_at, source="market_chart")


def find_gaps(
    frame: pd.DataFrame,
    asset_ids: Sequence[str],
    interval: Interval,
    *,
    expected_step: timedelta,
    source: str | None = None,
) -> pd.DataFrame:
    """Hours of ``interval`` in which an asset has no price point, as ``price_gaps`` rows.

    An asset with no point at all gets one ``no_data`` row spanning the
    interval; otherwise each run of consecutive empty hours becomes one
    ``missing_hours`` row. Hours are counted from ``interval.start`` (the last
    one may be shorter). A row whose ``price_usd`` is null is not a point.
    ``expected_points`` is how many ``expected_step`` slots the gap spans.
    ``source`` defaults to the frame's single source (``market_chart`` if empty).
    """
    if expected_step <= timedelta(0):
        raise ValueError(f"expected_step must be positive, got {expected_step}")
    missing = [c for c in ("asset_id", "observed_at", "price_usd") if c not in frame.columns]
    if missing:
        raise ValueError(f"find_gaps: frame lacks column(s) {', '.join(missing)}")
    if source is None:
        sources = sorted(frame["source"].dropna().unique()) if "source" in frame.columns else []
        if len(sources) > 1:
            raise ValueError(f"find_gaps: frame mixes sources {sources}; pass source= explicitly")
        source = sources[0] if sources else "market_chart"
    elif "source" in frame.columns:
        frame = frame[frame["source"] == source]

    start, end = pd.Timestamp(interval.start), pd.Timestamp(interval.end)
    observed = pd.to_datetime(frame["observed_at"], utc=True)
    points = frame[(observed >= start) & (observed < end) & frame["price_usd"].notna()]
    hour = pd.Timedelta(hours=1)
    n_hours = math.ceil((end - start) / hour)
    # Hour index of every point, per asset, relative to interval.start.
    hours_by_asset = (
        ((pd.to_datetime(points["observed_at"], utc=True) - start) // hour).groupby(points["asset_id"].astype(object)).agg(set)
        if len(points)
        else pd.Series(dtype=object)
    )

    def expected(gap_start: pd.Timestamp, gap_end: pd.Timestamp) -> int:
        return max(1, math.ceil((gap_end - gap_start) / pd.Timedelta(expected_step)))

    rows = []
    for asset_id in dict.fromkeys(asset_ids):
        filled = hours_by_asset.get(asset_id, set())
        if not filled:
            rows.append((asset_id, start, end, expected(start, end), 0, "no_data", source))
            continue
        h = 0
        while h < n_hours:
            if h in filled:
                h += 1
                continue
            first = h
            while h < n_hours and h not in filled:
                h += 1
            gap_start, gap_end = start + first * hour, min(end, start + h * hour)
            rows.append((asset_id, gap_start, gap_end, expected(gap_start, gap_end), 0, "missing_hours", source))
    if not rows:
        return _empty(_GAP_DTYPES)
    return _typed(pd.DataFrame(rows, columns=GAP_COLUMNS), _GAP_DTYPES)
