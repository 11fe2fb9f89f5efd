"""The linking batch the ``news_market_link`` DAG runs: read a day's inputs, compute, validate, publish.

The unit of work is a UTC day. :func:`link_interval` links every day its
interval touches and then *re-links the previous days that still hold
unsettled rows* (rows whose horizon ended after the latest price then
available; at most ``ceil(longest horizon / 1 day) + 1`` days back), so the
run for day D completes day D-1's 24h rows once D's prices are in. Every
day is written through :meth:`Warehouse.write` with that day's own interval
(``Interval.for_day``), so a day's files are replaced whole by whichever run
computes it: reruns and overlapping backfills are idempotent, and no
settled day is rewritten by a later run.

Cost follows the interval's articles, not the warehouse's size: a day reads
only the partitions it needs (articles of the story look-back, the day's
links, prices from the estimation window to the longest horizon), each
through :meth:`Warehouse.read` with explicit ``dts``.

Known limits: a story published after the day's end does not mark the
day's late rows confounded (a row must not depend on when it was computed,
and the next day's news may not be in yet). A story's original is its
earliest copy among the articles loaded when the day is linked; if an
earlier copy of a story is ingested later (a news backfill of an earlier
day), relink the later day.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import date, datetime, timedelta, timezone

import pandas as pd

from newsmarkets.config import Config
from newsmarkets.intervals import Interval

log = logging.getLogger("newsmarkets.moves")

NEWS_MARKET_MOVES = "news_market_moves"
MARKET_MOVES = "market_moves"
# Copies of one story are merged at most this far apart (news.dedup.MAX_GAP): a
# day's originals are decided against the articles of the days before it.
STORY_LOOKBACK_DAYS = 3


def _dts(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def input_partitions(cfg: Config, day: str) -> dict[str, list[str]]:
    """The ``dt`` partitions linking ``day`` reads, per table."""
    d = date.fromisoformat(day)
    linking = cfg.linking
    longest = max(linking.horizon_minutes.values())
    lookback_days = math.ceil(linking.move_lookback_minutes / 1440)
    # Estimation grid starts window_days (+ one step) before the day; horizons end up to
    # `longest` after it, and one more day shows whether prices past that end exist yet.
    first_price = d - timedelta(days=linking.estimation_window_days + 1)
    last_price = d + timedelta(days=math.ceil(longest / 1440) + 1)
    # Stories just before the day may lead its event clusters (linking.event_gap_minutes).
    links_before = max(lookback_days, math.ceil(linking.event_gap_minutes / 1440))
    return {
        "articles": _dts(d - timedelta(days=max(STORY_LOOKBACK_DAYS, links_before)), d),
        "article_assets": _dts(d - timedelta(days=links_before), d),
        "price_snapshots": _dts(first_price, last_price),
    }


def _warehouse(cfg: Config):
    from newsmarkets.warehouse.writer import Warehouse

    return Warehouse.from_config(cfg)


def compute_day(cfg: Config, wh, day: str, *, computed_at: datetime) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(news_market_moves rows, market_moves rows, read stats) of one UTC day; no writes."""
    from newsmarkets.moves.benchmark import Benchmark
    from newsmarkets.moves.event_study import StudyParams, compute_moves, event_rows, story_originals
    from newsmarkets.moves.market_moves import compute_market_moves
    from newsmarkets.moves.prices import PriceBook

    parts = input_partitions(cfg, day)
    started = time.perf_counter()
    articles = wh.read("articles", dts=parts["articles"], columns=["article_id", "story_id", "published_at", "title"])
    links = wh.read("article_assets", dts=parts["article_assets"], columns=["article_id", "asset_id"])
    prices = wh.read("price_snapshots", dts=parts["price_snapshots"],
                     columns=["asset_id", "observed_at", "price_usd", "market_cap_usd", "source"])
    read_s = time.perf_counter() - started

    interval = Interval.for_day(day)
    linking = cfg.linking
    tracked = list(cfg.prices.assets)
    book = PriceBook(prices)
    bench = Benchmark(book, linking.benchmark, tracked)
    originals = story_originals(articles)
    events = event_rows(originals, links, interval.start, interval.end)
    params = StudyParams.from_config(linking)
    # Confounders are looked for up to the day's end only: the day's news is complete when it is linked (the
    # DAG waits for its 24 hours), the next day's may not be, and a row must not depend on when it was computed.
    context = event_rows(originals, links, interval.start - timedelta(minutes=params.event_gap_minutes), interval.end)
    news_moves = compute_moves(events, book, bench, params, tracked_assets=frozenset(tracked),
                               computed_at=computed_at, context=context)
    moves = compute_market_moves(
        book, bench, tracked, interval.start, interval.end, originals, links,
        window_days=linking.estimation_window_days, min_points=linking.min_estimation_points,
        move_z=linking.move_z, lookback_minutes=linking.move_lookback_minutes, benchmark=linking.benchmark,
        computed_at=computed_at, event_gap_minutes=linking.event_gap_minutes,
    )
    stats = {
        "articles_read": len(articles), "links_read": len(links), "price_rows_read": len(prices),
        "partitions_read": {k: len(v) for k, v in parts.items()}, "read_s": round(read_s, 3),
        "compute_s": round(time.perf_counter() - started - read_s, 3),
        "originals": int(events["article_id"].nunique()) if len(events) else 0,
    }
    return news_moves, moves, stats


