"""One snapshot batch of 250 assets: HTTP response → committed Parquet, split by stage.

Runs the same functions the `prices_snapshot` DAG runs (client, transform,
Great Expectations gate, warehouse writer) against the replay server on
127.0.0.1, so only Airflow's own scheduling overhead is left out.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone

N_ASSETS = 250
REPEATS = 5


def run() -> dict:
    t_import = time.perf_counter()
    from newsmarkets.quality.gate import load_gx

    load_gx()
    gx_import_s = time.perf_counter() - t_import

    from newsmarkets.config import HttpConfig, PricesConfig
    from newsmarkets.intervals import Interval
    from newsmarkets.prices.coingecko import CoinGeckoClient
    from newsmarkets.prices.transform import markets_to_frame
    from newsmarkets.quality.gate import _record, validate_frame
    from newsmarkets.quality.suites import price_snapshots_suite
    from newsmarkets.replay.server import ReplayServer
    from newsmarkets.replay.world import MarketWorld
    from newsmarkets.warehouse.writer import Warehouse

    world = MarketWorld.generate("2026-01-05", 1, 7, n_assets=N_ASSETS)
    ids = [a["id"] for a in world.assets]
    end = datetime(2026, 1, 6, tzinfo=timezone.utc)
    stages: dict[str, list[float]] = {"fetch": [], "parse": [], "validate": [], "write": [], "total": []}
    first_validate_s = None
    with ReplayServer(world, now=end) as server, tempfile.TemporaryDirectory() as tmp:
        cfg = PricesConfig(provider="coingecko", base_url=server.base_url, vs_currency="usd", assets=tuple(ids),
                           rate_limit_per_minute=100000, per_page=250)
        client = CoinGeckoClient(cfg, HttpConfig(allow_private_networks=True))
        wh = Warehouse(tmp)
        for i in range(REPEATS + 1):
            interval = Interval(end - timedelta(minutes=5), end)
            t0 = time.perf_counter()
            records = client.markets(ids)
            t1 = time.perf_counter()
            frame = markets_to_frame(records, snapshot_at=interval.end, ingested_at=datetime.now(timezone.utc))
            t2 = time.perf_counter()
            suite = price_snapshots_suite(interval=interval, expected_assets=len(ids),
                                          tolerance=timedelta(minutes=15), source="markets")
            outcome = validate_frame("price_snapshots", frame, suite, interval=interval, run_id=f"bench-{i}")
            assert outcome.success, [r.describe() for r in outcome.failed_critical]
            t3 = time.perf_counter()
            wh.write("price_snapshots", frame, interval)
            _record(wh, outcome, is_published=True)
            t4 = time.perf_counter()
            if i == 0:  # the first validation builds GX's context and suite objects
                first_validate_s = t3 - t2
                continue
            for k, v in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0)):
                stages[k].append(v)
        rows = len(frame)
    med = {k: statistics.median(v) for k, v in stages.items()}
    return {
        "assets": N_ASSETS,
        "rows": rows,
        "median_s": {k: round(v, 4) for k, v in med.items()},
        "gx_share_pct": round(100 * med["validate"] / med["total"], 1),
        "first_validation_s": round(first_validate_s, 3),
        "gx_import_s": round(gx_import_s, 2),
        "repeats": REPEATS,
    }


def markdown(r: dict) -> str:
    m = r["median_s"]
    return "\n".join([
        f"{r['assets']} assets, {r['rows']} rows; median of {r['repeats']} warm batches.",
        "",
        "| stage | seconds | share |",
        "|---|---:|---:|",
        *[f"| {k} | {m[k]:.4f} | {100 * m[k] / m['total']:.1f} % |" for k in ("fetch", "parse", "validate", "write")],
        f"| **total** | **{m['total']:.4f}** | 100 % |",
        "",
        f"Great Expectations' share of a warm batch: **{r['gx_share_pct']} %**. Cold costs paid once per task "
        f"process: importing GX {r['gx_import_s']} s, first validation (context + suite build) {r['first_validation_s']} s.",
    ])


if __name__ == "__main__":
    print(markdown(run()))
