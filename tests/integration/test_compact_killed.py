"""Compaction and reruns into compacted partitions under real SIGKILLs, with readers watching."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from newsmarkets.warehouse import compact
from newsmarkets.warehouse.catalog import refresh_catalog
from newsmarkets.warehouse.writer import Warehouse

T = "price_snapshots"
KEY = ["asset_id", "observed_at", "source"]
DAY = "2026-01-05"

# Shared by the parent and the children: hour h of a day, n assets, one row per asset and minute.
FRAME = """
import pandas as pd
from newsmarkets.intervals import Interval
def hour(h, day="2026-01-05"):
    start = pd.Timestamp(day + "T00:00:00Z") + pd.Timedelta(hours=h)
    return Interval(start.to_pydatetime(), (start + pd.Timedelta(hours=1)).to_pydatetime())
def rows(h, n=3, price=1.0, day="2026-01-05", minutes=60):
    observed = [pd.Timestamp(day + "T00:00:00Z") + pd.Timedelta(hours=h, minutes=m) for m in range(minutes)]
    return pd.DataFrame([{
        "asset_id": f"a{i}", "symbol": f"a{i}", "name": f"A{i}", "price_usd": price, "market_cap_usd": None,
        "volume_24h_usd": 1.0, "change_24h_pct": 0.0, "observed_at": t, "snapshot_at": t, "source": "markets",
        "ingested_at": pd.Timestamp("2026-01-07T00:00:00Z")} for i in range(n) for t in observed])
"""
namespace: dict = {}
exec(FRAME, namespace)
hour, rows = namespace["hour"], namespace["rows"]

# Kills itself at a named point of the compaction (the real signal, not an exception).
KILL_AT = FRAME + """
import os, signal, sys
from newsmarkets.warehouse import compact, storage
from newsmarkets.warehouse.writer import Warehouse
root, point = sys.argv[1], sys.argv[2]
def die():
    os.kill(os.getpid(), signal.SIGKILL)
real_exchange, real_remove = compact.exchange_dirs, storage.Storage.remove
def exchange(a, b):
    if point == "before_swap":
        die()
    real_exchange(a, b)
    if point == "after_swap":
        die()
def remove(self, path):
    if point == "ordered_before_deletes":
        die()
    real_remove(self, path)
