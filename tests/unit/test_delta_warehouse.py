"""What Delta Lake gives the Warehouse API: commits, versions, the current files only, OPTIMIZE.

The writer's contract (schemas, first writer wins, reruns that keep what they
did not refresh, reads) is in test_writer.py; concurrent and killed writers in
tests/integration/test_delta_concurrent.py; converting the retired Parquet
layout in test_legacy_parquet.py.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from newsmarkets.intervals import Interval
from newsmarkets.warehouse.delta import OWNER_COLUMN, delta_schema, delta_storage_options
from newsmarkets.warehouse.conform import conform
from newsmarkets.warehouse.schemas import PRICE_SNAPSHOTS
from newsmarkets.warehouse.writer import Refreshed, SchemaError, Warehouse

DAY = Interval.for_day("2026-01-05")
NEXT_DAY = Interval.for_day("2026-01-06")
T = "price_snapshots"


def snapshots(hours, *, asset="bitcoin", day="2026-01-05", price=100.0) -> pd.DataFrame:
    observed = pd.to_datetime([f"{day}T00:00:00Z"] * len(hours), utc=True) + pd.to_timedelta(list(hours), unit="h")
    n = len(hours)
    return pd.DataFrame({
        "asset_id": [asset] * n, "symbol": [asset[:3]] * n, "name": [asset.title()] * n,
        "price_usd": [price + h for h in hours], "market_cap_usd": [1e12] * n, "volume_24h_usd": [5e9] * n,
        "change_24h_pct": [-1.25] * n, "observed_at": observed, "snapshot_at": observed,
        "source": ["market_chart"] * n, "ingested_at": pd.to_datetime(["2026-01-07T00:00:00Z"] * n, utc=True),
    })


def hour(h: int) -> Interval:
    return Interval(DAY.start + timedelta(hours=h), DAY.start + timedelta(hours=h + 1))


@pytest.fixture
def wh(tmp_path) -> Warehouse:
    return Warehouse(str(tmp_path / "wh"))


def delta(wh: Warehouse, table: str = T) -> DeltaTable:
    return DeltaTable(wh.table_url(table))


def test_a_rerun_with_the_same_rows_commits_nothing_and_a_changed_one_commits_once(wh):
    first = wh.write(T, snapshots(range(24)), DAY)
    assert (first.rows_written, first.table_version) == (24, 1)  # version 0 created the table
    again = wh.write(T, snapshots(range(24)).sample(frac=1, random_state=1), DAY)
    assert (again.rows_written, again.table_version) == (24, 1) and delta(wh).version() == 1
    changed = wh.write(T, snapshots(range(12), price=7.0), DAY)
    assert (changed.rows_written, changed.table_version) == (12, 2)
    assert wh.read(T)["price_usd"].tolist() == [7.0 + h for h in range(12)]
    history = wh.table_history(T)
    assert [(h["version"], h["operation"], h["interval"]) for h in history] == [
        (2, "MERGE", DAY.key), (1, "MERGE", DAY.key), (0, "CREATE TABLE", None)]
    assert (history[0]["rows_updated"], history[0]["rows_deleted"], history[1]["rows_inserted"]) == (12, 12, 24)


def test_files_lists_only_the_committed_version_although_replaced_files_stay_for_older_readers(wh):
    wh.write(T, snapshots(range(3)), DAY)
    old = wh.files(T)
    wh.write(T, snapshots(range(3), price=1.0), DAY)
    new = wh.files(T)
    assert len(old) == len(new) == 1 and old != new
    assert Path(old[0]).exists()  # until vacuum: a reader of the older version still finds it
    assert wh.read(T)["price_usd"].tolist() == [1.0, 2.0, 3.0]


def test_an_interval_leaving_a_partition_deletes_its_rows_there_and_nothing_else(wh):
    two_days = Interval(DAY.start, NEXT_DAY.end)
    wh.write(T, pd.concat([snapshots([1, 2]), snapshots([3], day="2026-01-06")], ignore_index=True), two_days)
    wh.write(T, snapshots([5], day="2026-01-06", asset="ethereum"), NEXT_DAY)
    again = wh.write(T, snapshots([1, 2]), two_days)
    assert again.partitions == ["2026-01-05"]
    assert sorted(wh.read(T, dts=["2026-01-06"])["asset_id"]) == ["ethereum"]
    assert wh.write(T, pd.DataFrame(), two_days).rows_written == 0
    assert wh.partitions(T) == ["2026-01-06"]
    owned = wh.read_owned(T, None, ["asset_id"])
    assert owned[OWNER_COLUMN].tolist() == [NEXT_DAY.key]


def test_data_files_are_zstd_with_the_owner_column_and_the_partition_in_the_path(wh):
    wh.write(T, pd.concat([snapshots([3, 1], asset="solana"), snapshots([2, 0])], ignore_index=True), DAY)
    (path,) = wh.files(T)
    assert "/price_snapshots/dt=2026-01-05/" in path
    meta = pq.ParquetFile(path)
    assert meta.metadata.row_group(0).column(0).compression == "ZSTD"
    table = pq.read_table(path)
    assert "dt" not in table.column_names and set(table[OWNER_COLUMN].to_pylist()) == {DAY.key}
    assert pa.schema(delta(wh).schema().to_arrow()).names == delta_schema(PRICE_SNAPSHOTS).names


def test_a_table_whose_columns_differ_from_the_schema_is_named(wh, tmp_path):
    from deltalake import write_deltalake

    write_deltalake(wh.table_url(T), pa.table({"asset_id": ["x"], "dt": ["2026-01-05"]}), partition_by=["dt"])
    with pytest.raises(SchemaError, match=r"table 'price_snapshots' at .*missing: symbol"):
        wh.read(T)


def test_tables_are_created_up_front_empty_and_typed(wh):
    wh.ensure_tables()
    assert wh.table_version(T) == 0 and wh.partitions(T) == [] and wh.files(T) == []
    assert wh.read(T).dtypes.equals(Warehouse(str(Path(wh.root).parent / "other")).read(T).dtypes)


def test_refreshed_rerun_keeps_unrefreshed_rows_in_one_commit(wh):
    three = pd.concat([snapshots(range(4), asset=a) for a in ("bitcoin", "ethereum", "solana")], ignore_index=True)
    wh.write(T, three, DAY)
    result = wh.write(T, snapshots(range(2), asset="solana", price=5.0), DAY,
                      refreshed=Refreshed.of("asset_id", ["solana"]))
    assert (result.rows_kept, result.rows_removed, result.table_version) == (8, 2, 2)
    assert wh.read(T).groupby("asset_id").size().to_dict() == {"bitcoin": 4, "ethereum": 4, "solana": 2}


def test_compaction_folds_closed_partitions_into_one_file_and_keeps_every_row(wh):
    for h in range(6):
        wh.write(T, snapshots([h]), hour(h))
    wh.write(T, snapshots([0], day="2026-01-06"), NEXT_DAY)
    before = wh.read(T)
    assert len(wh.files(T, ["2026-01-05"])) == 6
    last_closed, summary = wh.compact_closed(date(2026, 1, 6), 1, [T])
    assert last_closed == "2026-01-05"
    assert summary[T]["partitions"] == 1 and (summary[T]["files_before"], summary[T]["files_after"]) == (6, 1)
    assert len(wh.files(T, ["2026-01-05"])) == 1 and len(wh.files(T, ["2026-01-06"])) == 1
    assert summary[T]["files_vacuumed"] == 0  # the replaced files stay for the retention period
    pd.testing.assert_frame_equal(wh.read(T), before)  # reads come sorted by partition and key
    # a rerun of one hour after compaction replaces exactly its row
    wh.write(T, snapshots([2], price=0.5), hour(2))
    after = wh.read(T)
    assert len(after) == 7 and after.loc[after["observed_at"].dt.hour.eq(2) & after["dt"].eq("2026-01-05"), "price_usd"].tolist() == [2.5]


def test_the_retired_warehouse_format_setting_is_refused_by_name_and_delta_still_accepted(monkeypatch):
    from newsmarkets.config import ConfigError, load_config, parse_config

    base = {"warehouse": "/tmp/wh", "prices": {"provider": "coingecko", "base_url": "http://127.0.0.1:8765/api/v3", "assets": ["bitcoin"]}}
    with pytest.raises(ConfigError, match=r"warehouse_format: 'parquet' is no longer supported.*warehouse convert"):
        parse_config({**base, "warehouse_format": "parquet"})
    assert parse_config({**base, "warehouse_format": "delta"}).warehouse == "/tmp/wh"
    monkeypatch.setenv("NEWSMARKETS_WAREHOUSE_FORMAT", "parquet")
    with pytest.raises(ConfigError, match="NEWSMARKETS_WAREHOUSE_FORMAT: 'parquet' is no longer supported"):
        load_config()


def test_s3_options_for_delta_rs_come_from_the_warehouse_options():
    options = delta_storage_options({"endpoint_url": "http://127.0.0.1:9000", "key": "k", "secret": "s"})
    assert options == {"AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_ALLOW_HTTP": "true", "AWS_ACCESS_KEY_ID": "k",
                       "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "us-east-1", "conditional_put": "etag"}
    assert delta_storage_options({"client_kwargs": {"region_name": "eu-west-1"}})["AWS_REGION"] == "eu-west-1"


def test_reruns_and_reads_after_compaction_mix_string_and_string_view_files(wh):
    # delta-rs writes MERGE output with string_view columns and OPTIMIZE output with string ones;
    # a filtered scan over both once failed ("no kernel matching input types (string, string_view)").
    for h in range(3):
        wh.write(T, snapshots([h]), hour(h))
    wh.compact_closed(date(2026, 1, 6), 1, [T])
    wh.write(T, snapshots([5]), hour(5))
    kinds = {str(pq.read_schema(f).field(OWNER_COLUMN).type) for f in wh.files(T)}
    assert kinds == {"string", "string_view"}, kinds
    assert len(wh.read_other_intervals(T, hour(0), ["2026-01-05"])) == 3
    wh.write(T, snapshots([0], price=7.0), hour(0))
    assert wh.read(T)["price_usd"].tolist() == [7.0, 101.0, 102.0, 105.0]
    assert wh.read_interval(T, hour(2))["price_usd"].tolist() == [102.0]


def test_a_publish_reads_only_the_partitions_it_writes(wh):
    for d in range(5):
        day = f"2026-01-0{d + 1}"
        wh.write(T, snapshots(range(3), day=day), Interval.for_day(day))
    wh.write(T, snapshots(range(3), day="2026-01-03", price=9.0), Interval.for_day("2026-01-03"))
    metrics = DeltaTable(wh.table_url(T)).history(1)[0]["operationMetrics"]
    assert (metrics["num_target_files_scanned"], metrics["num_target_files_skipped_during_scan"]) == (1, 4)
    assert wh.read(T, dts=["2026-01-03"])["price_usd"].tolist() == [9.0, 10.0, 11.0] and len(wh.read(T)) == 15


def test_a_table_created_before_a_nullable_column_was_added_reads_it_as_null_and_gains_it_on_write(wh, tmp_path):
    from deltalake import write_deltalake

    from newsmarkets.warehouse.catalog import refresh_catalog
    from newsmarkets.warehouse.schemas import table_spec

    dq = table_spec("dq_results")
    old_schema = pa.schema([f for f in delta_schema(dq) if f.name != "table_version"])
    row = {"table_name": "articles", "interval_start_at": pd.Timestamp("2026-01-05T00:00Z"),
           "interval_end_at": pd.Timestamp("2026-01-05T01:00Z"), "suite": "articles", "expectation": "e",
           "severity": "critical", "success": True, "observed_value": None, "unexpected_count": 0, "row_count": 3,
           "is_published": True, "run_id": "r1", "validated_at": pd.Timestamp("2026-01-05T01:05Z")}
    old = pa.Table.from_pylist([{**row, "dt": "2026-01-05", OWNER_COLUMN: "old"}], schema=old_schema)
    write_deltalake(wh.table_url("dq_results"), old, partition_by=["dt"])  # what an older release wrote

    assert wh.read("dq_results")["table_version"].isna().tolist() == [True]
    counts = refresh_catalog(wh, tmp_path / "c.duckdb")
    assert counts["dq_results"] == 1
    with duckdb_connect(tmp_path / "c.duckdb") as con:
        assert con.execute("SELECT run_id, table_version FROM dq_results").fetchall() == [("r1", None)]

    wh.write("dq_results", pd.DataFrame([{**row, "run_id": "r2", "table_version": 7}]), Interval.for_day("2026-01-05"))
    assert "table_version" in pa.schema(DeltaTable(wh.table_url("dq_results")).schema().to_arrow()).names
    got = wh.read("dq_results").set_index("run_id")["table_version"]
    assert got.isna()["r1"] and got["r2"] == 7
    refresh_catalog(wh, tmp_path / "c.duckdb")
    with duckdb_connect(tmp_path / "c.duckdb") as con:
        assert con.execute("SELECT run_id, table_version FROM dq_results ORDER BY 1").fetchall() == [("r1", None), ("r2", 7)]


def duckdb_connect(path):
    import duckdb

    return duckdb.connect(str(path), read_only=True)


def test_a_planned_write_sets_other_intervals_columns_in_one_commit_and_conflicts_when_its_reads_changed(wh):
    from newsmarkets.warehouse.delta import PlanConflictError

    wh.write(T, snapshots([1, 2]), hour(1))
    wh.write(T, snapshots([3], day="2026-01-06"), hour(27))
    view = wh.pinned(T)
    theirs = view.read_owned(T, ["2026-01-05"], ["asset_id", "observed_at", "source"])
    updates = theirs.assign(price_usd=-1.0)
    done = view.write_planned(T, snapshots([5]), hour(5), updates=updates, columns=["price_usd"],
                              read_partitions=["2026-01-05"])
    assert done.rows_written == 1 and done.table_version == wh.table_version(T) == 3
    rows = wh.read_owned(T, None, ["observed_at", "price_usd"]).set_index(OWNER_COLUMN)["price_usd"].to_dict()
    assert rows == {hour(1).key: -1.0, hour(27).key: 103.0, hour(5).key: 105.0}
    assert wh.read_interval(T, hour(1))["market_cap_usd"].tolist() == [1e12, 1e12]  # other columns untouched

    stale = wh.pinned(T)
    wh.write(T, snapshots([7]), hour(7))  # lands in a partition the plan read
    with pytest.raises(PlanConflictError, match="concurrent commit"):
        stale.write_planned(T, snapshots([8]), hour(8), read_partitions=["2026-01-05"])
    other_day = wh.pinned(T)
    wh.write(T, snapshots([4], day="2026-01-06"), hour(28))  # another partition: no conflict
    assert other_day.write_planned(T, snapshots([9]), hour(9), read_partitions=["2026-01-05"]).rows_written == 1
    assert len(wh.read(T)) == 7
    with pytest.raises(ValueError, match="needs a view from pinned"):
        wh.write_planned(T, snapshots([8]), hour(8))


def test_file_statistics_cover_only_pruning_columns_and_older_tables_get_the_properties(wh):
    from newsmarkets.warehouse.delta import table_properties

    # as a release before this one created it: statistics of every column
    DeltaTable.create(wh.table_url(T), delta_schema(PRICE_SNAPSHOTS), partition_by=["dt"],
                      configuration={"delta.checkpointInterval": "20"})
    wh.ensure_tables([T])
    assert delta(wh).metadata().configuration == table_properties(PRICE_SNAPSHOTS)
    wh.write(T, snapshots(range(3)), DAY)
    (add,) = pa.table(delta(wh).get_add_actions(flatten=True)).to_pylist()
    stats = {k.split(".", 1)[1] for k, v in add.items() if k.startswith("min.")}
    assert stats == {"asset_id", "observed_at", "source", OWNER_COLUMN}
    assert len(wh.read_interval(T, DAY)) == 3 and wh.read_interval(T, NEXT_DAY).empty  # pruning by owner still works
    version = delta(wh).version()
    wh.ensure_tables([T])
    assert delta(wh).version() == version  # set once


def test_a_key_with_sub_millisecond_time_written_from_a_stale_version_conflicts_instead_of_doubling(wh):
    from deltalake.exceptions import CommitFailedError

    from newsmarkets.warehouse.delta import owner_key

    # delta-rs keeps timestamp statistics to the millisecond; a conflict check by key range missed this key
    row = snapshots([0])
    row["observed_at"] = pd.Timestamp("2026-01-05T10:00:00.000700Z")
    stale = wh.ensure_table(T)
    wh.write(T, row, hour(10))
    batch = conform(PRICE_SNAPSHOTS, row)
    with pytest.raises(CommitFailedError):
        wh._write_once(PRICE_SNAPSHOTS, stale, batch, hour(11), owner_key(hour(11)), None)
    assert wh.write(T, row, hour(11)).duplicates_dropped == 1  # the retry sees the first writer's row
    assert len(wh.read(T)) == 1