def link_day(cfg: Config, day: str, run_id: str, *, wh=None, computed_at: datetime | None = None) -> dict:
    """Compute one UTC day and publish both tables through the quality gate (as interval ``day``)."""
    from newsmarkets.quality.gate import publish_if_valid
    from newsmarkets.quality.suites import market_moves_suite, news_market_moves_suite

    wh = wh or _warehouse(cfg)
    computed_at = computed_at or datetime.now(timezone.utc)
    news_moves, moves, stats = compute_day(cfg, wh, day, computed_at=computed_at)
    interval = Interval.for_day(day)
    started = time.perf_counter()
    linking = cfg.linking
    published = publish_if_valid(wh, NEWS_MARKET_MOVES, news_moves, interval, run_id,
                                 news_market_moves_suite(interval=interval, horizons=list(linking.horizons)))
    moved = publish_if_valid(wh, MARKET_MOVES, moves, interval, run_id, market_moves_suite(interval=interval))
    rows = news_moves
    out = {
        "day": day,
        "news_market_moves": published.rows_written,
        "market_moves": moved.rows_written,
        "unsettled": int((~rows["is_settled"]).sum()) if len(rows) else 0,
        "significant": int(rows["is_significant"].sum()) if len(rows) else 0,
        "missing": {str(k): int(v) for k, v in rows["missing_reason"].value_counts().items()} if len(rows) else {},
        "warnings": published.warnings + moved.warnings,
        **stats,
        "publish_s": round(time.perf_counter() - started, 3),
    }
    log.info("linked %s: %d news_market_moves row(s) (%d significant, %d unsettled), %d market move(s)",
             day, out["news_market_moves"], out["significant"], out["unsettled"], out["market_moves"])
    return out


def unsettled_days(cfg: Config, wh, before: str) -> list[str]:
    """Days before ``before`` (within the longest horizon's reach) that hold unsettled rows."""
    longest = max(cfg.linking.horizon_minutes.values())
    reach = math.ceil(longest / 1440) + 1
    first = date.fromisoformat(before)
    days = [(first - timedelta(days=i)).isoformat() for i in range(reach, 0, -1)]
    found = []
    for day in days:
        settled = wh.read(NEWS_MARKET_MOVES, dts=[day], columns=["is_settled"])["is_settled"]
        if len(settled) and not settled.all():
            found.append(day)
    return found


def link_interval(cfg: Config, interval: Interval, run_id: str, *, recompute_unsettled: bool = True) -> dict:
    """Link every UTC day ``interval`` touches, then re-link earlier days with unsettled rows.

    Returns small metadata for XCom: per-day results and totals.
    """
    wh = _warehouse(cfg)
    computed_at = datetime.now(timezone.utc)  # a column only; paths come from the days
    days = interval.days()
    earlier = unsettled_days(cfg, wh, days[0]) if recompute_unsettled else []
    results = [link_day(cfg, day, run_id, wh=wh, computed_at=computed_at) for day in [*days, *earlier]]
    return {
        "days": days,
        "relinked": earlier,
        "results": results,
        "news_market_moves": sum(r["news_market_moves"] for r in results if r["day"] in days),
        "market_moves": sum(r["market_moves"] for r in results if r["day"] in days),
        "unsettled": sum(r["unsettled"] for r in results),
    }
