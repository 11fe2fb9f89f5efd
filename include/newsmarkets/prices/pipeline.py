"""The price batches DAG tasks run: fetch to staging, then validate and publish.

Each function takes the run's data interval and returns small metadata
(paths, counts, timings) for XCom. Fetching stages the raw batch so a retry of
the publish step never calls the provider again, and so what was validated is
exactly what was fetched.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pandas as pd

from newsmarkets.config import Config
from newsmarkets.intervals import Interval

log = logging.getLogger("newsmarkets.prices")

SNAPSHOTS = "price_snapshots"
GAPS = "price_gaps"


def _now() -> datetime:
    # Only for ingested_at (when we wrote it); never for paths or windows.
    return datetime.now(timezone.utc)


def _warehouse(cfg: Config):
    from newsmarkets.warehouse.writer import Warehouse

    return Warehouse.from_config(cfg)


def fetch_snapshot(cfg: Config, interval: Interval, run_id: str) -> dict:
    """Fetch the current markets snapshot for the configured assets and stage it."""
    from newsmarkets.prices.provider import make_provider
    from newsmarkets.prices.transform import markets_to_frame

    from newsmarkets.prices.servable import check_snapshot_answer

    started = time.perf_counter()
    provider = make_provider(cfg.prices, cfg.http)
    records = provider.markets(list(cfg.prices.assets))
    fetched = time.perf_counter()
    frame = markets_to_frame(records, snapshot_at=interval.end, ingested_at=_now())
    check_snapshot_answer(interval, frame["observed_at"],
                          tolerance=timedelta(minutes=cfg.quality.observed_at_tolerance_minutes))
    path = _warehouse(cfg).stage(SNAPSHOTS, frame, interval, run_id)
    log.info("staged %d snapshot rows for %d assets at %s", len(frame), len(cfg.prices.assets), path)
    return {
        "staged": path,
        "rows": len(frame),
        "fetch_s": round(fetched - started, 3),
        "stage_s": round(time.perf_counter() - fetched, 3),
    }


def _chart_step(frame: pd.DataFrame) -> timedelta:
    """The granularity the provider chose (5 min near now, hourly further back)."""
    if len(frame) < 2:
        return timedelta(hours=1)
    diffs = frame.sort_values("observed_at").groupby("asset_id")["observed_at"].diff().dropna()
    if diffs.empty:
        return timedelta(hours=1)
    return pd.Timedelta(diffs.median()).to_pytimedelta()


def fetch_history(cfg: Config, interval: Interval, run_id: str, *, max_workers: int = 4) -> dict:
    """Fetch market_chart/range for every asset over the interval; stage points and gaps."""
    from newsmarkets.prices.provider import ProviderError, make_provider
    from newsmarkets.prices.transform import find_gaps, market_chart_to_frame
    from newsmarkets.quality.thin_batch import check_failed_share

    from newsmarkets.prices.servable import check_history_answers, check_history_interval

    started = time.perf_counter()
    provider = make_provider(cfg.prices, cfg.http)
    check_history_interval(interval, provider=provider.name, history_start=provider.history_start, now=_now())
    coins = {c["id"]: c for c in provider.list_assets() if c.get("id") in set(cfg.prices.assets)}
    unknown = [a for a in cfg.prices.assets if a not in coins]
    if unknown:
        log.warning("provider does not list %s; recorded as gaps", ", ".join(unknown))
    ingested_at = _now()

    def one(asset_id: str) -> tuple[str, pd.DataFrame | None, str | None]:
        try:
            payload = provider.market_chart_range(asset_id, interval.start, interval.end)
        except ProviderError as exc:
            # One asset failing must not hide the others; the gap row says why.
            log.error("history for %s failed: %s", asset_id, exc)
            return asset_id, None, str(exc)
        frame = market_chart_to_frame(
            coins[asset_id], payload, interval=interval, snapshot_at=interval.end, ingested_at=ingested_at
        )
        return asset_id, frame, None

    # The client's rate limiter is shared, so threads only overlap network waits.
    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        results = list(pool.map(one, [a for a in cfg.prices.assets if a in coins]))
    frames = [f for _, f, _ in results if f is not None and len(f)]
    failed = {a: err for a, _, err in results if err is not None}
    # Only an answer replaces an asset's published rows (an empty one removes them): see publish_prices.
    refreshed = sorted(a for a, f, _ in results if f is not None)
    # Most assets failing is an outage: fail so Airflow retries, before anything is staged.
    check_failed_share(f"prices_history {interval}", len(failed), len(results), cfg.quality.max_failed_fetch_share)
    check_history_answers(interval, {a: len(f) for a, f, _ in results if f is not None}, provider=provider.name)
    empty_cols = None
    points = pd.concat(frames, ignore_index=True) if frames else None
    if points is None:
        empty_cols = market_chart_to_frame(
            {"id": "x", "symbol": "x", "name": "x"}, {"prices": [], "market_caps": [], "total_volumes": []},
            interval=interval, snapshot_at=interval.end, ingested_at=ingested_at,
        )
        points = empty_cols
    fetched = time.perf_counter()

    step = _chart_step(points)
    gaps = find_gaps(points, list(cfg.prices.assets), interval, expected_step=step)
    if failed:
        gaps.loc[gaps["asset_id"].isin(list(failed)), "reason"] = "fetch_failed"
    gaps["run_id"] = run_id
    gaps["ingested_at"] = ingested_at
    wh = _warehouse(cfg)
    staged = wh.stage(SNAPSHOTS, points, interval, run_id)
    staged_gaps = wh.stage(GAPS, gaps, interval, run_id)
    log.info(
        "staged %d history points (step %s) and %d gap rows; %d assets failed",
        len(points), step, len(gaps), len(failed),
    )
    return {
        "staged": staged,
        "staged_gaps": staged_gaps,
        "rows": len(points),
        "gap_rows": len(gaps),
        "failed_assets": sorted(failed),
        "refreshed_assets": refreshed,
        "step_minutes": step.total_seconds() / 60,
        "fetch_s": round(fetched - started, 3),
    }


def _published_assets(wh, interval: Interval, assets: list[str]) -> set[str]:
    """Which of ``assets`` have published history points inside ``interval``."""
    if not assets:
        return set()
    days = pd.date_range(interval.start.date(), (interval.end - timedelta(microseconds=1)).date(), freq="D")
    rows = wh.read(SNAPSHOTS, dts=[d.strftime("%Y-%m-%d") for d in days], columns=["asset_id", "observed_at", "source"])
    inside = rows[(rows["observed_at"] >= interval.start) & (rows["observed_at"] < interval.end)
                  & (rows["source"] == "market_chart") & rows["asset_id"].isin(assets)]
    return set(inside["asset_id"])


def publish_prices(cfg: Config, interval: Interval, run_id: str, staged: dict) -> dict:
    """Validate the staged batch with its suite; publish it, or quarantine it and fail.

    History reruns replace only what they re-fetched: an asset's published
    points for the interval are replaced by a successful ``market_chart/range``
    answer for it (an answer without some points removes those, counted in
    ``rows_removed``); an asset whose fetch failed, or that the provider no
    longer lists, keeps its points, and its ``price_gaps`` row says
    ``refresh_failed``. Snapshots (one point per asset per run) are
    replaced whole, as they always were.
    """
    from newsmarkets.quality.gate import publish_if_valid
    from newsmarkets.quality.suites import price_gaps_suite, price_snapshots_suite
    from newsmarkets.warehouse.writer import Refreshed

    wh = _warehouse(cfg)
    started = time.perf_counter()
    frame = wh.load_staged(SNAPSHOTS, staged["staged"])
    source = "market_chart" if "staged_gaps" in staged else "markets"
    points_per_asset = 1 if source == "markets" else max(1, int(interval.duration / timedelta(minutes=5)))
    suite = price_snapshots_suite(
        interval=interval,
        expected_assets=len(cfg.prices.assets),
        tolerance=timedelta(minutes=cfg.quality.observed_at_tolerance_minutes),
        source=source,
        max_points_per_asset=points_per_asset,
    )
    out = {"table": SNAPSHOTS}
    if "staged_gaps" in staged:
        # Gaps first: a day with no points at all fails the snapshot suite, and
        # its gap rows are exactly what explains why.
        gaps = wh.load_staged(GAPS, staged["staged_gaps"])
        kept = _published_assets(wh, interval, staged.get("failed_assets", []))
        gaps.loc[gaps["asset_id"].isin(list(kept)) & (gaps["reason"] == "fetch_failed"), "reason"] = "refresh_failed"
        gap_result = publish_if_valid(wh, GAPS, gaps, interval, run_id, price_gaps_suite(interval=interval))
        out["gap_rows"] = gap_result.rows_written
        out["assets_kept"] = sorted(kept)
    refreshed = Refreshed.of("asset_id", staged["refreshed_assets"]) if "refreshed_assets" in staged else None
    result = publish_if_valid(wh, SNAPSHOTS, frame, interval, run_id, suite, refreshed=refreshed)
    out.update(rows=result.rows_written, warnings=result.warnings,
               rows_kept=result.rows_kept, rows_removed=result.rows_removed)
    out["publish_s"] = round(time.perf_counter() - started, 3)
    return out
