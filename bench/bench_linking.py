"""Linking one day of news when the warehouse holds the few days it needs vs. a whole year.

Synthetic 5-minute prices (with market caps) for 250 assets are written as
``price_snapshots`` partitions in the warehouse's own layout (pyarrow, one
file per day, the writer's file schema), plus ~100 articles with asset links
on the linked day. The same day is then linked against

* a *small* warehouse: only the 11 price days one day's linking reads
  (7-day estimation window, the day, the 24h horizon and one more day), and
* a *year* warehouse: 365 days of prices around the same day,

timing the read + compute (:func:`compute_day`) and the full publish
(:func:`link_day`: Great Expectations validation and the Parquet write).
Run costs must be near-equal: a run reads only its partitions.

Second, the as-of join used (:class:`PriceBook`: one sort, one
``numpy.searchsorted``) against ``pandas.merge_asof`` on the same prices and
1,000,000 random (asset, time) queries, checking they return identical prices.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

N_ASSETS = 250
N_ARTICLES = 100
YEAR_DAYS = 365
DAY = "2026-06-15"
REPEATS = 3
JOIN_QUERIES = 1_000_000
STEP_S = 300
RESULTS = Path(__file__).resolve().parent / "results" / "bench_linking.json"


def _assets() -> list[str]:
    return ["bitcoin"] + [f"coin-{i:03d}" for i in range(1, N_ASSETS)]


def _write_price_days(root: str, days: list[date]) -> int:
    """One 5-minute partition per day, published through the warehouse API as a day's run would."""
    import pyarrow as pa

    from newsmarkets.intervals import Interval
    from newsmarkets.warehouse.writer import Warehouse

    assets = _assets()
    n = len(assets)
    supply = np.random.default_rng(0).uniform(1e6, 1e9, n)
    supply[0] = 2e7
    rows = 0
    for day in days:
        rng = np.random.default_rng([1, day.toordinal()])
        start = int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp())
        steps = 86_400 // STEP_S
        # A price level that depends on the day only, so any subset of days is consistent.
        level = 100.0 * np.exp(np.sin(day.toordinal() / 30 + np.arange(n)) * 0.2)
        walk = np.exp(np.cumsum(rng.normal(0, 0.002, (n, steps)), axis=1))
        price = (level[:, None] * walk).ravel()
        ts = np.tile((start + STEP_S * np.arange(steps)) * 1_000_000, n)
        observed = pa.array(ts, pa.timestamp("us", tz="UTC"))
        ids = np.repeat(np.array(assets, dtype=object), steps)
        table = pa.table({
            "asset_id": pa.array(ids, pa.string()),
            "symbol": pa.array(ids, pa.string()),
            "name": pa.array(ids, pa.string()),
            "price_usd": pa.array(price),
            "market_cap_usd": pa.array(price * np.repeat(supply, steps)),
            "volume_24h_usd": pa.nulls(len(price), pa.float64()),
            "change_24h_pct": pa.nulls(len(price), pa.float64()),
            "observed_at": observed,
            "snapshot_at": observed,
            "source": pa.array(["markets"] * len(price), pa.string()),
            "ingested_at": observed,
        })
        rows += Warehouse.from_config(_config(root)).write("price_snapshots", table, Interval.for_day(day)).rows_written
    return rows


