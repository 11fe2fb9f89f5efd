"""The provider's coin list as an ``assets`` table partition (pure: records in, frame out).

Each refresh publishes the whole list, so the newest partition alone is the
current vocabulary. A coin the provider stops listing is carried over from the
previous copy (``is_listed`` false, ``last_seen_at`` unchanged) instead of
vanishing: an article about a delisted coin is still about it, and a provider
answering with a short list must not shrink what the linker knows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import pandas as pd

from newsmarkets.warehouse.schemas import ASSETS


class CoinListError(ValueError):
    """The provider's coin list cannot describe the assets: empty, or missing fields."""


def _clean(value) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def coin_list_frame(
    coins: Iterable[dict],
    ranks: dict[str, int | None],
    previous: pd.DataFrame | None,
    *,
    tracked: Sequence[str],
    listed_at: datetime,
    source: str,
    ingested_at: datetime,
) -> pd.DataFrame:
    """One row per coin: this listing's coins plus the previous copy's coins it no longer lists.

    ``coins`` are ``/coins/list`` records (``id``, ``symbol``, ``name``);
    ``ranks`` maps ids to ``market_cap_rank`` from ``/coins/markets``;
    ``previous`` is the last published partition (or None).
    """
    rows: dict[str, dict] = {}
    skipped = 0
    for coin in coins:
        asset_id = _clean(coin.get("id")) if isinstance(coin, dict) else ""
        symbol, name = (_clean(coin.get("symbol")), _clean(coin.get("name"))) if asset_id else ("", "")
        if not asset_id or not (symbol or name):
            skipped += 1  # an id without any name cannot be linked or shown; the provider lists a few
            continue
        rows[asset_id] = {"asset_id": asset_id, "symbol": symbol.lower() or asset_id, "name": name or symbol.upper()}
    if not rows:
        raise CoinListError(f"the provider's coin list has no usable coin ({skipped} record(s) without id or name)")
    tracked_set = set(tracked)
    before = {} if previous is None or previous.empty else {r["asset_id"]: r for r in previous.to_dict("records")}
    listed_at = pd.Timestamp(listed_at).tz_convert("UTC")
    out = []
    for asset_id, row in rows.items():
        old = before.get(asset_id)
        out.append({**row, "market_cap_rank": ranks.get(asset_id), "is_listed": True,
                    "first_seen_at": min(old["first_seen_at"], listed_at) if old else listed_at,
                    "last_seen_at": listed_at})
    for asset_id, old in before.items():
        if asset_id not in rows:
            out.append({"asset_id": asset_id, "symbol": old["symbol"], "name": old["name"], "market_cap_rank": None,
                        "is_listed": False, "first_seen_at": old["first_seen_at"], "last_seen_at": old["last_seen_at"]})
    frame = pd.DataFrame(out)
    frame["market_cap_rank"] = frame["market_cap_rank"].astype("Int64")
    frame["is_tracked"] = frame["asset_id"].isin(tracked_set)
    for column in ("first_seen_at", "last_seen_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame["listed_at"] = listed_at
    frame["source"] = source
    frame["ingested_at"] = pd.Timestamp(ingested_at).tz_convert("UTC")
    frame["dt"] = listed_at.strftime("%Y-%m-%d")
    return frame.sort_values("asset_id", ignore_index=True)[ASSETS.schema.names]
