"""The functions the price DAGs call, against the real replay server and a real warehouse.

The same paths run through Airflow in tests/e2e; here they run in-process so
failures point at the pipeline, not the orchestration.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pandas as pd
import pytest

from newsmarkets.config import load_config
from newsmarkets.intervals import Interval
from newsmarkets.prices.pipeline import fetch_history, fetch_snapshot, publish_prices
from newsmarkets.warehouse.catalog import refresh_for_config
from newsmarkets.quality.gate import QualityGateError
from newsmarkets.replay.server import ReplayServer
from newsmarkets.replay.world import MarketWorld
from newsmarkets.warehouse.writer import Warehouse

START = "2026-01-05"


@pytest.fixture(scope="module")
def world():
    return MarketWorld.generate(START, 3, 20260105)


@pytest.fixture()
def server(world):
    with ReplayServer(world) as srv:
        yield srv


@pytest.fixture()
def cfg(server, tmp_path):
    base = load_config()
    prices = replace(base.prices, base_url=server.base_url, backoff_base_s=0.05, max_backoff_s=1.0)
    return replace(base, warehouse=str(tmp_path / "wh"), prices=prices)


def _history_day(cfg, day: str, run_id: str = "run-1") -> dict:
    interval = Interval.for_day(day)
    staged = fetch_history(cfg, interval, run_id)
    return {**staged, **publish_prices(cfg, interval, run_id, staged)}


def test_history_day_published_with_gaps_and_dq(cfg, world):
    out = _history_day(cfg, "2026-01-06")
    wh = Warehouse.from_config(cfg)
    prices = wh.read("price_snapshots")
    # The world's own gap (cardano, one hour on day 2) is recorded, not hidden.
    truth = [g for g in world.gaps if g["start_at"].startswith("2026-01-06") and g["asset_id"] in cfg.prices.assets]
    missing_hours = sum(
        len(pd.date_range(g["start_at"], g["end_at"], freq="h", inclusive="left")) for g in truth)
    # A past day comes hourly.
    assert out["rows"] == len(prices) == 24 * len(cfg.prices.assets) - missing_hours
    assert prices["dt"].unique().tolist() == ["2026-01-06"]
    gaps = wh.read("price_gaps")
    assert truth and sorted(gaps["asset_id"]) == sorted(g["asset_id"] for g in truth)
    dq = wh.read("dq_results")
    assert set(dq["table_name"]) == {"price_snapshots", "price_gaps"} and dq["is_published"].all()


def test_last_day_comes_in_five_minute_points(cfg):
    out = _history_day(cfg, "2026-01-07")
    assert out["step_minutes"] == 5
    assert out["rows"] > 24 * 12 * len(cfg.prices.assets) * 0.9


def test_rerun_of_a_day_is_idempotent(cfg):
    _history_day(cfg, "2026-01-06", "run-1")
    wh = Warehouse.from_config(cfg)
    first = wh.read("price_snapshots").drop(columns=["ingested_at"])
    _history_day(cfg, "2026-01-06", "run-2")
    second = wh.read("price_snapshots").drop(columns=["ingested_at"])
    assert first.sort_values(["asset_id", "observed_at"]).reset_index(drop=True).equals(
        second.sort_values(["asset_id", "observed_at"]).reset_index(drop=True))
    # dq_results keeps both runs' outcomes.
    assert set(wh.read("dq_results")["run_id"]) == {"run-1", "run-2"}


def test_snapshot_at_the_replay_clock(cfg, server):
    end = server.now
    interval = Interval(end - timedelta(minutes=5), end)
    staged = fetch_snapshot(cfg, interval, "snap-1")
    out = publish_prices(cfg, interval, "snap-1", staged)
    assert out["rows"] == len(cfg.prices.assets)
    counts = refresh_for_config(cfg)
    assert counts["price_snapshots"] == len(cfg.prices.assets)


def test_negative_price_is_quarantined_and_table_untouched(cfg, server):
    end = server.now
    interval = Interval(end - timedelta(minutes=5), end)
    publish_prices(cfg, interval, "good", fetch_snapshot(cfg, interval, "good"))
    wh = Warehouse.from_config(cfg)
    before = wh.read("price_snapshots")
    server.set_faults({"negative_prices": {"count": 5, "asset_ids": ["bitcoin"]}})
    staged = fetch_snapshot(cfg, interval, "bad")
    with pytest.raises(QualityGateError) as err:
        publish_prices(cfg, interval, "bad", staged)
    assert "price_usd" in str(err.value)
    assert wh.read("price_snapshots").equals(before)
    assert list((tmp := __import__("pathlib").Path(cfg.warehouse) / "_quarantine" / "price_snapshots").rglob("validation.json")), tmp
    dq = wh.read("dq_results")
    bad = dq[dq["run_id"] == "bad"]
    assert not bad["is_published"].any() and not bad["success"].all()


def test_transient_429_and_5xx_are_retried_within_the_task(cfg, server):
    end = server.now
    interval = Interval(end - timedelta(minutes=5), end)
    server.set_faults({"rate_limit": {"count": 1, "retry_after": 1}, "server_error": {"count": 2, "status": 502}})
    staged = fetch_snapshot(cfg, interval, "retry")
    assert staged["rows"] == len(cfg.prices.assets)
    assert staged["fetch_s"] >= 1.0  # Retry-After honoured
    statuses = [status for _, _, status in server.request_log]
    assert statuses.count(429) == 1 and statuses.count(502) == 2


def test_rerun_while_one_coins_history_answers_503_keeps_its_published_rows(cfg, server):
    _history_day(cfg, "2026-01-06", "run-1")
    wh = Warehouse.from_config(cfg)
    before = wh.read("price_snapshots").drop(columns=["ingested_at"]).sort_values(["asset_id", "observed_at"])
    ethereum_rows = int((before["asset_id"] == "ethereum").sum())
    server.set_faults({"server_error": {"count": 1000, "status": 503, "path_prefix": "/coins/ethereum/market_chart"}})
    out = _history_day(cfg, "2026-01-06", "run-2")
    server.set_faults([])
    assert out["failed_assets"] == ["ethereum"] and "ethereum" not in out["refreshed_assets"]
    assert (out["rows_kept"], out["rows_removed"], out["assets_kept"]) == (ethereum_rows, 0, ["ethereum"])
    after = wh.read("price_snapshots").drop(columns=["ingested_at"]).sort_values(["asset_id", "observed_at"])
    assert after.reset_index(drop=True).equals(before.reset_index(drop=True))
    gaps = wh.read("price_gaps")
    assert gaps[gaps["asset_id"] == "ethereum"]["reason"].tolist() == ["refresh_failed"]
    assert set(gaps[gaps["run_id"] == "run-2"]["asset_id"]) >= {"ethereum"}


def test_most_coins_failing_fails_the_fetch_and_stages_nothing(cfg, server):
    from newsmarkets.quality.thin_batch import ThinBatchError

    _history_day(cfg, "2026-01-06", "run-1")
    wh = Warehouse.from_config(cfg)
    before = wh.read("price_snapshots")
    assets = list(cfg.prices.assets)
    failing = assets[: len(assets) // 2 + 1]
    server.set_faults([{"kind": "server_error", "count": 1000, "status": 503, "path_prefix": f"/coins/{a}/market_chart"}
                       for a in failing])
    with pytest.raises(ThinBatchError, match=f"{len(failing)} of {len(assets)} fetches failed"):
        fetch_history(cfg, Interval.for_day("2026-01-06"), "run-thin")
    server.set_faults([])
    assert wh.read("price_snapshots").equals(before)
    assert not list((__import__("pathlib").Path(cfg.warehouse) / "_staging").rglob("run-thin*"))
