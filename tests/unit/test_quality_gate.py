"""The quality gate against a real warehouse in tmp_path: publish, quarantine, record.

Great Expectations runs for real; its import is paid once per test process.
"""

from __future__ import annotations

import json
import logging
import pickle
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from newsmarkets.intervals import Interval
from newsmarkets.quality.gate import QualityGateError, publish_if_valid, validate_frame
from newsmarkets.quality.suites import price_gaps_suite, price_snapshots_suite
from newsmarkets.warehouse.conform import SchemaError
from newsmarkets.warehouse.writer import Warehouse

HOUR = Interval(datetime(2026, 1, 5, 10, tzinfo=timezone.utc), datetime(2026, 1, 5, 11, tzinfo=timezone.utc))
TOLERANCE = timedelta(minutes=15)
TS = "datetime64[us, UTC]"
ASSETS = ["bitcoin", "ethereum", "solana", "ripple"]


def _ts(values) -> pd.Series:
    return pd.Series(pd.to_datetime(list(values), utc=True)).astype(TS)


def prices(assets=ASSETS, interval=HOUR, *, price=100.0) -> pd.DataFrame:
    """A clean markets batch typed like newsmarkets.prices.transform builds it."""
    n = len(assets)
    return pd.DataFrame(
        {
            "asset_id": pd.array(assets, dtype="string"),
            "symbol": pd.array([a[:4] for a in assets], dtype="string"),
            "name": pd.array([a.title() for a in assets], dtype="string"),
            "price_usd": pd.array([price + i for i in range(n)], dtype="Float64"),
            "market_cap_usd": pd.array([1e9] * n, dtype="Float64"),
            "volume_24h_usd": pd.array([1e6] * n, dtype="Float64"),
            "change_24h_pct": pd.array([2.5] * n, dtype="Float64"),
            "observed_at": _ts([interval.start + timedelta(seconds=7 * i) for i in range(n)]),
            "snapshot_at": _ts([interval.end] * n),
            "source": pd.array(["markets"] * n, dtype="string"),
            "ingested_at": _ts([interval.end + timedelta(seconds=3)] * n),
        }
    )


def suite(expected_assets=len(ASSETS), interval=HOUR):
    return price_snapshots_suite(
        interval=interval, expected_assets=expected_assets, tolerance=TOLERANCE, source="markets"
    )


@pytest.fixture
def wh(tmp_path) -> Warehouse:
    return Warehouse(str(tmp_path / "warehouse"))


def dq(wh: Warehouse, **where) -> pd.DataFrame:
    rows = wh.read("dq_results")
    for column, value in where.items():
        rows = rows[rows[column] == value]
    return rows.reset_index(drop=True)


def test_clean_batch_is_published_and_every_expectation_recorded(wh):
    s = suite()
    result = publish_if_valid(wh, "price_snapshots", prices(), HOUR, "run-1", s)

    assert result.rows_written == len(ASSETS) and result.warnings == []
    assert result.table_version == wh.table_version("price_snapshots") == 1  # created, then this batch's commit
    back = wh.read("price_snapshots")
    assert sorted(back["asset_id"]) == sorted(ASSETS)
    assert list(back.sort_values("asset_id")["price_usd"]) == [100.0, 101.0, 103.0, 102.0]

    records = dq(wh)
    assert len(records) == len(s.expectations)
    assert records["expectation"].is_unique
    assert set(records["table_name"]) == {"price_snapshots"} and set(records["run_id"]) == {"run-1"}
    assert records["success"].all() and records["is_published"].all()
    assert set(records["row_count"]) == {len(ASSETS)}
    assert set(records["dt"]) == {"2026-01-05"}
    price_rule = records[records["expectation"] == "expect_column_values_to_be_between(price_usd)"].iloc[0]
    assert price_rule["severity"] == "critical" and price_rule["unexpected_count"] == 0
    assert json.loads(price_rule["observed_value"])["element_count"] == len(ASSETS)


