"""CoinGecko v3 answers computed from a :class:`MarketWorld` at a replay clock.

Pure: ``answer(world, now_s, path, query)`` returns the status, the JSON
document and the asset ids it carries (so data faults know what they may
damage); the server only moves bytes. Shapes, error bodies and the automatic
chart granularity follow CoinGecko's public API docs.
"""

from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from newsmarkets.replay.world import DAY_S, MarketWorld

API_PREFIX = "/api/v3"
SUPPORTED_VS = ("usd",)
MAX_PER_PAGE = 250
DEFAULT_PER_PAGE = 100
# CoinGecko: a range of up to 1 day *within a day of now* -> 5-minutely points;
# a 1-day range further back comes hourly.
FIVE_MINUTELY_MAX_S = DAY_S
HOURLY_MAX_S = 90 * DAY_S  # up to 90 days -> hourly, beyond -> daily at 00:00 UTC
_ORDERS = ("market_cap_desc", "market_cap_asc", "volume_desc", "volume_asc", "id_asc", "id_desc")
_CHART = re.compile(r"^/coins/([^/]+)/market_chart(/range)?$")
# Supply caps for the few assets that have one; everything else reports null.
_MAX_SUPPLY = {"bitcoin": 21_000_000.0, "litecoin": 84_000_000.0, "cardano": 45_000_000_000.0}


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    body: Any
    asset_ids: tuple[str, ...] | None = None  # assets whose prices the body carries
    headers: dict[str, str] = field(default_factory=dict)
    kind: str = "other"  # markets | chart | simple_price | other: how data faults damage it


def _error(status: int, message: str) -> ApiAnswer:
    return ApiAnswer(status, {"error": message})