compact.exchange_dirs = exchange
storage.Storage.remove = remove
compact.compact_partition(Warehouse(root), "price_snapshots", "2026-01-05", allow_swap=point != "ordered_before_deletes")
print("finished")
"""

SLOW_COMPACTION = """
import sys
from newsmarkets.warehouse import compact
from newsmarkets.warehouse.writer import Warehouse
# One row per row group: writing the compacted file takes seconds, time to kill it.
compact.compact_partition(Warehouse(sys.argv[1], row_group_rows=1), "price_snapshots", "2026-01-05")
print("finished")
"""

SLOW_RERUN = FRAME + """
import sys
from newsmarkets.warehouse.writer import Warehouse
Warehouse(sys.argv[1], row_group_rows=1).write("price_snapshots", rows(5, n=10, price=9.0), hour(5))
print("finished")
"""

COMPACT_ALL = """
import sys
from newsmarkets.warehouse import compact
from newsmarkets.warehouse.writer import Warehouse
print(compact.compact_closed(Warehouse(sys.argv[1]), "2026-12-31", ["price_snapshots"]))
"""


def sorted_rows(wh: Warehouse) -> pd.DataFrame:
    return wh.read(T).sort_values(KEY).reset_index(drop=True)


def day_of_files(wh: Warehouse, hours: int = 24, **kw) -> pd.DataFrame:
    for h in range(hours):
        wh.write(T, rows(h, **kw), hour(h, kw.get("day", DAY)))
    return sorted_rows(wh)


def run_child(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, timeout=120)


def parquet_names(root: Path, day: str = DAY) -> list[str]:
    return sorted(p.name for p in (root / T / f"dt={day}").glob("*.parquet"))


@pytest.mark.parametrize("point", ["before_swap", "after_swap"])
def test_a_compaction_killed_around_the_swap_leaves_exact_rows(tmp_path, point):
    root = tmp_path / "wh"
    wh = Warehouse(str(root))
    expected = day_of_files(wh)
    child = run_child(KILL_AT, str(root), point)
    assert child.returncode == -signal.SIGKILL and child.stdout == b"", child.stderr.decode()[-2000:]

    pd.testing.assert_frame_equal(sorted_rows(wh), expected)
    assert refresh_catalog(wh, str(tmp_path / "c.duckdb"))[T] == len(expected)
    if point == "before_swap":
        assert len(parquet_names(root)) == 24  # the live partition was never touched
    else:
        assert parquet_names(root) == ["compacted.parquet"]  # the new partition is whole
    leftovers = list((root / "_staging" / "_compact" / T).iterdir())
    assert len(leftovers) == 1  # the staged (or replaced) folder, swept once stale

    done = compact.compact_partition(wh, T, DAY)
    assert (done is None) == (point == "after_swap")
    assert parquet_names(root) == ["compacted.parquet"]
    pd.testing.assert_frame_equal(sorted_rows(wh), expected)
    an_hour_ago = time.time() - 3700
    os.utime(leftovers[0], (an_hour_ago, an_hour_ago))
    assert compact.sweep_compaction_leftovers(wh.storage, compact.table_spec(T)) == [str(leftovers[0])]


def test_the_object_store_order_killed_before_deletes_never_loses_rows_and_heals(tmp_path):
    root = tmp_path / "wh"
    wh = Warehouse(str(root))
    expected = day_of_files(wh)
    child = run_child(KILL_AT, str(root), "ordered_before_deletes")
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    # No atomic multi-file step exists on object stores: the documented worst case is duplicates, never loss.
    seen = sorted_rows(wh)
    assert len(seen) == 2 * len(expected)
    pd.testing.assert_frame_equal(seen.drop_duplicates().reset_index(drop=True), expected)
    # The next compaction (or any write to the partition) removes the sources the compacted file holds.
    assert compact.compact_partition(wh, T, DAY) is None
    assert parquet_names(root) == ["compacted.parquet"]
    pd.testing.assert_frame_equal(sorted_rows(wh), expected)


def test_a_compaction_killed_while_writing_leaves_the_partition_untouched(tmp_path):
    root = tmp_path / "wh"
    wh = Warehouse(str(root))
    expected = day_of_files(wh, hours=12, n=10)  # 7200 rows: seconds to write one per row group
    child = subprocess.Popen([sys.executable, "-c", SLOW_COMPACTION, str(root)], stdout=subprocess.PIPE)
    staging = root / "_staging" / "_compact" / T
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".tmp-") and p.stat().st_size > 0 for p in staging.glob("*/*/.tmp-*")):
        assert child.poll() is None, "the compaction finished before it could be killed"
        assert time.monotonic() < deadline, "no temp file appeared"
        time.sleep(0.005)
    time.sleep(0.2)
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait(timeout=10) == -signal.SIGKILL and child.stdout.read() == b""
    assert len(parquet_names(root)) == 12
    pd.testing.assert_frame_equal(sorted_rows(wh), expected)


def test_a_rerun_killed_while_folding_into_the_compacted_file_keeps_the_old_rows(tmp_path):
    root = tmp_path / "wh"
    wh = Warehouse(str(root))
    expected = day_of_files(wh, hours=12, n=10)
    compact.compact_partition(wh, T, DAY)
    compacted = root / T / f"dt={DAY}" / "compacted.parquet"
    before = compacted.read_bytes()
    child = subprocess.Popen([sys.executable, "-c", SLOW_RERUN, str(root)], stdout=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not any(p.stat().st_size > 0 for p in compacted.parent.glob(".tmp-*.parquet.partial")):
        assert child.poll() is None, "the rerun finished before it could be killed"
        assert time.monotonic() < deadline, "no temp file appeared"
        time.sleep(0.005)
    time.sleep(0.2)
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait(timeout=10) == -signal.SIGKILL
    assert compacted.read_bytes() == before and parquet_names(root) == ["compacted.parquet"]
    pd.testing.assert_frame_equal(sorted_rows(wh), expected)

    # Airflow's retry: the rerun completes, folded in, no duplicate, no part file.
    wh.write(T, rows(5, n=10, price=9.0), hour(5))
    out = sorted_rows(wh)
    assert len(out) == len(expected) and not out.duplicated(KEY).any()
    assert set(out.loc[out["observed_at"].dt.hour == 5, "price_usd"]) == {9.0}
    assert parquet_names(root) == ["compacted.parquet"]


def test_readers_never_see_duplicates_or_missing_rows_while_compactions_are_killed(tmp_path):
    root = tmp_path / "wh"
    wh = Warehouse(str(root))
    days = [f"2026-01-{d:02d}" for d in range(1, 13)]
    for day in days:
        for h in range(24):
            wh.write(T, rows(h, n=2, day=day, minutes=3), hour(h, day))
    expected = sorted_rows(wh)
    rng = random.Random(7)
    reads = kills = 0
    catalog = str(tmp_path / "c.duckdb")
    while True:
        child = subprocess.Popen([sys.executable, "-c", COMPACT_ALL, str(root)], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
        # Starting the interpreter and pandas takes ~1.5 s (more on a loaded box); after 5 kills let it finish.
        kill_at = time.monotonic() + (rng.uniform(1.5, 4.0) if kills < 5 else 600)
        while child.poll() is None and time.monotonic() < kill_at:
            out = wh.read(T)
            assert len(out) == len(expected) and not out.duplicated(KEY).any(), (len(out), len(expected))
            reads += 1
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=10)
            kills += 1
            pd.testing.assert_frame_equal(sorted_rows(wh), expected)
            assert refresh_catalog(wh, catalog)[T] == len(expected)
            continue
        assert child.returncode == 0, child.stderr.read().decode()[-2000:]
        break
    assert all(parquet_names(root, d) == ["compacted.parquet"] for d in days)
    pd.testing.assert_frame_equal(sorted_rows(wh), expected)
    assert reads > 0
    print(f"{kills} kill(s), {reads} concurrent reads")
