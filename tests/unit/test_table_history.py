"""Undoing a bad load and finding damaged files: `newsmarkets table history|restore|check` on real Delta tables."""

from __future__ import annotations

import os
from datetime import timedelta

import duckdb
import pandas as pd
import pytest

from newsmarkets.cli import main
from newsmarkets.warehouse.catalog import refresh_catalog
from newsmarkets.warehouse.versions import TableVersionError, check_table, restore
from newsmarkets.warehouse.writer import Warehouse
from test_delta_warehouse import DAY, T, snapshots


@pytest.fixture
def root(tmp_path, monkeypatch):
    root = tmp_path / "wh"
    monkeypatch.setenv("NEWSMARKETS_WAREHOUSE", str(root))
    for name in ("AIRFLOW_CTX_DAG_ID", "AIRFLOW_CTX_DAG_RUN_ID", "AIRFLOW_CTX_TASK_ID"):
        monkeypatch.delenv(name, raising=False)
    return root


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_history_shows_a_good_and_a_bad_load_and_restore_brings_back_the_good_one(root, capsys, monkeypatch):
    wh = Warehouse(str(root))
    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "prices_history")
    monkeypatch.setenv("AIRFLOW_CTX_DAG_RUN_ID", "backfill__2026-01-05T00:00:00+00:00")
    monkeypatch.setenv("AIRFLOW_CTX_TASK_ID", "publish")
    wh.write(T, snapshots(range(24)), DAY)
    good = wh.read(T)
    monkeypatch.setenv("AIRFLOW_CTX_DAG_RUN_ID", "manual__bad")
    wh.write(T, snapshots(range(6), price=-1.0), DAY)  # a bad batch: 6 rows at a wrong price, 18 gone
    assert len(wh.read(T)) == 6

    code, out, _ = run(capsys, "table", "history", T)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"table {T}: 3 commit(s), newest first"
    assert lines[2].split()[:3] == ["2", *lines[2].split()[1:3]] and "MERGE" in lines[2]
    assert "prices_history manual__bad publish" in lines[2] and "backfill__2026-01-05" in lines[3]
    assert lines[3].split()[4:9] == ["24", "0", "0", "1", "0"]  # +rows ~rows -rows +files -files of the good load
    assert lines[2].split()[4:7] == ["0", "6", "18"]
    assert "CREATE TABLE" in lines[4]

    code, out, _ = run(capsys, "table", "restore", T, "--version", "1")
    assert code == 0 and f"table {T}: restored version 1 as version 3 (was version 2; undo with --version 2)" in out
    assert "catalog" in out and "refreshed" in out
    pd.testing.assert_frame_equal(Warehouse(str(root)).read(T), good)
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute(f"SELECT count(*), min(price_usd) FROM {T}").fetchone() == (24, 100.0)
    history = wh.table_history(T, limit=1)[0]
    assert (history["operation"], history["restored_version"], history["run_id"]) == ("RESTORE", 1, "manual__bad")
    # the restore is a version like any other: it can be undone the same way
    code, out, _ = run(capsys, "table", "restore", T, "--version", "2", "--no-catalog")
    assert code == 0 and len(Warehouse(str(root)).read(T)) == 6


def test_restore_by_timestamp_takes_the_version_current_then(root):
    wh = Warehouse(str(root))
    wh.write(T, snapshots(range(24)), DAY)
    first_at = wh.table_history(T, limit=1)[0]["committed_at"]
    wh.write(T, snapshots(range(2)), DAY)
    done = restore(wh, T, at=first_at + timedelta(milliseconds=1))
    assert done["restored_version"] == 1 and len(wh.read(T)) == 24
    with pytest.raises(TableVersionError, match=f"table '{T}': no version as of 2000-.*created at"):
        restore(wh, T, at=first_at.replace(year=2000))