def _write_news(wh) -> None:
    from newsmarkets.intervals import Interval

    rng = np.random.default_rng(5)
    start = pd.Timestamp(DAY, tz="UTC")
    published = start + pd.to_timedelta(np.sort(rng.integers(0, 24 * 60, N_ARTICLES)), unit="m")
    ids = [f"art-{i:03d}" for i in range(N_ARTICLES)]
    # every fifth article is a syndicated copy of the one before it
    stories = [ids[i - 1] if i % 5 == 4 else ids[i] for i in range(N_ARTICLES)]
    articles = pd.DataFrame({
        "article_id": ids, "url": [f"https://x.example/{a}" for a in ids],
        "canonical_url": [f"https://x.example/{a}" for a in ids], "source": "x", "title": "A headline",
        "authors": [["A"]] * N_ARTICLES, "published_at": published, "published_at_source": "meta",
        "updated_at": pd.Series([pd.NaT] * N_ARTICLES, dtype="datetime64[us, UTC]"), "language": "en",
        "section": None, "body": "words " * 100, "word_count": 100, "content_hash": ids, "story_id": stories,
        "is_original": [i % 5 != 4 for i in range(N_ARTICLES)], "fetched_at": published + pd.Timedelta(hours=1),
    })
    wh.write("articles", articles, Interval.for_day(DAY))
    assets = _assets()
    links = [(a, assets[int(j)]) for a, k in zip(ids, rng.integers(0, 3, N_ARTICLES))
             for j in rng.choice(50, k, replace=False)]
    frame = pd.DataFrame(links, columns=["article_id", "asset_id"])
    frame = frame.merge(articles[["article_id", "published_at"]], on="article_id")
    frame = frame.assign(mentions=1, in_title=False, matched_terms=[["x"]] * len(frame))
    wh.write("article_assets", frame, Interval.for_day(DAY))


def _config(root: str):
    from newsmarkets.config import parse_config

    return parse_config({
        "warehouse": root,
        "prices": {"provider": "coingecko", "base_url": "http://127.0.0.1:9/api/v3", "assets": _assets()},
    })


def _time_linking(root: str) -> dict:
    from newsmarkets.moves.pipeline import compute_day, link_day
    from newsmarkets.warehouse.writer import Warehouse

    cfg = _config(root)
    wh = Warehouse.from_config(cfg)
    now = datetime.now(timezone.utc)
    compute_day(cfg, wh, DAY, computed_at=now)  # warm caches and imports
    computes, stats = [], None
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        rows, moves, stats = compute_day(cfg, wh, DAY, computed_at=now)
        computes.append(time.perf_counter() - t0)
    link_day(cfg, DAY, "bench-warm", wh=wh)  # the first validation builds GX's context
    publishes = []
    for i in range(REPEATS):
        t0 = time.perf_counter()
        out = link_day(cfg, DAY, f"bench-{i}", wh=wh)
        publishes.append(time.perf_counter() - t0)
    return {
        "price_partitions_in_warehouse": len(wh.partitions("price_snapshots")),
        "price_rows_read": stats["price_rows_read"],
        "partitions_read": stats["partitions_read"],
        "originals": stats["originals"],
        "news_market_moves_rows": out["news_market_moves"],
        "market_moves_rows": out["market_moves"],
        "read_compute_s": round(statistics.median(computes), 3),
        "read_s": stats["read_s"],
        "compute_s": stats["compute_s"],
        "link_day_s": round(statistics.median(publishes), 3),
    }


def _time_join(root: str) -> dict:
    from newsmarkets.moves.pipeline import input_partitions
    from newsmarkets.moves.prices import PriceBook, merge_asof_baseline, to_us
    from newsmarkets.warehouse.writer import Warehouse

    cfg = _config(root)
    wh = Warehouse.from_config(cfg)
    prices = wh.read("price_snapshots", dts=input_partitions(cfg, DAY)["price_snapshots"],
                     columns=["asset_id", "observed_at", "price_usd", "market_cap_usd", "source"])
    rng = np.random.default_rng(9)
    lo, hi = prices["observed_at"].min(), prices["observed_at"].max()
    span_s = int((hi - lo).total_seconds())
    queries = pd.DataFrame({
        "asset_id": rng.choice(_assets(), JOIN_QUERIES),
        "at": lo - pd.Timedelta(minutes=10) + pd.to_timedelta(rng.integers(0, span_s + 600, JOIN_QUERIES), unit="s"),
    })
    t0 = time.perf_counter()
    book = PriceBook(prices)
    t1 = time.perf_counter()
    ours = book.asof(book.asset_codes(queries["asset_id"]), to_us(queries["at"]), 10**15).price
    t2 = time.perf_counter()
    baseline = merge_asof_baseline(prices, queries).to_numpy(dtype=float)
    t3 = time.perf_counter()
    same = bool(np.array_equal(np.isnan(ours), np.isnan(baseline))
                and np.array_equal(ours[~np.isnan(ours)], baseline[~np.isnan(baseline)]))
    return {
        "price_rows": len(prices),
        "queries": JOIN_QUERIES,
        "pricebook_build_s": round(t1 - t0, 3),
        "pricebook_lookup_s": round(t2 - t1, 3),
        "pricebook_total_s": round(t2 - t0, 3),
        "merge_asof_s": round(t3 - t2, 3),
        "speedup": round((t3 - t2) / (t2 - t0), 1),
        "identical_prices": same,
    }