def test_failing_batch_is_quarantined_and_the_table_untouched(wh):
    publish_if_valid(wh, "price_snapshots", prices(), HOUR, "run-1", suite())
    before = wh.read("price_snapshots")

    bad = prices(price=50.0)
    bad.loc[1, "price_usd"] = -4.0
    bad.loc[2, "symbol"] = "SOL"
    with pytest.raises(QualityGateError) as caught:
        publish_if_valid(wh, "price_snapshots", bad, HOUR, "run-2", suite())
    error = caught.value

    # The rerun of the same interval did not replace the good file.
    pd.testing.assert_frame_equal(wh.read("price_snapshots"), before)

    message = str(error)
    assert "2 critical expectation(s)" in message
    assert "expect_column_values_to_be_between(price_usd) on price_usd: 1 unexpected value(s), e.g. [-4.0]" in message
    assert 'expect_column_values_to_match_regex(symbol) on symbol: 1 unexpected value(s), e.g. ["SOL"]' in message
    assert error.quarantine_path in message
    assert pickle.loads(pickle.dumps(error)).quarantine_path == error.quarantine_path

    folder = Path(error.quarantine_path)
    assert folder.parts[-4:] == ("_quarantine", "price_snapshots", HOUR.key, "run-2")
    report = json.loads((folder / "validation.json").read_text())
    assert report["success"] is False and report["run_id"] == "run-2"
    assert sorted(report["failed_critical"]) == [
        "expect_column_values_to_be_between(price_usd)",
        "expect_column_values_to_match_regex(symbol)",
    ]
    assert report["great_expectations"]["success"] is False
    kept = pd.read_parquet(folder / "data.parquet")
    assert list(kept["price_usd"]) == [50.0, -4.0, 52.0, 53.0]

    # dq_results keeps both runs: the good one published, the bad one not.
    n = len(suite().expectations)
    first, second = dq(wh, run_id="run-1"), dq(wh, run_id="run-2")
    assert len(first) == len(second) == n
    assert first["is_published"].all() and not second["is_published"].any()
    assert set(second.loc[~second["success"], "expectation"]) == set(report["failed_critical"])


def test_warnings_are_recorded_and_logged_but_do_not_block(wh, caplog):
    caplog.set_level(logging.WARNING, logger="newsmarkets.quality")
    batch = prices(ASSETS[:3])
    batch.loc[0, "market_cap_usd"] = -1.0
    result = publish_if_valid(wh, "price_snapshots", batch, HOUR, "run-1", suite())

    assert result.rows_written == 3
    assert len(result.warnings) == 2
    assert any(w.startswith("expect_table_row_count_to_be_between(all_expected_assets): observed 3") for w in result.warnings)
    json.dumps(result.warnings)  # goes to XCom as is
    logged = [r.getMessage() for r in caplog.records if r.name == "newsmarkets.quality"]
    assert any("expect_column_values_to_be_between(market_cap_usd)" in m for m in logged)

    records = dq(wh)
    failed = records[~records["success"]]
    assert set(failed["severity"]) == {"warning"}
    assert set(failed["expectation"]) == {
        "expect_table_row_count_to_be_between(all_expected_assets)",
        "expect_column_values_to_be_between(market_cap_usd)",
    }
    assert records["is_published"].all()


def test_results_of_other_tables_and_runs_accumulate_and_a_retry_replaces_its_own(wh):
    gaps = pd.DataFrame(
        {
            "asset_id": pd.array(["near"], dtype="string"),
            "gap_start_at": _ts([HOUR.start]),
            "gap_end_at": _ts([HOUR.end]),
            "expected_points": pd.array([12], dtype="int64"),
            "received_points": pd.array([0], dtype="int64"),
            "reason": pd.array(["no_data"], dtype="string"),
            "source": pd.array(["markets"], dtype="string"),
            "run_id": pd.array(["run-1"], dtype="string"),
            "ingested_at": _ts([HOUR.end]),
        }
    )
    s, g = suite(), price_gaps_suite(interval=HOUR)
    publish_if_valid(wh, "price_snapshots", prices(), HOUR, "run-1", s)
    publish_if_valid(wh, "price_gaps", gaps, HOUR, "run-1", g)
    publish_if_valid(wh, "price_snapshots", prices(), HOUR, "run-1", s)  # Airflow retry of the same run
    publish_if_valid(wh, "price_snapshots", prices(), HOUR, "run-2", s)  # a later rerun
    next_hour = Interval(HOUR.end, HOUR.end + timedelta(hours=1))
    publish_if_valid(wh, "price_snapshots", prices(interval=next_hour), next_hour, "run-3", suite(interval=next_hour))

    counts = dq(wh).groupby(["table_name", "run_id"]).size().to_dict()
    n, m = len(s.expectations), len(g.expectations)
    assert counts == {("price_gaps", "run-1"): m, ("price_snapshots", "run-1"): n,
                      ("price_snapshots", "run-2"): n, ("price_snapshots", "run-3"): n}
    assert len(wh.read("price_gaps")) == 1


