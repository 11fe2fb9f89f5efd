"""A long-lived reader of an s3:// warehouse sees what other processes wrote since it last looked.

fsspec keeps one S3 filesystem per process and caches its listings; a task
or notebook that read a table, then read it again after another worker
rewrote a partition, saw the old file list (and s3fs raised ``FileExpired``
on the rewritten file). Real S3 endpoint (moto's server) on 127.0.0.1, the
other writer a separate process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import duckdb
import pandas as pd
import pytest

from newsmarkets.local.s3_server import S3Server
from newsmarkets.warehouse.catalog import describe_catalog, refresh_catalog
from newsmarkets.warehouse.storage import storage_options_from_env
from newsmarkets.warehouse.writer import Warehouse

pytestmark = pytest.mark.slow  # ~20 s: an S3 server and two writer processes

ROOT = "s3://newsmarkets/warehouse"
DAY = "2026-01-06"

WRITE = textwrap.dedent('''
    import sys
    import pandas as pd
    from newsmarkets.intervals import Interval
    from newsmarkets.warehouse.storage import storage_options_from_env
    from newsmarkets.warehouse.writer import Warehouse

    wh = Warehouse(sys.argv[1], storage_options_from_env(sys.argv[1]))
    n = int(sys.argv[2])
    observed = pd.to_datetime(["%s"] * n, utc=True) + pd.to_timedelta(range(n), unit="h")
    frame = pd.DataFrame({
        "asset_id": ["bitcoin"] * n, "symbol": ["btc"] * n, "name": ["Bitcoin"] * n,
        "price_usd": [100.0 + i for i in range(n)], "market_cap_usd": [1e12] * n, "volume_24h_usd": [5e9] * n,
        "change_24h_pct": [0.5] * n, "observed_at": observed, "snapshot_at": observed,
        "source": ["market_chart"] * n, "ingested_at": pd.to_datetime(["2026-01-07T00:00:00Z"] * n, utc=True),
    })
    wh.write("price_snapshots", frame, Interval.for_day("%s"))
''' % (DAY, DAY))


@pytest.fixture
def s3(tmp_path):
    with S3Server(tmp_path / "s3", "newsmarkets") as server:
        yield server


def _write_elsewhere(s3, rows: int) -> None:
    done = subprocess.run([sys.executable, "-c", WRITE, ROOT, str(rows)], env={**os.environ, **s3.client_env},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_reader_sees_partitions_and_rewrites_by_other_processes(s3):
    table = "price_snapshots"
    reader = Warehouse(ROOT, storage_options_from_env(ROOT, s3.client_env))
    assert reader.files(table) == []
    _write_elsewhere(s3, 3)
    assert len(reader.files(table)) == 1  # a new file appears
    first = reader.read(table)
    _write_elsewhere(s3, 5)  # the rerun rewrites the same object
    again = reader.read(table)
    assert len(first) == 3 and len(again) == 5
    assert isinstance(again, pd.DataFrame)


def test_catalog_views_of_an_s3_warehouse_carry_the_urls_and_read_through_fsspec(s3, tmp_path):
    table = "price_snapshots"
    _write_elsewhere(s3, 3)
    wh = Warehouse(ROOT, storage_options_from_env(ROOT, s3.client_env))
    catalog = str(tmp_path / "remote.duckdb")
    assert refresh_catalog(wh, catalog)[table] == 3
    with duckdb.connect(catalog, read_only=True) as con:
        (sql,) = con.execute(f"SELECT sql FROM duckdb_views() WHERE view_name = '{table}'").fetchone()
    (url,) = wh.files(table)
    assert url.startswith(f"{ROOT}/{table}/dt={DAY}/") and f"'{url}'" in sql
    # Without the filesystem (or httpfs and credentials) the view cannot be read; with it, it can.
    assert dict(describe_catalog(catalog))[table] is None
    assert dict(describe_catalog(catalog, wh))[table] == 3


def test_converting_a_warehouse_of_the_retired_layout_on_s3(s3, tmp_path):
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "unit"))
    from test_delta_warehouse import DAY as HOUR_DAY, hour, snapshots
    from test_legacy_parquet import old_file

    local = tmp_path / "old"
    old_file(local, snapshots(range(2)), f"part-{HOUR_DAY.key}.parquet")
    old_file(local, snapshots([5]), "compacted.parquet", pieces=[(f"part-{hour(5).key}.parquet", 1, "w5")])
    wh = Warehouse(ROOT, storage_options_from_env(ROOT, s3.client_env))
    for path in sorted(local.rglob("*.parquet")):
        wh.storage.fs.put_file(str(path), f"{ROOT}/{path.relative_to(local).as_posix()}")
    assert wh.convert_from_parquet() == {"price_snapshots": 3}
    owned = wh.read_owned("price_snapshots", None, ["observed_at"])
    assert sorted(owned["interval_key"]) == sorted([HOUR_DAY.key] * 2 + [hour(5).key])
    backup = wh.storage.find(f"{ROOT}/_parquet_backup/price_snapshots")
    assert len([p for p in backup if p.endswith(".parquet")]) == 2
    assert wh.convert_from_parquet() == {}
