"""Converting a warehouse of the retired Parquet-file layout into Delta tables, rows and owners intact.

The old layout is written here by hand, file by file, as the old writer left it
(one file per partition and interval; compacted partitions as one file whose
metadata lists each interval's rows), since nothing in the package writes it any more.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from newsmarkets.warehouse.conform import conform
from newsmarkets.warehouse.delta import OWNER_COLUMN
from newsmarkets.warehouse.legacy_parquet import LegacyLayoutError
from newsmarkets.warehouse.schemas import table_spec
from newsmarkets.warehouse.writer import SchemaError, Warehouse
from test_delta_warehouse import DAY, T, hour, snapshots


def old_file(root: Path, frame: pd.DataFrame, name: str, table: str = T, *, pieces: list | None = None,
             drop: tuple[str, ...] = (), write_id: str | None = None) -> Path:
    """One old-layout file: the table's columns without ``dt`` (it is in the folder name); a compacted
    file lists its ``pieces`` as (file name, rows, write id)."""
    spec = table_spec(table)
    rows = conform(spec, frame)
    (dt,) = set(rows.column("dt").to_pylist())
    rows = rows.drop_columns(["dt", *drop])
    if pieces is not None:
        rows = rows.replace_schema_metadata({b"newsmarkets.compacted_from": json.dumps(
            [{"file": f, "rows": n, "write_id": w} for f, n, w in pieces]).encode()})
    if write_id is not None:
        rows = rows.replace_schema_metadata({b"newsmarkets.write_id": write_id.encode()})
    path = root / spec.name / f"dt={dt}" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(rows, path)
    return path


def test_an_old_layout_warehouse_is_refused_then_converted_with_every_row_and_owner(tmp_path):
    root = tmp_path / "wh"
    old_file(root, snapshots(range(3)), f"part-{DAY.key}.parquet")
    old_file(root, snapshots([1], day="2026-01-06", asset="ethereum"), f"part-{hour(30).key}.parquet")
    wh = Warehouse(str(root))
    with pytest.raises(SchemaError, match=r"table 'price_snapshots' at .* holds Parquet files .*warehouse convert"):
        wh.read(T)
    assert wh.convert_from_parquet() == {T: 4}
    assert len(wh.read(T)) == 4
    owners = wh.read_owned(T, None, ["asset_id"]).groupby(OWNER_COLUMN).size().to_dict()
    assert owners == {DAY.key: 3, hour(30).key: 1}
    # a rerun of a converted interval replaces its rows, it does not add to them
    wh.write(T, snapshots(range(2), price=1.0), DAY)
    assert wh.read(T, dts=["2026-01-05"])["price_usd"].tolist() == [1.0, 2.0]
    assert (root / "_parquet_backup" / T / "dt=2026-01-05").is_dir() and wh.convert_from_parquet() == {}


def test_compacted_files_keep_each_intervals_rows_and_leftovers_of_a_killed_compaction_count_once(tmp_path):
    root = tmp_path / "wh"
    three = pd.concat([snapshots([0, 1]), snapshots([2]), snapshots([3])], ignore_index=True)
    old_file(root, three, "compacted.parquet", pieces=[(f"part-{hour(0).key}.parquet", 2, "w0"),
                                                       (f"part-{hour(2).key}.parquet", 1, "w2"),
                                                       (f"part-{hour(3).key}.parquet", 1, "w3")])
    # a source file a killed compaction did not delete yet (same write id): its rows are the piece's
    old_file(root, snapshots([2]), f"part-{hour(2).key}.parquet", write_id="w2")
    # a rerun that landed after the compaction on an object store (another write id): it replaces the piece
    old_file(root, snapshots([3], price=7.0), f"part-{hour(3).key}.parquet", write_id="w3-rerun")
    # an interval written after the compaction
    old_file(root, snapshots([5]), f"part-{hour(5).key}.parquet")
    wh = Warehouse(str(root))
    assert wh.convert_from_parquet() == {T: 5}
    owned = wh.read_owned(T, None, ["observed_at", "price_usd"])
    assert sorted(zip(owned["observed_at"].dt.hour, owned[OWNER_COLUMN], owned["price_usd"])) == [
        (0, hour(0).key, 100.0), (1, hour(0).key, 101.0), (2, hour(2).key, 102.0), (3, hour(3).key, 10.0),
        (5, hour(5).key, 105.0)]


def test_a_column_the_schema_gained_since_reads_as_null_and_a_broken_compacted_file_is_named(tmp_path):
    root = tmp_path / "wh"
    old_file(root, snapshots([0]), f"part-{hour(0).key}.parquet", drop=("market_cap_usd",))
    wh = Warehouse(str(root))
    assert wh.convert_from_parquet() == {T: 1}
    assert wh.read(T)["market_cap_usd"].isna().tolist() == [True]

    other = tmp_path / "broken"
    old_file(other, snapshots([0, 1]), "compacted.parquet", pieces=[(f"part-{hour(0).key}.parquet", 5, "w")])
    with pytest.raises(LegacyLayoutError, match=r"compacted.parquet: its pieces list 5 rows, the file holds 2"):
        Warehouse(str(other)).convert_from_parquet()
    assert not (other / T / "_delta_log").exists()  # nothing half-converted

    stray = tmp_path / "stray"
    old_file(stray, snapshots([0]), f"part-{hour(0).key}.parquet")
    old_file(stray, snapshots([1]), "copy of my data.parquet")
    with pytest.raises(LegacyLayoutError, match=r"copy of my data.parquet: not a file of the retired layout"):
        Warehouse(str(stray)).convert_from_parquet()


def test_the_convert_command_names_what_it_converted(tmp_path, monkeypatch, capsys):
    from newsmarkets.cli import main

    root = tmp_path / "wh"
    old_file(root, snapshots(range(2)), f"part-{DAY.key}.parquet")
    monkeypatch.setenv("NEWSMARKETS_WAREHOUSE", str(root))
    assert main(["warehouse", "convert"]) == 0
    out = capsys.readouterr()
    assert f"{T}: 2 rows -> Delta table" in out.err and "1 table(s) converted" in out.out
    assert len(Warehouse(str(root)).read(T)) == 2


def test_a_warehouse_the_old_writer_really_wrote_converts_to_the_rows_and_owners_its_reader_returned(tmp_path):
    import shutil

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_parquet_warehouse"
    root = tmp_path / "wh"
    shutil.copytree(fixture, root)
    wh = Warehouse(str(root))
    assert wh.convert_from_parquet() == {T: 13}
    owned = wh.read_owned(T, None, ["asset_id", "observed_at", "price_usd"])
    got = sorted([d, a, o.isoformat(), p, k] for d, a, o, p, k in zip(
        owned["dt"], owned["asset_id"], owned["observed_at"], owned["price_usd"], owned[OWNER_COLUMN]))
    assert got == json.loads((fixture / "expected.json").read_text())[T]
    # the rerun folded into the compacted file kept bitcoin only at 02:00, at its new price
    assert [r for r in got if r[2].startswith("2026-01-05T02:")] == [
        ["2026-01-05", "bitcoin", "2026-01-05T02:00:00+00:00", 2.5, hour(2).key]]
