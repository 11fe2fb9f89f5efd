"""The DuckDB catalog: views over the real Parquet files, opened the way a BI tool would."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from newsmarkets.intervals import Interval
from newsmarkets.warehouse.catalog import CatalogError, describe_catalog, refresh_catalog
from newsmarkets.warehouse.schemas import PRICE_SNAPSHOTS, TABLES
from newsmarkets.warehouse.views import VIEWS
from newsmarkets.warehouse.writer import Warehouse

DAY = Interval.for_day("2026-01-05")
EMPTY = {name: 0 for name in TABLES}
EMPTY_VIEWS = {v.name: 0 for v in VIEWS}


def snapshots(day: str, hours) -> pd.DataFrame:
    observed = pd.to_datetime([f"{day}T00:00:00Z"] * len(hours), utc=True) + pd.to_timedelta(list(hours), unit="h")
    n = len(hours)
    return pd.DataFrame({
        "asset_id": ["bitcoin"] * n, "symbol": ["btc"] * n, "name": ["Bitcoin"] * n,
        "price_usd": [1e-8] * n, "market_cap_usd": [None] * n, "volume_24h_usd": [1.0] * n,
        "change_24h_pct": [0.5] * n, "observed_at": observed, "snapshot_at": observed,
        "source": ["market_chart"] * n, "ingested_at": observed,
    })


def describe(con, view):
    return [(name, kind) for name, kind, *_ in con.execute(f"DESCRIBE {view}").fetchall()]


@pytest.fixture
def filled(tmp_path):
    wh = Warehouse(str(tmp_path / "wh"))
    wh.write("price_snapshots", pd.concat([snapshots("2026-01-05", range(24)), snapshots("2026-01-06", [0])]),
             Interval(DAY.start, DAY.end + timedelta(days=1)))
    return wh


def test_one_view_per_table_queryable_from_another_cwd_with_absolute_paths(filled, tmp_path, monkeypatch):
    catalog = tmp_path / "catalogs" / "warehouse.duckdb"
    counts = refresh_catalog(filled, str(catalog))
    assert counts == {**EMPTY, "price_snapshots": 25}

    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    con = duckdb.connect(str(catalog), read_only=True)
    try:
        assert con.execute("SELECT dt, count(*) FROM price_snapshots GROUP BY dt ORDER BY dt").fetchall() == [
            (date(2026, 1, 5), 24), (date(2026, 1, 6), 1)]
        assert con.execute("SELECT min(price_usd), count(market_cap_usd) FROM price_snapshots").fetchone() == (1e-8, 0)
        assert con.execute("SELECT count(*) FROM price_gaps WHERE dt = DATE '2026-01-05'").fetchone() == (0,)
        assert con.execute("SELECT * FROM dq_results").fetchall() == []
        (sql,) = con.execute("SELECT sql FROM duckdb_views() WHERE view_name = 'price_snapshots'").fetchone()
        # exactly the committed version's files, by absolute path
        assert all(f"'{f}'" in sql for f in filled.files("price_snapshots")) and "*.parquet" not in sql
        kinds = dict(describe(con, "price_snapshots"))
        assert kinds["dt"] == "DATE" and kinds["observed_at"] == "TIMESTAMP WITH TIME ZONE"
        assert [n for n, _ in describe(con, "price_snapshots")] == PRICE_SNAPSHOTS.schema.names
        assert con.execute("SELECT comment FROM duckdb_views() WHERE view_name = 'price_snapshots'").fetchone() == (
            PRICE_SNAPSHOTS.description,)
    finally:
        con.close()


def test_an_empty_tables_view_has_the_same_columns_and_types_as_a_filled_one(filled, tmp_path):
    empty_wh = Warehouse(str(tmp_path / "empty"))
    refresh_catalog(empty_wh, str(tmp_path / "empty.duckdb"))
    refresh_catalog(filled, str(tmp_path / "filled.duckdb"))
    with duckdb.connect(str(tmp_path / "empty.duckdb"), read_only=True) as empty, \
         duckdb.connect(str(tmp_path / "filled.duckdb"), read_only=True) as full:
        for name in TABLES:
            if name == "price_snapshots":
                assert describe(empty, name) == describe(full, name)
            assert empty.execute(f"SELECT count(*) FROM {name}").fetchone() == (0,)


def test_refresh_replaces_the_file_without_disturbing_open_readers(filled, tmp_path):
    catalog = str(tmp_path / "warehouse.duckdb")
    refresh_catalog(filled, catalog)
    reader = duckdb.connect(catalog, read_only=True)
    try:
        filled.write("price_gaps", pd.DataFrame({
            "asset_id": ["bitcoin"], "gap_start_at": [pd.Timestamp("2026-01-05T03:00Z")],
            "gap_end_at": [pd.Timestamp("2026-01-05T04:00Z")], "expected_points": [1], "received_points": [0],
            "reason": ["missing_hours"], "source": ["market_chart"], "run_id": ["r"],
            "ingested_at": [pd.Timestamp("2026-01-06T00:00Z")]}), DAY)
        assert refresh_catalog(filled, catalog)["price_gaps"] == 1
        # The old file (an empty-table view) is still what this reader sees.
        assert reader.execute("SELECT count(*) FROM price_gaps").fetchone() == (0,)
    finally:
        reader.close()
    assert dict(describe_catalog(catalog)) == {**EMPTY, **EMPTY_VIEWS, "price_snapshots": 25, "price_gaps": 1,
                                               "latest_prices": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["warehouse.duckdb", "warehouse.duckdb.lock", "wh"]


def test_only_the_given_tables_get_views(filled, tmp_path):
    catalog = str(tmp_path / "c.duckdb")
    assert refresh_catalog(filled, catalog, [PRICE_SNAPSHOTS]) == {"price_snapshots": 25}
    # plus the convenience views built only on the tables given
    assert describe_catalog(catalog) == [("latest_prices", 1), ("price_snapshots", 25)]


def test_bad_catalog_paths_are_named(filled, tmp_path):
    with pytest.raises(CatalogError, match="must be a local file"):
        refresh_catalog(filled, "s3://bucket/warehouse.duckdb")
    with pytest.raises(CatalogError, match="missing.duckdb does not exist"):
        describe_catalog(str(tmp_path / "missing.duckdb"))


REFRESHER = """
import sys
from newsmarkets.warehouse.catalog import refresh_catalog
from newsmarkets.warehouse.writer import Warehouse
wh = Warehouse(sys.argv[1])
for _ in range(int(sys.argv[3])):
    assert refresh_catalog(wh, sys.argv[2])["price_snapshots"] == 25