def test_dq_results_are_queryable_in_the_catalog(wh, tmp_path):
    catalog = tmp_path / "warehouse.duckdb"
    bad = prices()
    bad.loc[0, "price_usd"] = None
    with pytest.raises(QualityGateError, match=r"expect_column_values_to_not_be_null\(price_usd\)"):
        publish_if_valid(wh, "price_snapshots", bad, HOUR, "run-9", suite(), catalog_path=str(catalog))
    with duckdb.connect(str(catalog), read_only=True) as con:
        rows = con.execute(
            "SELECT expectation, severity, is_published FROM dq_results WHERE run_id = 'run-9' AND NOT success"
        ).fetchall()
        published = con.execute("SELECT count(*) FROM price_snapshots").fetchone()[0]
    assert rows == [("expect_column_values_to_not_be_null(price_usd)", "critical", False)]
    assert published == 0


def test_writer_refusal_after_a_passing_gate_is_recorded_as_unpublished(wh):
    batch = prices().assign(exchange="binance")  # GX ignores unknown columns; the writer does not
    with pytest.raises(SchemaError, match="exchange"):
        publish_if_valid(wh, "price_snapshots", batch, HOUR, "run-1", suite())
    records = dq(wh)
    assert len(records) and records["success"].all() and not records["is_published"].any()
    assert wh.read("price_snapshots").empty


def test_staged_batch_round_trip_validates_like_the_fresh_frame(wh):
    # What the publish task validates comes back from staging with plain dtypes; same verdicts.
    staged = wh.load_staged("price_snapshots", wh.stage("price_snapshots", prices(), HOUR, "run-1"))
    assert validate_frame("price_snapshots", staged, suite()).success
    staged.loc[0, "price_usd"] = float("nan")
    outcome = validate_frame("price_snapshots", staged, suite())
    assert [r.expectation for r in outcome.failed_critical] == ["expect_column_values_to_not_be_null(price_usd)"]


def test_warm_validation_of_a_250_row_batch_is_fast():
    assets = [f"asset-{i:03d}" for i in range(250)]
    batch, s = prices(assets), suite(expected_assets=250)
    validate_frame("price_snapshots", batch, s)  # warm: context, metric code paths
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        outcome = validate_frame("price_snapshots", batch, s)
        timings.append(time.perf_counter() - started)
    assert outcome.success and outcome.row_count == 250
    print(f"warm validation of 250 rows x {len(s.expectations)} expectations: best {min(timings):.3f}s")
    assert min(timings) < 3.0


def test_dq_results_name_the_table_version_each_batch_published_and_restoring_it_brings_the_batch_back(tmp_path):
    from newsmarkets.warehouse.versions import restore

    wh = Warehouse(str(tmp_path / "delta"))
    publish_if_valid(wh, "price_snapshots", prices(), HOUR, "run-1", suite())
    first = wh.read("price_snapshots")
    bad = prices(price=50.0)
    bad.loc[1, "price_usd"] = -4.0
    with pytest.raises(QualityGateError):
        publish_if_valid(wh, "price_snapshots", bad, HOUR, "run-2", suite())
    publish_if_valid(wh, "price_snapshots", prices(price=7.0), HOUR, "run-3", suite())

    versions = {run: set(dq(wh, run_id=run)["table_version"].tolist()) for run in ("run-1", "run-2", "run-3")}
    assert versions["run-1"] == {1} and versions["run-3"] == {2}  # version 0 created the table
    assert all(pd.isna(v) for v in versions["run-2"])  # quarantined: published nothing
    restore(wh, "price_snapshots", version=versions["run-1"].pop())
    pd.testing.assert_frame_equal(wh.read("price_snapshots"), first)
