"""Publish and read times of the Delta Lake warehouse with one day vs one year of history.

Same API calls, same data, one run: publishing a 250-asset snapshot batch and
one news hour (2,000 articles a day from 20 sources, so ~83 an hour) into a
warehouse holding one day vs one year of history, reading a link day, and
refreshing the DuckDB catalog. The year is written a day per call (what
compaction leaves behind); the timed calls are the runs' own: a 5-minute
snapshot interval and a news hour.

The retired Parquet-file writer was measured side by side with Delta in one
run before it was deleted (commit ace1071); those numbers are kept below as
:data:`RETIRED_PARQUET` for comparison.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd

ASSETS = 250
ARTICLES_PER_DAY = 2000
SOURCES = 20
YEAR_DAYS = 365
REPEATS = 5
LAST_DAY = date(2026, 12, 31)
# The retired Parquet-file writer, measured in one run beside Delta at commit ace1071
# (`python bench/bench_warehouse_formats.py` there): history days -> seconds.
RETIRED_PARQUET = {
    1: {"snapshot_publish_s": 0.0237, "news_hour_publish_s": 0.03, "link_day_read_s": 0.0144, "catalog_refresh_s": 0.13,
        "delta_snapshot_publish_s": 0.0573, "delta_news_hour_publish_s": 0.0619},
    365: {"snapshot_publish_s": 0.0542, "news_hour_publish_s": 0.0407, "link_day_read_s": 0.0365,
          "catalog_refresh_s": 0.503, "delta_snapshot_publish_s": 0.0669, "delta_news_hour_publish_s": 0.0862},
}


def _snapshots(at: datetime, n: int = ASSETS) -> pd.DataFrame:
    ts = pd.Timestamp(at)
    rng = np.random.default_rng(int(ts.timestamp()))
    return pd.DataFrame({
        "asset_id": [f"coin-{i:03d}" for i in range(n)], "symbol": [f"c{i}" for i in range(n)],
        "name": [f"Coin {i}" for i in range(n)], "price_usd": rng.uniform(0.01, 1000, n),
        "market_cap_usd": rng.uniform(1e6, 1e12, n), "volume_24h_usd": rng.uniform(1e3, 1e9, n),
        "change_24h_pct": rng.normal(0, 3, n), "observed_at": [ts] * n, "snapshot_at": [ts] * n,
        "source": ["markets"] * n, "ingested_at": [ts] * n,
    })


def _articles(start: datetime, hours: int) -> pd.DataFrame:
    n = ARTICLES_PER_DAY * hours // 24
    base = pd.Timestamp(start)
    published = [base + pd.Timedelta(minutes=int(m)) for m in np.linspace(0, hours * 60 - 1, n)]
    ids = [f"{base:%Y%m%d%H}-{i:05d}" for i in range(n)]
    body = "Markets moved on the news. " * 60
    return pd.DataFrame({
        "article_id": ids, "url": [f"https://s{i % SOURCES}.example/{a}" for i, a in enumerate(ids)],
        "canonical_url": [f"https://s{i % SOURCES}.example/{a}" for i, a in enumerate(ids)],
        "source": [f"source-{i % SOURCES:02d}" for i in range(n)], "title": [f"Story {a}" for a in ids],
        "authors": [["A. Writer"]] * n, "published_at": published, "published_at_source": ["json-ld"] * n,
        "updated_at": [None] * n, "language": ["en"] * n, "section": ["markets"] * n, "body": [body] * n,
        "word_count": [300] * n, "content_hash": ids, "story_id": ids, "is_original": [True] * n,
        "fetched_at": published,
    })


def _median(fn, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _one(history_days: int, progress) -> dict:
    from newsmarkets.intervals import Interval
    from newsmarkets.warehouse.catalog import refresh_catalog
    from newsmarkets.warehouse.writer import Warehouse

    with tempfile.TemporaryDirectory() as tmp:
        wh = Warehouse(tmp)
        t0 = time.perf_counter()
        for k in range(history_days):
            day = LAST_DAY - timedelta(days=history_days - k)
            start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
            wh.write("price_snapshots", pd.concat([_snapshots(start + timedelta(hours=h)) for h in range(0, 24, 6)]),
                     Interval.for_day(day))
            wh.write("articles", _articles(start, 24), Interval.for_day(day))
            if k % 30 == 29:
                progress(f"{k + 1}/{history_days} days of history")
        build_s = time.perf_counter() - t0
        today = datetime(LAST_DAY.year, LAST_DAY.month, LAST_DAY.day, tzinfo=timezone.utc)
        minute = iter(range(10_000))

        def snapshot() -> None:
            at = today + timedelta(minutes=5 * next(minute))
            wh.write("price_snapshots", _snapshots(at), Interval(at - timedelta(minutes=5), at))

        hour = iter(range(10_000))

        def news_hour() -> None:
            start = today + timedelta(hours=next(hour) % 24)
            wh.write("articles", _articles(start, 1), Interval(start, start + timedelta(hours=1)))

        snapshot_s = _median(snapshot)
        news_s = _median(news_hour)
        read_day = LAST_DAY - timedelta(days=1)
        read_s = _median(lambda: (wh.read("price_snapshots", dts=[str(read_day)]),
                                  wh.read("articles", dts=[str(read_day)], columns=["article_id", "published_at", "title"])))
        catalog_s = _median(lambda: refresh_catalog(wh, f"{tmp}/c.duckdb"), 3)
        files = len(wh.files("price_snapshots")) + len(wh.files("articles"))
    return {"history_days": history_days, "build_s": round(build_s, 1),
            "snapshot_publish_s": round(snapshot_s, 4), "news_hour_publish_s": round(news_s, 4),
            "link_day_read_s": round(read_s, 4), "catalog_refresh_s": round(catalog_s, 3), "files": files}


def run(progress=lambda text: print(text, file=sys.stderr, flush=True)) -> dict:
    rows = []
    for history in (1, YEAR_DAYS):
        progress(f"{history} day(s) of history…")
        rows.append(_one(history, progress))
    return {"rows": rows, "assets": ASSETS, "articles_per_day": ARTICLES_PER_DAY, "repeats": REPEATS}


def markdown(r: dict) -> str:
    lines = [
        f"Median of {r['repeats']} calls each (catalog: 3). {r['assets']}-asset snapshot batch (a 5-minute interval); "
        f"one news hour of {r['articles_per_day'] // 24} articles ({r['articles_per_day']:,} a day, 20 sources); "
        "link-day read = one day of `price_snapshots` plus `articles` (3 columns). History written a day per call, "
        "as compaction leaves it.",
        "",
        "| history | snapshot publish s | news hour publish s | link-day read s | catalog refresh s | data files |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for row in r["rows"]:
        lines.append(f"| {_days(row['history_days'])} | {row['snapshot_publish_s']:.4f} | {row['news_hour_publish_s']:.4f} "
                     f"| {row['link_day_read_s']:.4f} | {row['catalog_refresh_s']:.3f} | {row['files']} |")
    lines += [
        "",
        "The retired Parquet-file writer (one file per partition and run interval, a lock file per table, no "
        "transaction log), measured in one run beside Delta at commit ace1071 before it was deleted:",
        "",
        "| history | Parquet snapshot publish s | Delta then | Parquet news hour publish s | Delta then "
        "| Parquet link-day read s | Parquet catalog refresh s |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for days, old in RETIRED_PARQUET.items():
        lines.append(f"| {_days(days)} | {old['snapshot_publish_s']:.4f} | {old['delta_snapshot_publish_s']:.4f} "
                     f"| {old['news_hour_publish_s']:.4f} | {old['delta_news_hour_publish_s']:.4f} "
                     f"| {old['link_day_read_s']:.4f} | {old['catalog_refresh_s']:.3f} |")
    return "\n".join(lines)


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


if __name__ == "__main__":
    import json
    from pathlib import Path

    result = run()
    out = Path(__file__).resolve().parent / "results" / "bench_warehouse_history.json"
    out.write_text(json.dumps(result, indent=2))
    print(markdown(result))