"""


def test_concurrent_refreshes_from_two_processes_never_corrupt_the_catalog(filled, tmp_path):
    catalog = str(tmp_path / "shared.duckdb")
    refresh_catalog(filled, catalog)
    procs = [subprocess.Popen([sys.executable, "-c", REFRESHER, filled.root, catalog, "6"]) for _ in range(2)]
    reads = 0
    while any(p.poll() is None for p in procs):
        with duckdb.connect(catalog, read_only=True) as con:
            assert con.execute("SELECT count(*) FROM price_snapshots").fetchone() == (25,)
        reads += 1
        time.sleep(0.01)  # leave the two cores to the refreshers
    assert [p.returncode for p in procs] == [0, 0]
    assert reads > 0
    assert describe_catalog(catalog) == sorted({**EMPTY, **EMPTY_VIEWS, "price_snapshots": 25, "latest_prices": 1}.items())
    assert not [p for p in Path(tmp_path).glob(".shared.duckdb.tmp-*")]


def _rows(spec, n, **columns):
    """A frame of ``n`` rows with every column of ``spec``: given values, else a neutral default."""
    defaults = {"string": "x", "double": 0.0, "int64": 0, "bool": False}
    frame = {}
    for field in spec.schema:
        if field.name == spec.partition_by:
            continue
        if field.name in columns:
            frame[field.name] = columns[field.name]
        elif str(field.type).startswith("timestamp"):
            frame[field.name] = [pd.Timestamp("2026-01-05T10:00Z")] * n
        elif str(field.type).startswith("list"):
            frame[field.name] = [[] for _ in range(n)]
        else:
            frame[field.name] = [defaults[str(field.type)]] * n
    return pd.DataFrame(frame)


def test_convenience_views_join_titles_to_moves_and_rank_sources(tmp_path):
    wh = Warehouse(str(tmp_path / "wh"))
    at = pd.Timestamp("2026-01-05T10:00Z")
    wh.write("articles", _rows(TABLES["articles"], 2, article_id=["a1", "a2"], story_id=["s1", "s2"],
                               source=["coinwire", "ledgerpost"], title=["Bitcoin jumps", "Rates on hold"],
                               url=["http://x/1", "http://x/2"], published_at=[at, at], is_original=[True, True]), DAY)
    wh.write("news_market_moves", _rows(
        TABLES["news_market_moves"], 4,
        article_id=["a1", "a1", "a2", "a2"], story_id=["s1", "s1", "s2", "s2"],
        asset_id=["bitcoin", "market", "market", "market"], horizon=["1h", "1h", "1h", "4h"],
        horizon_minutes=[60, 60, 60, 240], published_at=[at] * 4,
        abnormal_return=[0.05, 0.001, -0.002, 0.0], abnormal_z=[4.0, 0.2, -0.3, 0.0],
        is_significant=[True, False, False, False], is_settled=[True] * 4,
        missing_reason=[None, None, None, "no prices yet"]), DAY)
    catalog = str(tmp_path / "c.duckdb")
    refresh_catalog(wh, catalog)
    with duckdb.connect(catalog, read_only=True) as con:
        assert con.execute(
            "SELECT title, asset_id, abnormal_z FROM article_moves WHERE is_significant").fetchall() == [
            ("Bitcoin jumps", "bitcoin", 4.0)]
        assert con.execute("SELECT count(*) FROM article_moves").fetchone() == (4,)
        # rows still missing prices do not count towards a source's lead rate
        assert con.execute("""SELECT source, horizon, stories_first_reported, stories_followed_by_significant_move,
                                     lead_rate FROM source_lead ORDER BY ALL""").fetchall() == [
            ("coinwire", "1h", 1, 1, 1.0), ("ledgerpost", "1h", 1, 0, 0.0)]


def test_caar_views_average_abnormal_returns_with_t_statistics(tmp_path):
    wh = Warehouse(str(tmp_path / "wh"))
    at = pd.Timestamp("2026-01-05T10:00Z")
    ids = ["a1", "a2", "a3", "a4"]
    wh.write("articles", _rows(TABLES["articles"], 4, article_id=ids, story_id=["s1", "s2", "s3", "s4"],
                               source=["coinwire", "coinwire", "coinwire", "ledgerpost"], title=["t"] * 4,
                               url=[f"http://x/{i}" for i in ids], published_at=[at] * 4, is_original=[True] * 4), DAY)
    wh.write("news_market_moves", _rows(
        TABLES["news_market_moves"], 6,
        article_id=["a1", "a2", "a3", "a4", "a1", "a2"], story_id=["s1", "s2", "s3", "s4", "s1", "s2"],
        asset_id=["bitcoin", "bitcoin", "bitcoin", "solana", "market", "market"], horizon=["1h"] * 6,
        horizon_minutes=[60] * 6, published_at=[at] * 6,
        abnormal_return=[0.02, 0.04, 0.5, -0.01, 0.001, 0.003], abnormal_z=[2.0, 4.0, 9.0, -1.0, 0.1, 0.3],
        is_significant=[True, True, True, False, False, False], is_settled=[True] * 6,
        is_confounded=[False, False, True, False, False, False],
        missing_reason=[None] * 6), DAY)
    catalog = str(tmp_path / "c.duckdb")
    refresh_catalog(wh, catalog)
    with duckdb.connect(catalog, read_only=True) as con:
        rows = con.execute("""SELECT source, event_window, rows, caar, t_stat, share_significant
                              FROM caar_by_source ORDER BY ALL""").fetchall()
        # coinwire's clean rows: +2 % and +4 %: mean 0.03, sd 0.01414, t = 0.03 / (0.01414 / sqrt 2) = 3.0
        assert rows[0][:3] == ("coinwire", "clean", 2) and rows[0][3] == pytest.approx(0.03)
        assert rows[0][4] == pytest.approx(3.0) and rows[0][5] == 1.0
        # the confounded row stays out of the clean mean; one row has no t-statistic; market rows are not a source's
        assert rows[1][:4] == ("coinwire", "confounded", 1, pytest.approx(0.5)) and rows[1][4] is None
        assert rows[2][:4] == ("ledgerpost", "clean", 1, pytest.approx(-0.01))
        assert len(rows) == 3
        by_asset = dict(con.execute("SELECT asset_id, caar FROM caar_by_asset WHERE event_window = 'clean'").fetchall())
        assert by_asset == {"bitcoin": pytest.approx(0.03), "solana": pytest.approx(-0.01), "market": pytest.approx(0.002)}


def test_the_demo_report_compares_each_delta_tables_rows_with_its_catalog_view(filled, tmp_path, monkeypatch):
    from newsmarkets.config import load_config
    from newsmarkets.local.report import table_counts

    monkeypatch.setenv("NEWSMARKETS_WAREHOUSE", filled.root)
    catalog = str(tmp_path / "c.duckdb")
    counts = refresh_catalog(filled, catalog)
    rows = {t["table"]: t for t in table_counts(load_config(), counts)}
    assert set(rows) == set(TABLES) and all(t["is_equal"] for t in rows.values())
    assert (rows["price_snapshots"]["version"], rows["price_snapshots"]["table_rows"]) == (1, 25)
    # a commit the catalog has not been refreshed for shows as a difference
    filled.write("price_snapshots", snapshots("2026-01-07", [0]), Interval.for_day("2026-01-07"))
    rows = {t["table"]: t for t in table_counts(load_config(), counts)}
    assert not rows["price_snapshots"]["is_equal"] and rows["price_snapshots"]["table_rows"] == 26