def test_unknown_tables_and_versions_are_one_clear_line(root, capsys):
    Warehouse(str(root)).write(T, snapshots(range(2)), DAY)
    code, _, err = run(capsys, "table", "restore", T, "--version", "9", "--no-catalog")
    assert code == 2 and err.strip() == f"newsmarkets: TableVersionError: table '{T}' has versions 0 to 1, not 9"
    code, _, err = run(capsys, "table", "history", "prices")
    assert code == 2 and "unknown table 'prices' (known: " in err and "price_snapshots" in err
    code, _, err = run(capsys, "table", "history", "articles")
    assert code == 2 and "table 'articles' does not exist yet" in err
    code, _, err = run(capsys, "table", "restore", T, "--timestamp", "2026-01-01T00:00")
    assert code == 2 and "--timestamp" in err and "no timezone" in err
    with pytest.raises(SystemExit):  # argparse: one of --version / --timestamp is required
        main(["table", "restore", T])


def test_a_truncated_data_file_is_named_with_the_last_good_version_and_restore_repairs_it(root, capsys):
    wh = Warehouse(str(root))
    wh.write(T, snapshots(range(24)), DAY)
    wh.write(T, snapshots(range(24), price=5.0), DAY)  # version 2: one new file
    good = wh.read(T)
    wh.write(T, snapshots([1], day="2026-01-06"), DAY.__class__.for_day("2026-01-06"))  # version 3, another partition
    wh.write("price_gaps", pd.DataFrame({
        "asset_id": ["bitcoin"], "gap_start_at": [pd.Timestamp("2026-01-05T03:00Z")],
        "gap_end_at": [pd.Timestamp("2026-01-05T04:00Z")], "expected_points": [1], "received_points": [0],
        "reason": ["missing_hours"], "source": ["market_chart"], "run_id": ["r"],
        "ingested_at": [pd.Timestamp("2026-01-06T00:00Z")]}), DAY)
    damaged = wh.files(T, ["2026-01-05"])[0]
    with open(damaged, "r+b") as handle:
        handle.truncate(os.path.getsize(damaged) // 2)
    # the version-2 file is damaged, so versions 2 and 3 are not whole; version 1's file is
    check = check_table(wh, T)
    assert not check.is_healthy and check.version == 3 and check.files_checked == 2
    assert [(b.partition, b.path) for b in check.bad_files] == [("2026-01-05", damaged)]
    assert "truncated" in check.bad_files[0].problem and check.last_good_version == 1

    code, out, _ = run(capsys, "table", "check", T, "price_gaps")
    assert code == 1
    assert f"partition 2026-01-05: {damaged}:" in out and f"newsmarkets table restore {T} --version 1" in out
    assert "table price_gaps: version 1, 1 data files, all readable" in out

    # the catalog refresh builds every other table's view, then fails naming the damaged one
    from newsmarkets.warehouse.catalog import CatalogError

    catalog = root / "warehouse.duckdb"
    with pytest.raises(CatalogError, match=rf"(?s){T}.*{os.path.basename(damaged)}.*--version 1"):
        refresh_catalog(wh, catalog)
    with duckdb.connect(str(catalog), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM price_gaps").fetchone() == (1,)
        views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    assert T not in views and "articles" in views

    restore(wh, T, version=1)
    assert check_table(wh, T).is_healthy
    assert len(wh.read(T)) == 24 and wh.read(T)["price_usd"].min() == 100.0
    assert len(good) == 24
    refresh_catalog(wh, catalog)  # whole again


def test_warehouse_init_creates_every_missing_table_and_says_so(root, capsys):
    from newsmarkets.warehouse.schemas import TABLES

    Warehouse(str(root)).write(T, snapshots(range(2)), DAY)
    code, out, _ = run(capsys, "warehouse", "init")
    assert code == 0 and f"{len(TABLES)} Delta table(s) ready" in out
    assert f"  {T:<24} version 1" in out and f"  {'articles':<24} version 0" in out
    assert run(capsys, "warehouse", "init")[1] == out  # idempotent: nothing new the second time
