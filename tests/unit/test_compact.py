"""Compaction of closed partitions and the writer's reruns into compacted partitions (real files)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from newsmarkets.intervals import Interval
from newsmarkets.warehouse import compact
from newsmarkets.warehouse.catalog import refresh_catalog
from newsmarkets.warehouse.writer import Warehouse

T = "price_snapshots"
KEY = ["asset_id", "observed_at", "source"]
DAY = "2026-01-05"


def hour(h: int, day: str = DAY) -> Interval:
    start = pd.Timestamp(f"{day}T00:00:00Z") + pd.Timedelta(hours=h)
    return Interval(start.to_pydatetime(), (start + pd.Timedelta(hours=1)).to_pydatetime())


def rows(h: int, *, assets=("bitcoin", "ethereum"), price=100.0, day: str = DAY, minutes=(0, 30)) -> pd.DataFrame:
    """Prices observed within hour ``h`` of ``day``."""
    out = []
    for asset in assets:
        for m in minutes:
            observed = pd.Timestamp(f"{day}T00:00:00Z") + pd.Timedelta(hours=h, minutes=m)
            out.append({
                "asset_id": asset, "symbol": asset[:3], "name": asset.title(), "price_usd": price + h,
                "market_cap_usd": 1e9, "volume_24h_usd": 1e6, "change_24h_pct": 0.5,
                "observed_at": observed, "snapshot_at": observed, "source": "markets",
                "ingested_at": pd.Timestamp("2026-01-07T00:00:00Z"),
            })
    return pd.DataFrame(out)


def table_rows(wh: Warehouse) -> pd.DataFrame:
    return wh.read(T).sort_values(KEY).reset_index(drop=True)


def names(root: Path, day: str = DAY, table: str = T) -> list[str]:
    return sorted(p.name for p in (root / table / f"dt={day}").iterdir())


@pytest.fixture
def wh(tmp_path) -> Warehouse:
    return Warehouse(str(tmp_path))


@pytest.fixture
def day_of_hours(wh):
    for h in range(24):
        wh.write(T, rows(h), hour(h))
    return table_rows(wh)


def test_compaction_makes_one_file_with_the_same_rows(wh, tmp_path, day_of_hours):
    catalog = str(tmp_path / "c.duckdb")
    assert refresh_catalog(wh, catalog)[T] == 96
    done = compact.compact_partition(wh, T, DAY)
    assert (done.files_before, done.files_after, done.rows, done.atomic_swap) == (24, 1, 96, True)
    assert [n for n in names(tmp_path) if n.endswith(".parquet")] == ["compacted.parquet"]
    assert len([n for n in names(tmp_path) if n.startswith(".compacted-part-")]) == 24
    pd.testing.assert_frame_equal(table_rows(wh), day_of_hours)
    assert refresh_catalog(wh, catalog)[T] == 96
    pieces = compact.read_pieces(wh.storage, str(tmp_path / T / f"dt={DAY}" / "compacted.parquet"))
    assert [p.file for p in pieces] == sorted(f"part-{hour(h).key}.parquet" for h in range(24))
    assert all(p.rows == 4 for p in pieces)
    # Nothing left in staging; compacting again has nothing to do.
    assert not list((tmp_path / "_staging" / "_compact" / T).iterdir())
    assert compact.compact_partition(wh, T, DAY) is None


def test_rerun_after_compaction_replaces_its_rows_in_place(wh, tmp_path, day_of_hours):
    compact.compact_partition(wh, T, DAY)
    result = wh.write(T, rows(5, price=999.0, minutes=(0, 15, 45)), hour(5))  # changed prices, one more point per asset
    assert result.rows_written == 6 and result.files == [str(tmp_path / T / f"dt={DAY}" / "compacted.parquet")]
    assert [n for n in names(tmp_path) if n.endswith(".parquet")] == ["compacted.parquet"]  # folded, no part file
    out = table_rows(wh)
    assert not out.duplicated(KEY).any()
    in_hour = out[out["observed_at"].dt.hour == 5]
    assert len(in_hour) == 6 and set(in_hour["price_usd"]) == {999.0 + 5}
    others = out[out["observed_at"].dt.hour != 5].reset_index(drop=True)
    expected = day_of_hours[day_of_hours["observed_at"].dt.hour != 5].reset_index(drop=True)
    pd.testing.assert_frame_equal(others, expected)
    # The same rerun again changes no byte: reruns stay idempotent after compaction.
    path = tmp_path / T / f"dt={DAY}" / "compacted.parquet"
    before = path.read_bytes()
    wh.write(T, rows(5, price=999.0, minutes=(0, 15, 45)), hour(5))
    assert path.read_bytes() == before


def test_an_empty_rerun_takes_its_piece_out(wh, tmp_path, day_of_hours):
    compact.compact_partition(wh, T, DAY)
    result = wh.write(T, pd.DataFrame(), hour(7))
    assert result.pieces_removed == [f"{tmp_path / T / f'dt={DAY}' / 'compacted.parquet'}#part-{hour(7).key}.parquet"]
    out = table_rows(wh)
    assert len(out) == 92 and 7 not in set(out["observed_at"].dt.hour)
    assert f".compacted-part-{hour(7).key}" not in names(tmp_path)


def test_rows_moving_to_another_day_leave_the_compacted_piece(wh, tmp_path):
    # A two-day interval whose rows first fall on day 1, then (a corrected source) on day 2.
    both = Interval.for_day(DAY)
    both = Interval(both.start, both.end + timedelta(days=1))
    wh.write(T, rows(3), both)
    wh.write(T, rows(4), hour(4))
    compact.compact_partition(wh, T, DAY)
    result = wh.write(T, rows(3, day="2026-01-06"), both)
    assert result.partitions == ["2026-01-06"] and len(result.pieces_removed) == 1
    out = table_rows(wh)
    assert sorted(out["dt"].unique()) == [DAY, "2026-01-06"]
    assert len(out[out["dt"] == DAY]) == 4 and set(out.loc[out["dt"] == DAY, "observed_at"].dt.hour) == {4}


def test_the_last_piece_going_removes_the_compacted_file(wh, tmp_path):
    wh.write(T, rows(1), hour(1))
    wh.write(T, rows(2), hour(2))
    compact.compact_partition(wh, T, DAY)
    wh.write(T, pd.DataFrame(), hour(1))
    wh.write(T, pd.DataFrame(), hour(2))
    assert names(tmp_path) == [] and wh.read(T).empty


def test_new_intervals_after_compaction_are_files_until_the_next_compaction(wh, tmp_path, day_of_hours):
    compact.compact_partition(wh, T, DAY)
    # A late interval (other assets) gets its own file; its keys held by a piece are dropped.
    late = Interval(hour(23).start, hour(23).end + timedelta(minutes=1))
    result = wh.write(T, pd.concat([rows(2, assets=("solana",)), rows(2)]), late)
    assert result.rows_written == 2 and result.duplicates_dropped == 4
    assert [n for n in names(tmp_path) if n.endswith(".parquet")] == ["compacted.parquet", f"part-{late.key}.parquet"]
    done = compact.compact_partition(wh, T, DAY)
    assert (done.files_before, done.files_after, done.rows) == (2, 1, 98)
    pieces = compact.read_pieces(wh.storage, str(tmp_path / T / f"dt={DAY}" / "compacted.parquet"))
    assert len(pieces) == 25 and pieces[-1].file == f"part-{late.key}.parquet"
    assert len(table_rows(wh)) == 98 and not table_rows(wh).duplicated(KEY).any()


def test_read_other_intervals_leaves_out_the_runs_own_piece(wh, day_of_hours):
    compact.compact_partition(wh, T, DAY)
    wh.write(T, rows(2, assets=("solana",)), Interval(hour(2).start, hour(3).end))
    others = wh.read_other_intervals(T, hour(5), [DAY], ["asset_id", "observed_at", "dt"])
    assert len(others) == 94 and 5 not in set(others.loc[others["asset_id"] != "solana", "observed_at"].dt.hour)
    assert list(others.columns) == ["asset_id", "observed_at", "dt"] and set(others["dt"]) == {DAY}
    assert len(wh.read_other_intervals(T, Interval(hour(2).start, hour(3).end), [DAY])) == 96


def test_tagged_files_compact_and_rerun_by_tag(wh, tmp_path):
    day = Interval.for_day(DAY)
    wh.write(T, rows(1, assets=("a",)), day, file_tag="one")
    wh.write(T, rows(1, assets=("b",)), day, file_tag="two")
    compact.compact_partition(wh, T, DAY)
    wh.write(T, rows(1, assets=("b",), price=5.0), day, file_tag="two")
    out = table_rows(wh)
    assert out.groupby("asset_id")["price_usd"].first().to_dict() == {"a": 101.0, "b": 6.0}


def test_object_store_order_works_and_heals_a_killed_compactions_leftovers(tmp_path):
    wh = Warehouse("memory://wh-compact-" + tmp_path.name)
    for h in range(3):
        wh.write(T, rows(h), hour(h))
    expected = table_rows(wh)
    first = wh.files(T)[0]
    leftover = wh.storage.fs.cat_file(wh.storage.to_path(first))
    done = compact.compact_partition(wh, T, DAY)
    assert (done.files_before, done.files_after, done.atomic_swap) == (3, 1, False)
    pd.testing.assert_frame_equal(table_rows(wh), expected)
    # What a kill between "compacted file written" and "sources deleted" leaves: a source next to its piece.
    wh.storage.fs.pipe_file(wh.storage.to_path(first), leftover)
    assert len(wh.read(T)) == len(expected) + 4
    wh.write(T, rows(9, assets=("solana",)), hour(9))  # any write to the partition heals it
    out = table_rows(wh)
    assert len(out) == len(expected) + 2 and not out.duplicated(KEY).any()


def test_leftover_with_other_content_is_not_taken_for_the_piece(wh, tmp_path):
    wh.write(T, rows(1), hour(1))
    wh.write(T, rows(2), hour(2))
    compact.compact_partition(wh, T, DAY)
    # A file of the same name with different rows (a racing writer on an object store) is refused, not guessed.
    other = Warehouse(str(tmp_path / "other"))
    (path,) = other.write(T, rows(1, price=1.0), hour(1)).files
    (tmp_path / T / f"dt={DAY}" / Path(path).name).write_bytes(Path(path).read_bytes())
    with pytest.raises(compact.CompactionError, match="different version"):
        compact.compact_partition(wh, T, DAY)
    # Writing the interval settles it: the new rows replace both.
    wh.write(T, rows(1, price=7.0), hour(1))
    out = table_rows(wh)
    assert len(out) == 8 and not out.duplicated(KEY).any()
    assert set(out.loc[out["observed_at"].dt.hour == 1, "price_usd"]) == {8.0}


def test_closed_partitions_never_include_the_runs_day(wh):
    for day in ("2026-01-01", "2026-01-02", "2026-01-03"):
        for h in (1, 2):
            wh.write(T, rows(h, day=day), hour(h, day))
    last = compact.closed_before(date(2026, 1, 3), 1)
    assert last == "2026-01-02"
    assert compact.partitions_to_compact(wh, T, last) == ["2026-01-01", "2026-01-02"]
    assert compact.partitions_to_compact(wh, T, compact.closed_before(date(2026, 1, 3), 2)) == ["2026-01-01"]
    with pytest.raises(ValueError, match="compact_after_days"):
        compact.closed_before(date(2026, 1, 3), 0)
    summary = compact.compact_closed(wh, last, [T])
    assert summary[T]["partitions"] == 2 and (summary[T]["files_before"], summary[T]["files_after"]) == (4, 2)
    assert len(wh.files(T, ["2026-01-03"])) == 2  # the run's own day stays as written


def test_compacted_file_records_its_pieces_and_keeps_the_schema(wh, tmp_path, day_of_hours):
    compact.compact_partition(wh, T, DAY)
    meta = pq.read_schema(tmp_path / T / f"dt={DAY}" / "compacted.parquet")
    assert meta.metadata[b"newsmarkets.table"] == T.encode() and b"newsmarkets.compacted_from" in meta.metadata
    assert "dt" not in meta.names
    part = pq.read_schema(next((tmp_path / T).glob("*/part-*.parquet"), None) or
                          wh.write(T, rows(1, day="2026-01-09"), hour(1, "2026-01-09")).files[0])
    assert meta.remove_metadata() == part.remove_metadata()


def test_a_partial_rerun_after_compaction_keeps_what_it_did_not_refresh(wh, tmp_path, day_of_hours):
    from newsmarkets.warehouse.writer import Refreshed

    compact.compact_partition(wh, T, DAY)
    # hour 7 again; ethereum's fetch failed, bitcoin came back with new prices
    result = wh.write(T, rows(7, assets=("bitcoin",), price=500.0), hour(7),
                      refreshed=Refreshed.of("asset_id", ["bitcoin"]))
    assert (result.rows_written, result.rows_kept, result.rows_removed) == (4, 2, 0)
    assert [n for n in names(tmp_path) if n.endswith(".parquet")] == ["compacted.parquet"]
    after = table_rows(wh)
    assert len(after) == len(day_of_hours)
    seven = after[after["observed_at"].dt.hour == 7]
    assert dict(zip(seven["asset_id"], seven["price_usd"])) == {"bitcoin": 507.0, "ethereum": 107.0}


def test_read_owned_names_the_interval_of_every_row_before_and_after_compaction(wh, day_of_hours):
    before = wh.read_owned(T, [DAY], ["asset_id", "observed_at"])
    assert len(before) == len(day_of_hours) and set(before["dt"]) == {DAY}
    expected = {hour(h).key for h in range(24)}
    assert set(before["interval_key"]) == expected
    assert all(Interval.from_key(k).contains(t) for k, t in zip(before["interval_key"], before["observed_at"]))
    compact.compact_partition(wh, T, DAY)
    after = wh.read_owned(T, None, ["asset_id", "observed_at"])
    key = ["interval_key", "asset_id", "observed_at"]
    pd.testing.assert_frame_equal(before.sort_values(key, ignore_index=True), after.sort_values(key, ignore_index=True))
    seven = wh.read_interval(T, hour(7), ["asset_id", "price_usd"])
    assert sorted(seven["asset_id"]) == ["bitcoin", "bitcoin", "ethereum", "ethereum"] and set(seven["price_usd"]) == {107.0}


def test_the_warehouse_compacts_closed_partitions_and_applies_retention(wh, tmp_path, day_of_hours):
    from datetime import date

    last_closed, tables = wh.compact_closed(date(2026, 1, 8), compact_after_days=2)
    assert last_closed == "2026-01-06" and tables[T]["partitions"] == 1 and tables[T]["files_after"] == 1
    assert [n for n in names(tmp_path) if n.endswith(".parquet")] == ["compacted.parquet"]
    pd.testing.assert_frame_equal(table_rows(wh), day_of_hours)
    out = wh.apply_retention(date(2026, 1, 8), raw_html_days=30, staging_hours=24, quarantine_days=None)
    assert isinstance(out, dict)
