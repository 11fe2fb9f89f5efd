"""The ``assets_refresh`` DAG's tasks: the provider's coin list -> the ``assets`` table.

``/coins/list`` names every coin; ``/coins/markets`` ranks the largest
(``prices.ranked_coins``) and the tracked ones, and gives the provider's clock. The list only
describes *now*, so a run for a day long past is refused instead of
publishing today's list under an old date.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone

import pandas as pd

from newsmarkets.config import Config
from newsmarkets.intervals import Interval, IntervalNotServable

log = logging.getLogger("newsmarkets.prices")

ASSETS = "assets"
# How far the provider's clock may be from the run's interval end: a daily run
# that starts late still serves its day, a backfill of last month does not.
SERVABLE_SLACK = timedelta(hours=36)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _warehouse(cfg: Config):
    from newsmarkets.warehouse.writer import Warehouse

    return Warehouse.from_config(cfg)


def previous_listing(wh, before_dt: str) -> pd.DataFrame | None:
    """The newest published copy of the list older than ``before_dt`` (None before the first refresh)."""
    older = [dt for dt in wh.partitions(ASSETS) if dt < before_dt]
    return wh.read(ASSETS, dts=[older[-1]]) if older else None


def check_listing_interval(interval: Interval, provider_now: datetime, provider: str) -> None:
    """Refuse an interval the current list cannot describe (a backfill, or a day not yet ended)."""
    if not interval.end - SERVABLE_SLACK <= provider_now <= interval.end + SERVABLE_SLACK:
        raise IntervalNotServable(
            f"assets_refresh cannot serve {interval}: {provider}'s coin list describes now "
            f"({provider_now:%Y-%m-%dT%H:%MZ}), not that day; the assets table keeps one copy per day it "
            "was refreshed on, and cannot be backfilled")


def fetch_coin_list(cfg: Config, interval: Interval, run_id: str) -> dict:
    """Fetch the coin list and the tracked coins' ranks; stage the ``assets`` partition."""
    from newsmarkets.prices.coin_list import coin_list_frame
    from newsmarkets.prices.provider import make_provider

    started = time.perf_counter()
    provider = make_provider(cfg.prices, cfg.http)
    coins = provider.list_assets()
    markets = provider.top_markets(cfg.prices.ranked_coins) if cfg.prices.ranked_coins else []
    ranked = {m.get("id") for m in markets}
    markets += provider.markets([a for a in cfg.prices.assets if a not in ranked]) if cfg.prices.assets else []
    stamps = [pd.Timestamp(m["last_updated"]) for m in markets if m.get("last_updated")]
    provider_now = max(stamps).to_pydatetime() if stamps else _now()
    check_listing_interval(interval, provider_now, provider.name)
    ranks = {m["id"]: m.get("market_cap_rank") for m in markets if m.get("id")}
    wh = _warehouse(cfg)
    listed_at = interval.end
    previous = previous_listing(wh, listed_at.strftime("%Y-%m-%d"))
    frame = coin_list_frame(coins, ranks, previous, tracked=cfg.prices.assets, listed_at=listed_at,
                            source=provider.name, ingested_at=_now())
    unlisted = sorted(set(cfg.prices.assets) - set(frame["asset_id"]))
    if unlisted:
        log.warning("the provider does not list tracked asset(s) %s: their news cannot be linked", ", ".join(unlisted))
    path = wh.stage(ASSETS, frame, interval, run_id)
    log.info("staged %d coins (%d listed now, %d tracked) at %s", len(frame), int(frame["is_listed"].sum()),
             int(frame["is_tracked"].sum()), path)
    return {"staged": path, "coins": len(frame), "listed": int(frame["is_listed"].sum()),
            "delisted_kept": int((~frame["is_listed"]).sum()), "tracked_unlisted": unlisted,
            "fetch_s": round(time.perf_counter() - started, 3)}


def publish_coin_list(cfg: Config, interval: Interval, run_id: str, staged: dict) -> dict:
    """Validate the staged list with its suite; publish it, or quarantine it and fail."""
    from newsmarkets.quality.gate import publish_if_valid
    from newsmarkets.quality.suites import assets_suite

    wh = _warehouse(cfg)
    started = time.perf_counter()
    frame = wh.load_staged(ASSETS, staged["staged"])
    result = publish_if_valid(wh, ASSETS, frame, interval, run_id, assets_suite())
    return {"table": ASSETS, "rows": result.rows_written, "warnings": result.warnings,
            "publish_s": round(time.perf_counter() - started, 3)}