def iso_ms(ts_s: float) -> str:
    """CoinGecko's timestamp style: 2026-01-07T23:55:20.412Z."""
    dt = datetime.fromtimestamp(ts_s, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def update_lag_ms(asset_id: str) -> int:
    """A stable per-asset delay (0-60 s) between a grid point and its 'last_updated'."""
    return zlib.crc32(asset_id.encode()) % 60_000


def _float_or_none(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _pct(new: float | None, old: float | None) -> float | None:
    if new is None or old is None or old == 0:
        return None
    return (new - old) / old * 100.0


# ----------------------------------------------------------------- markets
def market_row(world: MarketWorld, asset_id: str, now_s: float) -> dict[str, Any] | None:
    """One coins/markets object as of ``now_s``; None if the asset has no point yet."""
    j = world.last_index_at(asset_id, now_s)
    if j < 0:
        return None
    ts_s, price, cap, volume = world.point(asset_id, j)
    j_day = world.last_index_at(asset_id, now_s - DAY_S)
    price_24h = cap_24h = None
    if j_day >= 0:
        _, price_24h, cap_24h, _ = world.point(asset_id, j_day)
    _, window, _, _ = world.arrays(asset_id, now_s - DAY_S, now_s, include_end=True)
    hist_ts, hist, _, _ = world.arrays(asset_id, world.first_at.timestamp(), now_s, include_end=True)
    i_ath, i_atl = int(np.argmax(hist)), int(np.argmin(hist))
    supply = world.circulating_supply(asset_id)
    max_supply = _MAX_SUPPLY.get(asset_id)
    meta = world.asset(asset_id)
    return {
        "id": asset_id,
        "symbol": meta["symbol"],
        "name": meta["name"],
        "image": f"https://coin-images.coingecko.com/coins/images/replay/large/{asset_id}.png",
        "current_price": price,
        "market_cap": cap,
        "market_cap_rank": None,  # filled in across all assets by the caller
        "fully_diluted_valuation": None if cap is None else price * (max_supply or supply),
        "total_volume": volume,
        "high_24h": float(window.max()) if len(window) else price,
        "low_24h": float(window.min()) if len(window) else price,
        "price_change_24h": None if price_24h is None else price - price_24h,
        "price_change_percentage_24h": _pct(price, price_24h),
        "market_cap_change_24h": None if cap is None or cap_24h is None else cap - cap_24h,
        "market_cap_change_percentage_24h": _pct(cap, cap_24h),
        "circulating_supply": supply,
        "total_supply": supply,
        "max_supply": max_supply,
        "ath": float(hist[i_ath]),
        "ath_change_percentage": _pct(price, float(hist[i_ath])),
        "ath_date": iso_ms(float(hist_ts[i_ath])),
        "atl": float(hist[i_atl]),
        "atl_change_percentage": _pct(price, float(hist[i_atl])),
        "atl_date": iso_ms(float(hist_ts[i_atl])),
        "roi": None,
        "last_updated": iso_ms(min(ts_s + update_lag_ms(asset_id) / 1000, max(now_s, ts_s))),
    }


def _int_param(query: dict[str, str], name: str, default: int) -> int | ApiAnswer:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        return _error(400, f"invalid {name}: expected an integer, got {raw!r}")


def _vs_currency(query: dict[str, str], name: str = "vs_currency") -> ApiAnswer | None:
    vs = query.get(name)
    if not vs:
        return _error(400, f"Missing parameter {name}")
    if vs.lower() not in SUPPORTED_VS:
        return _error(400, f"invalid {name}")
    return None


def coins_markets(world: MarketWorld, now_s: float, query: dict[str, str]) -> ApiAnswer:
    bad = _vs_currency(query)
    if bad:
        return bad
    per_page = _int_param(query, "per_page", DEFAULT_PER_PAGE)
    if isinstance(per_page, ApiAnswer):
        return per_page
    page = _int_param(query, "page", 1)
    if isinstance(page, ApiAnswer):
        return page
    if per_page < 1:
        return _error(400, f"invalid per_page: must be between 1 and {MAX_PER_PAGE}, got {per_page}")
    if page < 1:
        return _error(400, f"invalid page: must be >= 1, got {page}")
    per_page = min(per_page, MAX_PER_PAGE)  # CoinGecko caps silently; clients must page
    order = query.get("order") or "market_cap_desc"
    if order not in _ORDERS:
        return _error(400, f"invalid order: {order!r} (supported: {', '.join(_ORDERS)})")

    rows = [r for r in (market_row(world, aid, now_s) for aid in world.asset_ids) if r is not None]
    by_cap = sorted((r for r in rows if r["market_cap"] is not None), key=lambda r: (-r["market_cap"], r["id"]))
    for rank, row in enumerate(by_cap, start=1):
        row["market_cap_rank"] = rank
    if query.get("ids"):
        wanted = {i.strip().lower() for i in query["ids"].split(",") if i.strip()}
        rows = [r for r in rows if r["id"] in wanted]  # unknown ids are silently absent, as upstream

    def key(row: dict) -> tuple:
        cap, vol = row["market_cap"], row["total_volume"]
        return {
            "market_cap_desc": (cap is None, -(cap or 0.0), row["id"]),
            "market_cap_asc": (cap is None, cap or 0.0, row["id"]),
            "volume_desc": (-vol, row["id"]),
            "volume_asc": (vol, row["id"]),
            "id_asc": (row["id"],),
        }.get(order, (row["id"],))

    rows.sort(key=key, reverse=(order == "id_desc"))
    chosen = rows[(page - 1) * per_page : page * per_page]
    return ApiAnswer(200, chosen, tuple(r["id"] for r in chosen), kind="markets")


# ------------------------------------------------------------------- charts
def _timestamp_param(query: dict[str, str], name: str) -> float | ApiAnswer:
    raw = query.get(name)
    if raw is None or raw == "":
        return _error(400, f"Missing parameter {name}")
    try:
        value = float(raw)
    except ValueError:
        try:  # newer CoinGecko also takes ISO dates / datetimes
            dt = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return _error(400, f"invalid {name}: expected a UNIX timestamp or ISO date, got {raw!r}")
        value = (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).timestamp()
    if not math.isfinite(value) or value < 0:
        return _error(400, f"invalid {name}: {raw!r}")
    return value


def chart(world: MarketWorld, asset_id: str, from_s: float, to_s: float, now_s: float, *, daily: bool = False) -> dict:
    """prices/market_caps/total_volumes over [from_s, min(to_s, now_s)] at the automatic granularity."""
    span = to_s - from_s
    ts, prices, caps, vols = world.arrays(asset_id, from_s, min(to_s, now_s), include_end=True)
    if daily or span > HOURLY_MAX_S:
        keep = ts % DAY_S == 0
    elif span > FIVE_MINUTELY_MAX_S or from_s < now_s - FIVE_MINUTELY_MAX_S:
        keep = ts % 3600 == 0
    else:
        keep = np.ones(len(ts), dtype=bool)
    ms = (ts[keep] * 1000).tolist()
    return {
        "prices": [[t, p] for t, p in zip(ms, prices[keep].tolist())],
        "market_caps": [[t, _float_or_none(c)] for t, c in zip(ms, caps[keep].tolist())],
        "total_volumes": [[t, v] for t, v in zip(ms, vols[keep].tolist())],
    }


def _interval(query: dict[str, str]) -> bool | ApiAnswer:
    interval = query.get("interval")
    if not interval:
        return False
    if interval == "daily":
        return True
    if interval in ("5m", "hourly"):
        return _error(400, f"interval={interval} is limited to Enterprise plans; leave it empty for automatic granularity")
    return _error(400, f"invalid interval: {interval!r}")


def market_chart(world: MarketWorld, now_s: float, asset_id: str, query: dict[str, str], *, ranged: bool) -> ApiAnswer:
    if asset_id not in world.asset_ids:
        return _error(404, "coin not found")
    bad = _vs_currency(query)
    if bad:
        return bad
    daily = _interval(query)
    if isinstance(daily, ApiAnswer):
        return daily
    if ranged:
        from_s = _timestamp_param(query, "from")
        if isinstance(from_s, ApiAnswer):
            return from_s
        to_s = _timestamp_param(query, "to")
        if isinstance(to_s, ApiAnswer):
            return to_s
        if to_s < from_s:
            return _error(400, f"invalid range: to ({query['to']}) is before from ({query['from']})")
    else:
        days = query.get("days")
        if not days:
            return _error(400, "Missing parameter days")
        if days == "max":
            from_s = 0.0
        else:
            try:
                n_days = float(days)
            except ValueError:
                return _error(400, f"invalid days: {days!r}")
            if not math.isfinite(n_days) or n_days <= 0:
                return _error(400, f"invalid days: {days!r}")
            from_s = now_s - n_days * DAY_S
        to_s = now_s
    body = chart(world, asset_id, from_s, to_s, now_s, daily=daily)
    return ApiAnswer(200, body, (asset_id,), kind="chart")


# -------------------------------------------------------------- the others
def simple_price(world: MarketWorld, now_s: float, query: dict[str, str]) -> ApiAnswer:
    if not query.get("ids"):
        return _error(400, "Missing parameter ids")
    if not query.get("vs_currencies"):
        return _error(400, "Missing parameter vs_currencies")
    currencies = {c.strip().lower() for c in query["vs_currencies"].split(",")}
    flags = {k: query.get(k, "false").lower() == "true" for k in (
        "include_market_cap", "include_24hr_vol", "include_24hr_change", "include_last_updated_at")}
    out: dict[str, dict] = {}
    for aid in (i.strip().lower() for i in query["ids"].split(",")):
        if aid not in world.asset_ids or aid in out:
            continue
        row = market_row(world, aid, now_s)
        if row is None:
            continue
        vals: dict[str, Any] = {}
        if "usd" in currencies:  # unsupported currencies are simply absent, as upstream
            vals["usd"] = row["current_price"]
            if flags["include_market_cap"]:
                vals["usd_market_cap"] = row["market_cap"]
            if flags["include_24hr_vol"]:
                vals["usd_24h_vol"] = row["total_volume"]
            if flags["include_24hr_change"]:
                vals["usd_24h_change"] = row["price_change_percentage_24h"]
        if flags["include_last_updated_at"]:
            vals["last_updated_at"] = int(datetime.fromisoformat(row["last_updated"].replace("Z", "+00:00")).timestamp())
        out[aid] = vals
    return ApiAnswer(200, out, tuple(out), kind="simple_price")


def coins_list(world: MarketWorld, query: dict[str, str]) -> ApiAnswer:
    rows = sorted(world.assets, key=lambda a: a["id"])
    if query.get("include_platform", "false").lower() == "true":
        rows = [{**r, "platforms": {}} for r in rows]
    return ApiAnswer(200, rows)


def answer(world: MarketWorld, now_s: float, path: str, query: dict[str, str]) -> ApiAnswer:
    """Route one GET under /api/v3 (``path`` includes the prefix)."""
    if not path.startswith(API_PREFIX + "/"):
        return _error(404, "Incorrect path. Please check https://www.coingecko.com/api/")
    sub = path[len(API_PREFIX) :].rstrip("/")
    if sub == "/ping":
        return ApiAnswer(200, {"gecko_says": "(V3) To the Moon!"})
    if sub == "/coins/list":
        return coins_list(world, query)
    if sub == "/coins/markets":
        return coins_markets(world, now_s, query)
    if sub == "/simple/price":
        return simple_price(world, now_s, query)
    m = _CHART.match(sub)
    if m:
        return market_chart(world, now_s, m.group(1), query, ranged=bool(m.group(2)))
    return _error(404, "Incorrect path. Please check https://www.coingecko.com/api/")
