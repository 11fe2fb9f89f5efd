"""The warehouse writer's contract, on real Delta tables in tmp_path (staging also on fsspec's memory:// store)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from newsmarkets.intervals import Interval
from newsmarkets.warehouse.schemas import PRICE_GAPS, PRICE_SNAPSHOTS
from newsmarkets.warehouse.storage import safe_name, storage_options_from_env
from newsmarkets.warehouse.writer import Refreshed, SchemaError, Warehouse

DAY = Interval.for_day("2026-01-05")
NEXT_DAY = Interval.for_day("2026-01-06")
T = "price_snapshots"


def snapshots(hours, *, asset="bitcoin", day="2026-01-05", source="market_chart", price=100.0) -> pd.DataFrame:
    """Hourly price rows for one asset, observed at ``day`` + ``hours``."""
    observed = pd.to_datetime([f"{day}T00:00:00Z"] * len(hours), utc=True) + pd.to_timedelta(list(hours), unit="h")
    n = len(hours)
    return pd.DataFrame(
        {
            "asset_id": [asset] * n,
            "symbol": [asset[:3]] * n,
            "name": [asset.title()] * n,
            "price_usd": [price + h for h in hours],
            "market_cap_usd": [1e12] * n,
            "volume_24h_usd": [5e9] * n,
            "change_24h_pct": [-1.25] * n,
            "observed_at": observed,
            "snapshot_at": observed,
            "source": [source] * n,
            "ingested_at": pd.to_datetime(["2026-01-07T00:00:00Z"] * n, utc=True),
        }
    )


def parquet_files(root: Path, table: str = T) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in (root / table).rglob("*.parquet"))


@pytest.fixture
def wh(tmp_path) -> Warehouse:
    return Warehouse(str(tmp_path))


# -- schema enforcement ------------------------------------------------------------


@pytest.mark.parametrize(
    "mutate, column, problem",
    [
        (lambda df: df.drop(columns=["symbol"]), "symbol", "missing"),
        (lambda df: df.assign(colour="red"), "colour", "not in the schema"),
        (lambda df: df.assign(price_usd=["abc"] + [1.0] * (len(df) - 1)), "price_usd", "cannot"),
        (lambda df: df.assign(price_usd=["1.0"] + ["abc"] * (len(df) - 1)), "price_usd", "abc"),
        (lambda df: df.assign(observed_at=df["observed_at"].dt.tz_localize(None)), "observed_at", "naive"),
        (lambda df: df.assign(price_usd=[np.nan] + [1.0] * (len(df) - 1)), "price_usd", "null"),
        (lambda df: df.assign(source=[None] + ["x"] * (len(df) - 1)), "source", "null"),
        (lambda df: df.assign(dt="2026-01-06"), "dt", "UTC date of observed_at"),
        (lambda df: df.assign(ingested_at=pd.Timestamp("2026-01-05T00:00:00.000000001Z")), "ingested_at", "cannot"),
    ],
    ids=["missing", "extra", "abc-into-float", "mixed-strings", "naive-ts", "nan-price", "null-source", "wrong-dt", "nanoseconds"],
)
def test_schema_errors_name_table_and_column_and_write_nothing(wh, tmp_path, mutate, column, problem):
    bad = mutate(snapshots(range(3)))
    with pytest.raises(SchemaError) as err:
        wh.write(T, bad, DAY)
    message = str(err.value)
    assert f"'{T}'" in message and f"'{column}'" in message and problem in message
    assert parquet_files(tmp_path) == []


def test_schema_error_is_a_value_error_and_duplicate_keys_in_batch_are_refused(wh, tmp_path):
    batch = pd.concat([snapshots([1, 2]), snapshots([2])], ignore_index=True)
    with pytest.raises(ValueError, match=r"'price_snapshots', key \(asset_id, observed_at, source\).*bitcoin"):
        wh.write(T, batch, DAY)
    assert parquet_files(tmp_path) == []


def test_casts_to_the_exact_schema_and_computes_dt_from_utc_date(wh):
    df = snapshots([0])
    # 23:30 in New York on the 5th is 04:30 UTC on the 6th: the partition follows UTC.
    local = pd.Timestamp("2026-01-05T23:30:00", tz="America/New_York")
    df["observed_at"] = [local]
    df["market_cap_usd"] = [int(2**40)]  # ints into float64 are fine when exact
    df["dt"] = ["2026-01-06"]  # a dt that agrees is accepted
    result = wh.write(T, df[list(reversed(df.columns))], DAY)  # column order does not matter
    assert result.partitions == ["2026-01-06"]
    out = wh.read(T)
    assert list(out.columns) == PRICE_SNAPSHOTS.schema.names
    assert out.loc[0, "observed_at"] == pd.Timestamp("2026-01-06T04:30:00Z")
    assert str(out["observed_at"].dtype) == "datetime64[us, UTC]"
    assert out.loc[0, "market_cap_usd"] == float(2**40)
    assert out.loc[0, "dt"] == "2026-01-06"


def test_accepts_arrow_tables_and_iso_strings_with_offsets(wh):
    df = snapshots([0, 1])
    df["observed_at"] = ["2026-01-05T00:00:00+00:00", "2026-01-05T02:00:00+01:00"]
    table = pa.Table.from_pandas(df, preserve_index=False)
    wh.write(T, table, DAY)
    assert wh.read(T)["observed_at"].tolist() == [pd.Timestamp("2026-01-05T00:00Z"), pd.Timestamp("2026-01-05T01:00Z")]


def test_tiny_prices_and_null_market_caps_round_trip_exactly(wh):
    df = snapshots([0, 1, 2, 3])
    df["price_usd"] = [1e-8, 1.23456789012345e-8, 123456789.123456789, 5e-324]
    df["market_cap_usd"] = [None, np.nan, 0.0, 1.5]
    df["change_24h_pct"] = [np.nan] * 4
    wh.write(T, df, DAY)
    out = wh.read(T)
    assert out["price_usd"].tolist() == df["price_usd"].tolist()  # exact, not approx
    assert out["market_cap_usd"].isna().tolist() == [True, True, False, False]
    assert out["market_cap_usd"].iloc[2:].tolist() == [0.0, 1.5]
    assert out["change_24h_pct"].isna().all()
    # NaN is stored as a real Parquet null, so every engine sees "missing".
    file = wh.files(T)[0]
    assert pq.read_table(file).column("market_cap_usd").null_count == 2


# -- idempotency, stale files, duplicates across intervals --------------------------------


def test_rows_of_partitions_the_interval_no_longer_touches_are_removed(wh):
    two_days = Interval(DAY.start, NEXT_DAY.end)
    both = pd.concat([snapshots([1, 2]), snapshots([3], day="2026-01-06")], ignore_index=True)
    first = wh.write(T, both, two_days)
    assert first.partitions == ["2026-01-05", "2026-01-06"]
    wh.write(T, snapshots([5], day="2026-01-06", asset="ethereum"), NEXT_DAY)

    again = wh.write(T, snapshots([1, 2]), two_days)
    assert again.partitions == ["2026-01-05"]
    assert wh.partitions(T) == ["2026-01-05", "2026-01-06"]
    # the interval's row of 2026-01-06 is gone; another interval's row there is never touched
    assert sorted(wh.read(T, dts=["2026-01-06"])["asset_id"]) == ["ethereum"]


def test_keys_another_interval_already_holds_are_dropped_and_counted(wh):
    hourly = Interval(DAY.start + timedelta(hours=2), DAY.start + timedelta(hours=3))
    wh.write(T, snapshots([2], price=1.0), hourly)
    daily = wh.write(T, snapshots(range(4), price=9.0), DAY)
    assert daily.duplicates_dropped == 1 and daily.rows_written == 3
    out = wh.read(T)
    assert len(out) == 4 and not out.duplicated(list(PRICE_SNAPSHOTS.key)).any()
    assert out.set_index(out["observed_at"].dt.hour)["price_usd"].to_dict() == {0: 9.0, 1: 10.0, 2: 3.0, 3: 12.0}
    # Rewriting the first interval keeps its row: the first writer wins, stably.
    again = wh.write(T, snapshots([2], price=1.0), hourly)
    assert again.duplicates_dropped == 0 and len(wh.read(T)) == 4
    # A different source at the same instant is a different key.
    first_hour = Interval(DAY.start, DAY.start + timedelta(hours=1))
    assert wh.write(T, snapshots([2], source="markets"), first_hour).rows_written == 1


def test_batch_entirely_held_elsewhere_writes_no_file_and_removes_the_old_one(wh):
    wh.write(T, snapshots([1]), DAY)
    hourly = Interval(DAY.start + timedelta(hours=1), DAY.start + timedelta(hours=2))
    result = wh.write(T, snapshots([1]), hourly)
    assert (result.rows_written, result.duplicates_dropped, result.partitions) == (0, 1, [])
    assert len(wh.files(T)) == 1


@pytest.mark.parametrize("empty", [pd.DataFrame(), snapshots([]), pa.Table.from_pandas(snapshots([]), preserve_index=False)],
                         ids=["no-columns", "typed-frame", "arrow"])
def test_an_empty_batch_removes_the_intervals_rows_only(wh, empty):
    wh.write(T, snapshots([1, 2]), DAY)
    wh.write(T, snapshots([3], day="2026-01-06"), NEXT_DAY)
    result = wh.write(T, empty, DAY)
    assert result.rows_written == 0
    assert wh.read(T)["dt"].tolist() == ["2026-01-06"]
    assert wh.partitions(T) == ["2026-01-06"]


# -- files on disk ------------------------------------------------------------------------


def test_data_files_are_zstd_parquet_without_the_partition_column(wh):
    wh.write(T, pd.concat([snapshots([3, 1], asset="solana"), snapshots([2, 0])], ignore_index=True), DAY)
    (path,) = wh.files(T)
    assert f"/{T}/dt=2026-01-05/" in path
    meta = pq.ParquetFile(path)
    assert meta.metadata.row_group(0).column(0).compression == "ZSTD"
    assert "dt" not in meta.schema_arrow.names and "price_usd" in meta.schema_arrow.names


# -- reading ------------------------------------------------------------------------------


def test_read_of_a_missing_table_is_an_empty_frame_typed_like_a_full_one(wh):
    empty = wh.read("price_gaps")
    assert list(empty.columns) == PRICE_GAPS.schema.names and len(empty) == 0
    gaps = pd.DataFrame(
        {
            "asset_id": ["bitcoin"],
            "gap_start_at": [pd.Timestamp("2026-01-05T03:00Z")],
            "gap_end_at": [pd.Timestamp("2026-01-05T05:00Z")],
            "expected_points": [2],
            "received_points": [0],
            "reason": ["missing_hours"],
            "source": ["market_chart"],
            "run_id": ["r1"],
            "ingested_at": [pd.Timestamp("2026-01-07T00:00Z")],
        }
    )
    wh.write("price_gaps", gaps, DAY)
    full = wh.read("price_gaps")
    assert empty.dtypes.to_dict() == full.dtypes.to_dict()
    assert str(full["expected_points"].dtype) == "int64"


def test_read_filters_partitions_and_columns(wh):
    wh.write(T, pd.concat([snapshots([1]), snapshots([1], day="2026-01-06")]), Interval(DAY.start, NEXT_DAY.end))
    out = wh.read(T, dts=["2026-01-06", "2026-01-09"], columns=["price_usd", "dt"])
    assert list(out.columns) == ["price_usd", "dt"] and out.to_dict("records") == [{"price_usd": 101.0, "dt": "2026-01-06"}]
    with pytest.raises(SchemaError, match="'volume'"):
        wh.read(T, columns=["volume"])
    with pytest.raises(KeyError, match="unknown table 'prices'"):
        wh.read("prices")


# -- staging and quarantine ---------------------------------------------------------------------


def test_stage_and_load_round_trip_keeping_what_the_quality_gate_must_see(wh, tmp_path):
    df = pd.concat([snapshots([1, 2]), snapshots([2])], ignore_index=True)  # a duplicate key
    df.loc[0, "price_usd"] = np.nan  # a null the gate must report
    run_id = "scheduled__2026-01-05T00:00:00+00:00"
    path = wh.stage(T, df, DAY, run_id)
    assert path == str(tmp_path / "_staging" / T / DAY.key / f"{safe_name(run_id)}.parquet")
    assert ":" not in Path(path).name and "+" not in Path(path).name
    loaded = wh.load_staged(T, path)
    assert len(loaded) == 3 and loaded["price_usd"].isna().sum() == 1
    assert loaded["dt"].tolist() == ["2026-01-05"] * 3
    assert loaded.drop(columns="dt").astype(object).where(loaded.notna(), None).to_dict("records") == (
        df.astype(object).where(df.notna(), None).to_dict("records")
    )
    assert wh.files(T) == []  # staging never publishes
    with pytest.raises(SchemaError, match="'price_usd'"):
        wh.stage(T, df.assign(price_usd="abc"), DAY, run_id)
    with pytest.raises(ValueError, match="not a staged batch of table 'price_gaps'"):
        wh.load_staged("price_gaps", path)
    with pytest.raises(ValueError, match="not a staged batch"):
        wh.load_staged(T, str(tmp_path / "_staging" / "elsewhere.parquet"))


def test_published_batches_are_discarded_once_and_their_folders_with_them(wh, tmp_path):
    first = wh.stage(T, snapshots([1]), DAY, "run-1")
    second = wh.stage(T, snapshots([2]), DAY, "run-2")
    assert wh.is_staged(first) and wh.is_staged(second)
    assert wh.discard_staged([first]) == 1
    assert not wh.is_staged(first) and wh.is_staged(second)  # another run's batch stays
    assert wh.discard_staged([first, second]) == 1  # a retried cleanup counts only what was there
    assert not (tmp_path / "_staging" / T / DAY.key).exists()
    outside = tmp_path / "prices.parquet"
    outside.write_bytes(b"x")
    assert not wh.is_staged(str(outside))
    with pytest.raises(ValueError, match="not a staged batch"):
        wh.discard_staged([str(outside)])
    assert outside.exists()


def test_quarantine_keeps_data_and_report_even_when_data_breaks_the_schema(wh, tmp_path):
    report = {"success": False, "failed": ["expect_column_values_to_be_between(price_usd)"],
              "observed": np.float64(np.nan), "at": datetime(2026, 1, 5, tzinfo=timezone.utc), "rows": np.int64(3)}
    folder = wh.quarantine(T, snapshots([1, 2, 3]), DAY, "manual__1", report)
    assert folder == str(tmp_path / "_quarantine" / T / DAY.key / "manual__1")
    saved = json.loads((Path(folder) / "validation.json").read_text())
    assert saved == {"success": False, "failed": ["expect_column_values_to_be_between(price_usd)"],
                     "observed": "nan", "at": "2026-01-05T00:00:00+00:00", "rows": 3}
    data = pq.read_table(Path(folder) / "data.parquet")
    assert data.num_rows == 3 and data.schema.field("observed_at").type == pa.timestamp("us", tz="UTC")
    assert data.schema.metadata[b"newsmarkets.conformed"] == b"true"

    broken = snapshots([1, 2]).assign(price_usd=["abc", 2.0], colour=["red", "blue"])
    folder = wh.quarantine(T, broken, DAY, "manual__2", {"schema_error": "price_usd"})
    kept = pq.read_table(Path(folder) / "data.parquet")
    assert kept.column("price_usd").to_pylist() == ["abc", "2.0"] and "colour" in kept.column_names
    assert kept.schema.metadata[b"newsmarkets.conformed"] == b"false"
    assert wh.files(T) == []


def test_safe_names_are_visible_and_distinct():
    assert safe_name("manual__x") == "manual__x"
    a, b = safe_name("run:1"), safe_name("run+1")
    assert a != b and a.startswith("run_1-") and b.startswith("run_1-")
    assert not safe_name("../..").startswith(".")
    with pytest.raises(ValueError):
        safe_name("")


# -- roots and configuration ---------------------------------------------------------------------


def test_file_urls_and_relative_paths_address_the_same_absolute_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Warehouse("file://" + str(tmp_path / "wh")).write(T, snapshots([1]), DAY)
    relative = Warehouse("wh")
    assert relative.root == str(tmp_path / "wh")
    assert len(relative.read(T)) == 1


def test_staging_on_an_object_store_code_path_fsspec_memory():
    # Tables on object stores are tested against the S3 endpoint (test_delta_concurrent); staging is plain files.
    store = Warehouse(f"memory://wh-{uuid.uuid4().hex}")
    staged = store.stage(T, snapshots([1]), DAY, "r")
    assert staged.startswith("memory://") and store.is_staged(staged)
    assert len(store.load_staged(T, staged)) == 1
    assert store.discard_staged([staged]) == 1 and not store.is_staged(staged)


def test_from_config_and_s3_options_from_env(tmp_path):
    from newsmarkets.config import load_config

    cfg = load_config()
    wh = Warehouse.from_config(cfg)
    assert wh.root == str(Path(cfg.warehouse).resolve())
    env = {"NEWSMARKETS_S3_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
    assert storage_options_from_env("s3://bucket/prefix", env) == {"endpoint_url": "http://127.0.0.1:9000", "key": "k", "secret": "s"}
    assert storage_options_from_env(str(tmp_path), env) == {}


def test_nullable_columns_keep_schema_dtypes_and_read_output_writes_back_unchanged(wh):
    empty = wh.read("dq_results")
    results = pd.DataFrame({
        "table_name": [T, T], "interval_start_at": [DAY.start] * 2, "interval_end_at": [DAY.end] * 2,
        "suite": ["prices"] * 2, "expectation": ["not_null(price_usd)", "unique(key)"], "severity": ["critical", "warning"],
        "success": [True, False], "observed_value": [None, '{"x": 1}'], "unexpected_count": [None, 2], "row_count": [3, 3],
        "is_published": [True, True], "run_id": ["r1", "r1"], "validated_at": [DAY.end] * 2,
        "table_version": [None, 3],
    })
    wh.write("dq_results", results, DAY)
    full = wh.read("dq_results")
    assert full.dtypes.to_dict() == empty.dtypes.to_dict()
    assert str(full["observed_value"].dtype) == "str" and str(full["unexpected_count"].dtype) == "Int64"
    assert full["unexpected_count"].isna().tolist() == [True, False]
    # What read() returns is a valid batch: writing it back changes nothing.
    before = Path(wh.files("dq_results")[0]).read_bytes()
    assert wh.write("dq_results", full, DAY).rows_written == 2
    assert Path(wh.files("dq_results")[0]).read_bytes() == before


# -- reruns that re-fetched only part of their interval ---------------------------------


def three_assets(price=100.0) -> pd.DataFrame:
    return pd.concat([snapshots(range(4), asset=a, price=price) for a in ("bitcoin", "ethereum", "solana")],
                     ignore_index=True)


def prices_by_asset(wh) -> dict[str, list[float]]:
    frame = wh.read(T).sort_values(["asset_id", "observed_at"])
    return {a: list(g["price_usd"]) for a, g in frame.groupby("asset_id")}


def test_a_rerun_keeps_the_published_rows_it_did_not_refresh(wh):
    wh.write(T, three_assets(), DAY)
    # solana's fetch failed this time: the rerun refreshed bitcoin and ethereum only
    rerun = three_assets(price=200.0).query("asset_id != 'solana'")
    result = wh.write(T, rerun, DAY, refreshed=Refreshed.of("asset_id", ["bitcoin", "ethereum"]))
    assert (result.rows_written, result.rows_kept, result.rows_removed) == (12, 4, 0)
    assert prices_by_asset(wh) == {"bitcoin": [200.0, 201.0, 202.0, 203.0], "ethereum": [200.0, 201.0, 202.0, 203.0],
                                   "solana": [100.0, 101.0, 102.0, 103.0]}


def test_refreshed_rows_the_source_no_longer_has_are_removed_and_counted(wh):
    wh.write(T, three_assets(), DAY)
    # solana answered, with two of its four points: the other two are gone at the source
    rerun = three_assets().query("asset_id != 'solana' or price_usd < 102")
    result = wh.write(T, rerun, DAY, refreshed=Refreshed.of("asset_id", ["bitcoin", "ethereum", "solana"]))
    assert (result.rows_written, result.rows_kept, result.rows_removed) == (10, 0, 2)
    assert prices_by_asset(wh)["solana"] == [100.0, 101.0]


def test_a_rerun_that_refreshed_nothing_changes_nothing(wh):
    first = wh.write(T, three_assets(), DAY)
    result = wh.write(T, three_assets().iloc[0:0], DAY, refreshed=Refreshed.of("asset_id", []))
    assert (result.rows_written, result.rows_kept, result.rows_removed) == (12, 12, 0)
    assert result.table_version == first.table_version  # no commit
    # without ``refreshed`` an empty batch still means "this interval has no rows"
    assert wh.write(T, three_assets().iloc[0:0], DAY).rows_written == 0 and wh.read(T).empty


def test_kept_rows_stay_in_their_partition_and_leave_other_intervals_alone(wh):
    wh.write(T, snapshots(range(2), day="2026-01-06"), NEXT_DAY)
    wh.write(T, pd.concat([snapshots([1]), snapshots([1], asset="solana")]), DAY)
    result = wh.write(T, snapshots([1], price=5.0), DAY, refreshed=Refreshed.of("asset_id", ["bitcoin"]))
    assert result.rows_kept == 1
    frame = wh.read(T)
    assert sorted(zip(frame["dt"], frame["asset_id"], frame["price_usd"])) == [
        ("2026-01-05", "bitcoin", 6.0), ("2026-01-05", "solana", 101.0),
        ("2026-01-06", "bitcoin", 100.0), ("2026-01-06", "bitcoin", 101.0)]


def test_refreshed_by_an_unknown_column_is_refused(wh):
    with pytest.raises(SchemaError, match="'colour'"):
        wh.write(T, three_assets(), DAY, refreshed=Refreshed.of("colour", ["red"]))
