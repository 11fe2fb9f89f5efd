"""Pure price transforms on tiny hand-written inputs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pyarrow as pa
import pytest

from newsmarkets.intervals import Interval
from newsmarkets.prices.provider import ProviderPayloadError
from newsmarkets.prices.transform import find_gaps, market_chart_to_frame, markets_to_frame
from newsmarkets.warehouse.schemas import PRICE_GAPS, PRICE_SNAPSHOTS

UTC = timezone.utc
SNAPSHOT_AT = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
INGESTED_AT = datetime(2026, 1, 5, 12, 1, 30, tzinfo=UTC)
DAY = Interval.for_day("2026-01-05")
DAY_MS = int(DAY.start.timestamp() * 1000)
HOUR_MS = 3_600_000


def market(**overrides) -> dict:
    record = {
        "id": "bitcoin",
        "symbol": "BTC",
        "name": "Bitcoin",
        "current_price": 97123.45,
        "market_cap": 1.9e12,
        "total_volume": 3.1e10,
        "price_change_percentage_24h": -1.25,
        "last_updated": "2026-01-05T11:59:58.123Z",
        "image": "ignored",
    }
    record.update(overrides)
    return record


def snapshots(records):
    return markets_to_frame(records, snapshot_at=SNAPSHOT_AT, ingested_at=INGESTED_AT)


def chart(payload, asset=None, interval=DAY):
    asset = asset or {"id": "ethereum", "symbol": "ETH", "name": "Ethereum"}
    return market_chart_to_frame(asset, payload, interval=interval, snapshot_at=SNAPSHOT_AT, ingested_at=INGESTED_AT)


# -- markets_to_frame -------------------------------------------------------------


def test_markets_frame_has_exactly_the_table_columns_and_types():
    frame = snapshots([market()])
    assert list(frame.columns) == [f.name for f in PRICE_SNAPSHOTS.schema]
    assert str(frame["observed_at"].dtype) == "datetime64[us, UTC]"
    assert str(frame["snapshot_at"].dtype) == "datetime64[us, UTC]"
    assert str(frame["ingested_at"].dtype) == "datetime64[us, UTC]"
    assert str(frame["price_usd"].dtype) == "Float64"
    row = frame.iloc[0]
    assert row["asset_id"] == "bitcoin" and row["symbol"] == "btc" and row["name"] == "Bitcoin"
    assert row["price_usd"] == 97123.45 and row["market_cap_usd"] == 1.9e12 and row["volume_24h_usd"] == 3.1e10
    assert row["change_24h_pct"] == -1.25
    assert row["observed_at"] == pd.Timestamp("2026-01-05T11:59:58.123Z")
    assert row["snapshot_at"] == pd.Timestamp(SNAPSHOT_AT) and row["ingested_at"] == pd.Timestamp(INGESTED_AT)
    assert row["source"] == "markets" and row["dt"] == "2026-01-05"
    # The writer can cast it to the published schema without inference.
    table = pa.Table.from_pandas(frame, schema=PRICE_SNAPSHOTS.schema, preserve_index=False)
    assert table.num_rows == 1


def test_markets_frame_keeps_tiny_prices_and_null_caps_exactly():
    frame = snapshots([market(id="shiba", current_price=1e-8, market_cap=None, total_volume=None, price_change_percentage_24h=None)])
    assert frame["price_usd"].iloc[0] == 1e-8
    assert frame["market_cap_usd"].isna().iloc[0] and frame["volume_24h_usd"].isna().iloc[0]
    assert frame["change_24h_pct"].isna().iloc[0]
    out = pa.Table.from_pandas(frame, schema=PRICE_SNAPSHOTS.schema, preserve_index=False).to_pylist()[0]
    assert out["price_usd"] == 1e-8 and out["market_cap_usd"] is None


def test_markets_frame_passes_bad_values_through_for_the_quality_gate():
    frame = snapshots([market(id="a", current_price=None), market(id="b", current_price=-3.5), market(id="c")])
    assert len(frame) == 3
    assert frame["price_usd"].isna().tolist() == [True, False, False]
    assert frame["price_usd"].iloc[1] == -3.5


def test_markets_frame_dt_is_the_utc_date_of_observed_at():
    frame = snapshots([market(last_updated="2026-01-05T23:30:00-02:00")])  # 01:30 next day in UTC
    assert frame["observed_at"].iloc[0] == pd.Timestamp("2026-01-06T01:30:00Z")
    assert frame["dt"].iloc[0] == "2026-01-06"


def test_markets_frame_refuses_structurally_broken_records():
    with pytest.raises(ProviderPayloadError, match=r"record \[1\] has no usable 'id'"):
        snapshots([market(), market(id=None)])
    with pytest.raises(ProviderPayloadError, match=r"asset 'solana' field 'last_updated' is 'yesterday'"):
        snapshots([market(id="solana", last_updated="yesterday")])
    with pytest.raises(ProviderPayloadError, match=r"asset 'solana' field 'last_updated' is None"):
        snapshots([market(id="solana", last_updated=None)])
    with pytest.raises(ProviderPayloadError, match=r"'solana' field 'last_updated'"):
        snapshots([market(id="solana", last_updated="2026-01-05T12:00:00")])  # no zone: refuse to guess
    with pytest.raises(ProviderPayloadError, match=r"asset 'solana' field 'current_price' is '12.5'"):
        snapshots([market(id="solana", current_price="12.5")])


def test_markets_frame_refuses_naive_run_times():
    with pytest.raises(ValueError, match="no timezone"):
        markets_to_frame([market()], snapshot_at=datetime(2026, 1, 5), ingested_at=INGESTED_AT)


def test_empty_markets_frame_still_has_typed_columns():
    frame = snapshots([])
    assert len(frame) == 0 and list(frame.columns) == [f.name for f in PRICE_SNAPSHOTS.schema]
    assert str(frame["observed_at"].dtype) == "datetime64[us, UTC]" and str(frame["price_usd"].dtype) == "Float64"


# -- market_chart_to_frame ---------------------------------------------------------


def test_chart_frame_joins_series_by_timestamp_and_keeps_the_interval_only():
    payload = {
        "prices": [
            [DAY_MS - 300_000, 1.0],  # before the interval
            [DAY_MS, 3300.5],
            [DAY_MS + HOUR_MS, 3310.0],
            [DAY_MS + 24 * HOUR_MS, 9.9],  # == end: excluded (half-open)
        ],
        "market_caps": [[DAY_MS + HOUR_MS, 4.0e11], [DAY_MS, 3.9e11]],  # out of order on purpose
        "total_volumes": [[DAY_MS, 1.5e10]],
    }
    frame = chart(payload)
    assert list(frame.columns) == [f.name for f in PRICE_SNAPSHOTS.schema]
    assert frame["observed_at"].tolist() == [pd.Timestamp("2026-01-05T00:00Z"), pd.Timestamp("2026-01-05T01:00Z")]
    assert frame["price_usd"].tolist() == [3300.5, 3310.0]
    assert frame["market_cap_usd"].tolist() == [3.9e11, 4.0e11]
    assert frame["volume_24h_usd"].iloc[0] == 1.5e10 and pd.isna(frame["volume_24h_usd"].iloc[1])
    assert frame["change_24h_pct"].isna().all()
    assert set(frame["source"]) == {"market_chart"} and set(frame["symbol"]) == {"eth"}
    assert set(frame["dt"]) == {"2026-01-05"}
    assert str(frame["observed_at"].dtype) == "datetime64[us, UTC]"


def test_chart_frame_keeps_the_last_of_duplicated_timestamps():
    payload = {"prices": [[DAY_MS, 1.0], [DAY_MS, 2.0]], "market_caps": [[DAY_MS, 10.0], [DAY_MS, 20.0]]}
    frame = chart(payload)
    assert len(frame) == 1
    assert frame["price_usd"].iloc[0] == 2.0 and frame["market_cap_usd"].iloc[0] == 20.0


def test_chart_frame_passes_null_and_negative_prices_through():
    frame = chart({"prices": [[DAY_MS, None], [DAY_MS + HOUR_MS, -1.0], [DAY_MS + 2 * HOUR_MS, 1e-8]]})
    assert frame["price_usd"].isna().tolist() == [True, False, False]
    assert frame["price_usd"].iloc[1] == -1.0 and frame["price_usd"].iloc[2] == 1e-8


def test_chart_frame_refuses_broken_payloads():
    with pytest.raises(ProviderPayloadError, match=r"asset 'ethereum' payload has no 'prices'"):
        chart({"market_caps": []})
    with pytest.raises(ProviderPayloadError, match=r"asset 'ethereum' prices\[1\] is \['x', 1\.0\]"):
        chart({"prices": [[DAY_MS, 1.0], ["x", 1.0]]})
    with pytest.raises(ProviderPayloadError, match=r"asset 'ethereum' field 'total_volumes' is a dict"):
        chart({"prices": [], "total_volumes": {}})
    with pytest.raises(ProviderPayloadError, match=r"has no usable 'id'"):
        chart({"prices": []}, asset={"symbol": "eth", "name": "Ethereum"})


def test_empty_chart_gives_typed_empty_frame():
    frame = chart({"prices": [], "market_caps": [], "total_volumes": []})
    assert len(frame) == 0 and list(frame.columns) == [f.name for f in PRICE_SNAPSHOTS.schema]
    assert str(frame["observed_at"].dtype) == "datetime64[us, UTC]"


# -- find_gaps ---------------------------------------------------------------------


def hourly(hours, asset="ethereum", price=1.0, step_min=60):
    points = [[DAY_MS + h * HOUR_MS + m * 60_000, price] for h in hours for m in range(0, 60, step_min)]
    return chart({"prices": points}, asset={"id": asset, "symbol": asset[:3], "name": asset})


def test_complete_series_has_no_gaps():
    gaps = find_gaps(hourly(range(24)), ["ethereum"], DAY, expected_step=timedelta(hours=1))
    assert len(gaps) == 0
    assert list(gaps.columns) == [f.name for f in PRICE_GAPS.schema if f.name not in ("run_id", "ingested_at", "dt")]


def test_missing_hours_are_merged_into_runs_and_count_expected_points():
    have = [h for h in range(24) if h not in (3, 4, 5, 10, 23)]
    frame = hourly(have, step_min=5)
    gaps = find_gaps(frame, ["ethereum"], DAY, expected_step=timedelta(minutes=5))
    assert gaps[["gap_start_at", "gap_end_at", "expected_points", "received_points"]].values.tolist() == [
        [pd.Timestamp("2026-01-05T03:00Z"), pd.Timestamp("2026-01-05T06:00Z"), 36, 0],
        [pd.Timestamp("2026-01-05T10:00Z"), pd.Timestamp("2026-01-05T11:00Z"), 12, 0],
        [pd.Timestamp("2026-01-05T23:00Z"), pd.Timestamp("2026-01-06T00:00Z"), 12, 0],
    ]
    assert set(gaps["reason"]) == {"missing_hours"} and set(gaps["source"]) == {"market_chart"}
    assert str(gaps["gap_start_at"].dtype) == "datetime64[us, UTC]" and str(gaps["expected_points"].dtype) == "int64"


def test_asset_without_points_is_one_no_data_row():
    frame = hourly(range(24))
    gaps = find_gaps(frame, ["ethereum", "cardano"], DAY, expected_step=timedelta(hours=1))
    assert gaps.to_dict("records") == [
        {
            "asset_id": "cardano",
            "gap_start_at": pd.Timestamp("2026-01-05T00:00Z"),
            "gap_end_at": pd.Timestamp("2026-01-06T00:00Z"),
            "expected_points": 24,
            "received_points": 0,
            "reason": "no_data",
            "source": "market_chart",
        }
    ]


def test_null_prices_and_points_outside_the_interval_do_not_fill_hours():
    frame = pd.concat([hourly(range(1, 24)), hourly([0], price=None)], ignore_index=True)
    gaps = find_gaps(frame, ["ethereum"], DAY, expected_step=timedelta(hours=1))
    assert gaps[["gap_start_at", "reason"]].values.tolist() == [[pd.Timestamp("2026-01-05T00:00Z"), "missing_hours"]]
    # The same points judged against the next day: nothing there at all.
    next_day = find_gaps(frame, ["ethereum"], Interval.for_day("2026-01-06"), expected_step=timedelta(hours=1))
    assert next_day["reason"].tolist() == ["no_data"]


def test_empty_frame_gives_no_data_for_every_asset_and_source_can_be_named():
    empty = chart({"prices": []})
    gaps = find_gaps(empty, ["a", "b"], DAY, expected_step=timedelta(minutes=5), source="markets")
    assert gaps[["asset_id", "expected_points", "reason", "source"]].values.tolist() == [
        ["a", 288, "no_data", "markets"],
        ["b", 288, "no_data", "markets"],
    ]


def test_find_gaps_refuses_bad_arguments():
    with pytest.raises(ValueError, match="expected_step"):
        find_gaps(hourly([0]), ["ethereum"], DAY, expected_step=timedelta(0))
    with pytest.raises(ValueError, match="lacks column"):
        find_gaps(pd.DataFrame({"asset_id": []}), ["ethereum"], DAY, expected_step=timedelta(hours=1))
    mixed = pd.concat([hourly([0]), snapshots([market(id="ethereum")])], ignore_index=True)
    with pytest.raises(ValueError, match="mixes sources"):
        find_gaps(mixed, ["ethereum"], DAY, expected_step=timedelta(hours=1))
