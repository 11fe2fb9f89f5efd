"""Significant 1h moves per asset and of the market, with the news that preceded them (pure).

Moves are clock hours ``[HH:00, HH+1:00)``: non-overlapping windows, so one
jump is one move. Each hour's simple return (as-of prices at both ends,
at most one hour stale) is scored against the same series' hourly returns
over the ``window_days`` before it (trailing, no look-ahead)::

    move_z = (return - trailing mean) / trailing standard deviation

and kept when ``|move_z| >= move_z`` with at least ``min_points`` trailing
returns. Each move lists the story originals published in
``[window_start - lookback, window_end)``, ranked: articles linked to the
moved asset first; among them the first story of each event cluster before
its follow-ups (stories on the asset within ``event_gap_minutes`` of an
earlier one repeat it: :func:`~newsmarkets.moves.attribution.cluster_events`);
then the most recent first, at most :data:`MAX_MOVE_ARTICLES`
(``article_count`` says how many there were). For the market every article
counts as linked (every story has a ``market`` row in news_market_moves).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from newsmarkets.moves import MARKET
from newsmarkets.moves.attribution import cluster_events
from newsmarkets.moves.benchmark import Benchmark
from newsmarkets.moves.prices import US_PER_MINUTE, PriceBook, from_us, to_us

MAX_MOVE_ARTICLES = 10
HOUR_US = 60 * US_PER_MINUTE

COLUMNS = [
    "asset_id", "window_start_at", "window_end_at", "price_start_usd", "price_end_usd", "move_return", "move_z",
    "sigma_1h", "estimation_points", "direction", "article_ids", "article_titles", "article_count",
    "linked_article_count", "benchmark", "computed_at",
]


def _empty() -> pd.DataFrame:
    ts = "datetime64[us, UTC]"
    kinds = {"window_start_at": ts, "window_end_at": ts, "computed_at": ts, "estimation_points": "int64",
             "article_count": "int64", "linked_article_count": "int64"}
    floats = {"price_start_usd", "price_end_usd", "move_return", "move_z", "sigma_1h"}
    return pd.DataFrame({c: pd.Series(dtype=kinds.get(c, "float64" if c in floats else object)) for c in COLUMNS})


def trailing_stats(returns: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, sample std and count of the ``window`` returns before each column (NaN = missing)."""
    finite = np.isfinite(returns)
    x = np.where(finite, returns, 0.0)
    pad = np.zeros((returns.shape[0], 1))
    c = np.concatenate([pad, np.cumsum(finite, axis=1)], axis=1)
    s = np.concatenate([pad, np.cumsum(x, axis=1)], axis=1)
    q = np.concatenate([pad, np.cumsum(x * x, axis=1)], axis=1)
    cols = np.arange(returns.shape[1])
    lo = np.maximum(cols - window, 0)
    n = c[:, cols] - c[:, lo]
    total = s[:, cols] - s[:, lo]
    squares = q[:, cols] - q[:, lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / n
        var = (squares - total * total / n) / (n - 1)
    return mean, np.sqrt(np.where(var > 0, var, np.nan)), n.astype(np.int64)


def hourly_moves(book: PriceBook, bench: Benchmark, assets: list[str], start: datetime, end: datetime, *,
                 window_days: int, min_points: int, move_z: float) -> pd.DataFrame:
    """Hours starting in [start, end) whose 1h return is significant, per asset and for ``market``."""
    k = window_days * 24
    first = (int(to_us([start])[0]) // HOUR_US) * HOUR_US - k * HOUR_US
    last = -(-int(to_us([end])[0]) // HOUR_US) * HOUR_US
    grid = np.arange(first, last + HOUR_US, HOUR_US, dtype=np.int64)
    assets = sorted(set(assets) - {MARKET})
    codes = book.asset_codes(assets)
    n_grid = len(grid)
    looked = book.asof(np.repeat(codes, n_grid), np.tile(grid, len(codes)), HOUR_US)
    prices = looked.price.reshape(len(codes), n_grid)
    spans = bench.spans(grid[:-1], grid[1:], HOUR_US)
    p_start = np.vstack([prices[:, :-1], spans.start_value[None, :]])
    p_end = np.vstack([prices[:, 1:], spans.end_value[None, :]])
    with np.errstate(invalid="ignore", divide="ignore"):
        returns = p_end / p_start - 1.0
        mean, sigma, n = trailing_stats(returns, k)
        z = (returns - mean) / sigma
    names = np.array([*assets, MARKET], dtype=object)
    in_range = (grid[:-1] >= to_us([start])[0]) & (grid[:-1] < to_us([end])[0])
    hit = in_range[None, :] & np.isfinite(z) & (np.abs(np.nan_to_num(z)) >= move_z) & (n >= min_points)
    a, l = np.nonzero(hit)
    return pd.DataFrame({
        "asset_id": names[a],
        "window_start_at": from_us(grid[l]).to_numpy(),
        "window_end_at": from_us(grid[l + 1]).to_numpy(),
        "price_start_usd": p_start[a, l],
        "price_end_usd": p_end[a, l],
        "move_return": returns[a, l],
        "move_z": z[a, l],
        "sigma_1h": sigma[a, l],
        "estimation_points": n[a, l],
        "direction": np.where(returns[a, l] >= 0, "up", "down"),
    })


def attach_articles(moves: pd.DataFrame, originals: pd.DataFrame, links: pd.DataFrame, *,
                    lookback_minutes: int, event_gap_minutes: int = 0) -> pd.DataFrame:
    """``moves`` plus the ranked articles published before each (see the module docstring)."""
    out = moves.reset_index(drop=True).assign(_move=lambda f: np.arange(len(f)))
    empty_lists = pd.Series([[] for _ in range(len(out))], dtype=object)
    if not len(out) or not len(originals):
        return out.drop(columns="_move").assign(article_ids=empty_lists, article_titles=empty_lists.copy(),
                                                article_count=0, linked_article_count=0)
    arts = originals[["article_id", "title", "published_at"]].assign(
        published_at=pd.to_datetime(originals["published_at"], utc=True))
    pairs = out[["_move", "asset_id", "window_start_at", "window_end_at"]].merge(arts, how="cross")
    lookback = pd.Timedelta(minutes=lookback_minutes)
    pairs = pairs[(pairs["published_at"] >= pairs["window_start_at"] - lookback)
                  & (pairs["published_at"] < pairs["window_end_at"])]
    linked = links[["article_id", "asset_id"]].drop_duplicates().assign(_linked=True)
    pairs = pairs.merge(linked, on=["article_id", "asset_id"], how="left")
    pairs["_linked"] = pairs["_linked"].fillna(False).astype(bool) | (pairs["asset_id"] == MARKET)
    pairs["_lead"] = True
    if event_gap_minutes > 0:
        # every story counts for the market, as in news_market_moves; per coin, its own links
        stories = arts[["article_id", "published_at"]]
        events = pd.concat([stories.merge(links[["article_id", "asset_id"]].drop_duplicates(), on="article_id"),
                            stories.assign(asset_id=MARKET)], ignore_index=True)
        clusters = cluster_events(events, event_gap_minutes)
        follow_ups = set(zip(clusters.loc[clusters["is_follow_up"], "article_id"],
                             clusters.loc[clusters["is_follow_up"], "asset_id"]))
        pairs["_lead"] = [(a, x) not in follow_ups for a, x in zip(pairs["article_id"], pairs["asset_id"])]
    pairs = pairs.sort_values(["_move", "_linked", "_lead", "published_at", "article_id"],
                              ascending=[True, False, False, False, True])
    grouped = pairs.groupby("_move")
    counts = grouped.size()
    linked_counts = grouped["_linked"].sum()
    top = pairs.groupby("_move").head(MAX_MOVE_ARTICLES).groupby("_move")
    ids, titles = top["article_id"].agg(list), top["title"].agg(list)
    out["article_ids"] = [ids.get(m, []) for m in out["_move"]]
    out["article_titles"] = [[str(t) for t in titles.get(m, [])] for m in out["_move"]]
    out["article_ids"] = [[str(a) for a in v] for v in out["article_ids"]]
    out["article_count"] = out["_move"].map(counts).fillna(0).astype("int64")
    out["linked_article_count"] = out["_move"].map(linked_counts).fillna(0).astype("int64")
    return out.drop(columns="_move")


def compute_market_moves(book: PriceBook, bench: Benchmark, assets: list[str], start: datetime, end: datetime,
                         originals: pd.DataFrame, links: pd.DataFrame, *, window_days: int, min_points: int,
                         move_z: float, lookback_minutes: int, benchmark: str,
                         computed_at: datetime, event_gap_minutes: int = 0) -> pd.DataFrame:
    """``market_moves`` rows for the hours starting in [start, end)."""
    moves = hourly_moves(book, bench, assets, start, end, window_days=window_days, min_points=min_points,
                         move_z=move_z)
    if not len(moves):
        return _empty()
    out = attach_articles(moves, originals, links, lookback_minutes=lookback_minutes,
                          event_gap_minutes=event_gap_minutes)
    out["benchmark"] = benchmark
    out["computed_at"] = pd.Timestamp(computed_at).tz_convert("UTC")
    for column in ("window_start_at", "window_end_at", "computed_at"):
        out[column] = pd.to_datetime(out[column], utc=True).astype("datetime64[us, UTC]")
    out["estimation_points"] = out["estimation_points"].astype("int64")
    return out.sort_values(["asset_id", "window_start_at"], ignore_index=True)[COLUMNS]
