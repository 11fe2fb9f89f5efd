"""The writer under real process death and real concurrency (subprocesses, real files)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

from newsmarkets.intervals import Interval
from newsmarkets.warehouse.catalog import refresh_catalog
from newsmarkets.warehouse.writer import Warehouse

T = "price_snapshots"
DAY = Interval.for_day("2026-01-05")

# Shared by the parent and the child processes: rows of one asset, one per
# second from midnight of 2026-01-05 (UTC).
FRAME = """
import pandas as pd
def frame(asset, start_s, n, price):
    observed = pd.Timestamp("2026-01-05T00:00:00Z") + pd.to_timedelta(range(start_s, start_s + n), unit="s")
    return pd.DataFrame({
        "asset_id": asset, "symbol": asset[:3], "name": asset.title(), "price_usd": float(price),
        "market_cap_usd": None, "volume_24h_usd": 1.0, "change_24h_pct": 0.0,
        "observed_at": observed, "snapshot_at": observed, "source": "market_chart",
        "ingested_at": pd.Timestamp("2026-01-06T00:00:00Z"),
    })
"""
namespace: dict = {}
exec(FRAME, namespace)
frame = namespace["frame"]

SLOW_WRITER = FRAME + """
import sys
from newsmarkets.intervals import Interval
from newsmarkets.warehouse.writer import Warehouse
# One row per row group makes the Parquet write take seconds: time to kill it.
Warehouse(sys.argv[1], row_group_rows=1).write("price_snapshots", frame("bitcoin", 0, 20000, 2.0), Interval.for_day("2026-01-05"))
print("finished")
"""

ROUNDS_WRITER = FRAME + """
import sys
from datetime import timedelta
from newsmarkets.intervals import Interval
from newsmarkets.warehouse.writer import Warehouse
root, asset, start_h, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
start = pd.Timestamp("2026-01-05T00:00:00Z") + timedelta(hours=start_h)
interval = Interval(start.to_pydatetime(), (start + timedelta(hours=12)).to_pydatetime())
wh = Warehouse(root)
for r in range(rounds):
    # Both runs also observe the same point ("shared" at midnight): it must exist once.
    batch = pd.concat([frame(asset, start_h * 3600, 200, r), frame("shared", 0, 1, r)], ignore_index=True)
    result = wh.write("price_snapshots", batch, interval)
    assert result.partitions == ["2026-01-05"] and result.rows_written in (200, 201), result
print("ok")
"""


def test_a_writer_killed_mid_write_leaves_the_previous_file_and_no_visible_partial(tmp_path):
    root = tmp_path / "wh"
    wh = Warehouse(str(root))
    (old_file,) = wh.write(T, frame("bitcoin", 0, 3, 1.0), DAY).files
    old_bytes = Path(old_file).read_bytes()
    partition = Path(old_file).parent

    child = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(root)], stdout=subprocess.PIPE)
    deadline = time.monotonic() + 60
    temps: list[Path] = []
    while not temps:
        assert child.poll() is None, "the writer finished before it could be killed"
        assert time.monotonic() < deadline, "no temp file appeared"
        temps = [p for p in partition.iterdir() if p.name.startswith(".tmp-") and p.stat().st_size > 0]
        time.sleep(0.005)
    time.sleep(0.2)  # let it get well into the row groups
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait(timeout=10) == -signal.SIGKILL
    assert child.stdout.read() == b""

    # Killed mid-write: its temp file is still there, the published file is untouched.
    (temp,) = [p for p in partition.iterdir() if p.name.startswith(".tmp-")]
    assert temp.name.endswith(".parquet.partial") and temp.stat().st_size > 0
    assert Path(old_file).read_bytes() == old_bytes
    assert sorted(p.name for p in partition.glob("*.parquet")) == [Path(old_file).name]
    out = wh.read(T)
    assert len(out) == 3 and set(out["price_usd"]) == {1.0}
    assert refresh_catalog(wh, str(tmp_path / "c.duckdb"))[T] == 3  # DuckDB's glob ignores it too

    # The next write to the partition sweeps the leftover once it is stale.
    wh.write(T, frame("ethereum", 0, 1, 5.0), Interval(DAY.start, DAY.start.replace(hour=1)))
    assert temp.exists()  # young: might belong to a live writer
    an_hour_ago = time.time() - 3700
    os.utime(temp, (an_hour_ago, an_hour_ago))
    wh.write(T, frame("ethereum", 0, 1, 5.0), Interval(DAY.start, DAY.start.replace(hour=1)))
    assert not temp.exists()
    assert len(wh.read(T)) == 4


def test_two_processes_writing_different_intervals_of_one_partition_lose_nothing(tmp_path):
    root = str(tmp_path / "wh")
    wh = Warehouse(root)
    rounds = 25
    children = [
        subprocess.Popen([sys.executable, "-c", ROUNDS_WRITER, root, asset, str(start_h), str(rounds)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for asset, start_h in (("alpha", 0), ("beta", 12))
    ]
    reads = 0
    while any(c.poll() is None for c in children):
        out = wh.read(T)
        counts = out["asset_id"].value_counts().to_dict()
        # Every file is whole: a run's rows are all there or not yet there, from one round.
        assert counts.get("alpha", 200) == 200 and counts.get("beta", 200) == 200, counts
        assert counts.get("shared", 1) == 1, counts
        assert (out.groupby("asset_id")["price_usd"].nunique() <= 1).all()
        reads += 1
        time.sleep(0.02)
    for child in children:
        stdout, stderr = child.communicate()
        assert child.returncode == 0, stderr.decode()
        assert stdout == b"ok\n"

    final = wh.read(T)
    assert final["asset_id"].value_counts().to_dict() == {"alpha": 200, "beta": 200, "shared": 1}
    assert set(final.loc[final["asset_id"] != "shared", "price_usd"]) == {float(rounds - 1)}
    assert not final.duplicated(["asset_id", "observed_at", "source"]).any()
    assert sorted(p.name for p in (tmp_path / "wh" / T / "dt=2026-01-05").iterdir()) == [
        "part-20260105T000000Z-20260105T120000Z.parquet",
        "part-20260105T120000Z-20260106T000000Z.parquet",
    ]
    assert reads > 0
    sizes = sorted(pq.read_table(f).num_rows for f in (tmp_path / "wh" / T / "dt=2026-01-05").glob("*.parquet"))
    assert sizes == [200, 201]  # the shared point lives in exactly one interval's file