def run() -> dict:
    from newsmarkets.moves.pipeline import input_partitions
    from newsmarkets.quality.gate import load_gx
    from newsmarkets.warehouse.writer import Warehouse

    load_gx()
    day = date.fromisoformat(DAY)
    needed = [date.fromisoformat(d) for d in input_partitions(_config("/unused"), DAY)["price_snapshots"]]
    year = [day - timedelta(days=YEAR_DAYS // 2) + timedelta(days=i) for i in range(YEAR_DAYS)]
    out: dict = {"assets": N_ASSETS, "articles": N_ARTICLES, "day": DAY, "step_minutes": STEP_S // 60,
                 "repeats": REPEATS}
    with tempfile.TemporaryDirectory() as small, tempfile.TemporaryDirectory() as big:
        t0 = time.perf_counter()
        small_rows = _write_price_days(small, needed)
        big_rows = _write_price_days(big, year)
        out["generate_s"] = round(time.perf_counter() - t0, 1)
        for root in (small, big):
            _write_news(Warehouse.from_config(_config(root)))
        out["small"] = {"price_rows_in_warehouse": small_rows, **_time_linking(small)}
        out["year"] = {"price_rows_in_warehouse": big_rows, **_time_linking(big)}
        out["join"] = _time_join(small)
    out["year_vs_small"] = round(out["year"]["read_compute_s"] / out["small"]["read_compute_s"], 2)
    return out


def markdown(r: dict) -> str:
    s, y, j = r["small"], r["year"], r["join"]
    rows = [
        ("price days in the warehouse", s["price_partitions_in_warehouse"], y["price_partitions_in_warehouse"]),
        ("price rows in the warehouse", f"{s['price_rows_in_warehouse']:,}", f"{y['price_rows_in_warehouse']:,}"),
        ("price rows read", f"{s['price_rows_read']:,}", f"{y['price_rows_read']:,}"),
        ("read + compute (s, median)", s["read_compute_s"], y["read_compute_s"]),
        ("  of which read (s)", s["read_s"], y["read_s"]),
        ("whole day incl. GX validation and write (s, median)", s["link_day_s"], y["link_day_s"]),
        ("news_market_moves rows / market_moves rows", f"{s['news_market_moves_rows']} / {s['market_moves_rows']}",
         f"{y['news_market_moves_rows']} / {y['market_moves_rows']}"),
    ]
    return "\n".join([
        f"{r['assets']} assets with synthetic {r['step_minutes']}-minute prices; {r['articles']} articles "
        f"({s['originals']} story originals) on {r['day']}, linked at 4 horizons; median of {r['repeats']} warm runs.",
        "",
        "| | warehouse: the 11 days one day reads | warehouse: one year |",
        "|---|---:|---:|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
        "",
        f"Year vs. small read + compute: **{r['year_vs_small']}×** (the run reads only its partitions).",
        "",
        f"As-of join on the same {j['price_rows']:,} price rows and {j['queries']:,} random (asset, time) queries:",
        "",
        "| join | seconds |",
        "|---|---:|",
        f"| `PriceBook` (sort once + one `numpy.searchsorted`) | {j['pricebook_total_s']} "
        f"(build {j['pricebook_build_s']}, lookup {j['pricebook_lookup_s']}) |",
        f"| `pandas.merge_asof` (by asset) | {j['merge_asof_s']} |",
        "",
        f"Speed-up **{j['speedup']}×**; identical prices: **{'yes' if j['identical_prices'] else 'NO'}**.",
    ])


if __name__ == "__main__":
    result = run()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(result))
    sys.exit(0 if result["join"]["identical_prices"] else 1)
