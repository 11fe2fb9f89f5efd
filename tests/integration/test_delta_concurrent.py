"""Delta tables under concurrent writers, killed writers and many reads: nothing lost, nothing twice, exit 0.

Writers are separate processes (deltalake must not be used across a fork),
started together behind a file barrier so their commits really race; their
keys collide on purpose (same table, partition and keys), and a compactor
(OPTIMIZE) rewrites the partition while they commit. The outcome must
equal a clean sequential run in the order the commits landed: first writer
wins per key, every key once, none missing. On local disk here, and on the
S3 endpoint (moto's server on 127.0.0.1, ``conditional_put=etag``) in the slow tier.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from newsmarkets.warehouse.writer import Warehouse

DAY = "2026-01-05"

# One writer: waits for the barrier file, publishes hours [first, first + count) of bitcoin
# as its own interval (hour ``index`` of the day) and prints what the commit did.
WRITER = textwrap.dedent('''
    import json, os, sys, time
    from datetime import timedelta
    import pandas as pd
    from newsmarkets.intervals import Interval
    from newsmarkets.warehouse.storage import storage_options_from_env
    from newsmarkets.warehouse.writer import Warehouse

    root, index, first, count, barrier = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    day = Interval.for_day("%s")
    interval = Interval(day.start + timedelta(hours=index), day.start + timedelta(hours=index + 1))
    observed = pd.to_datetime(["%sT00:00:00Z"] * count, utc=True) + pd.to_timedelta(range(first, first + count), unit="min")
    frame = pd.DataFrame({
        "asset_id": ["bitcoin"] * count, "symbol": ["btc"] * count, "name": ["Bitcoin"] * count,
        "price_usd": [1000.0 * index + i for i in range(count)], "market_cap_usd": [None] * count,
        "volume_24h_usd": [1.0] * count, "change_24h_pct": [0.0] * count, "observed_at": observed,
        "snapshot_at": observed, "source": ["markets"] * count,
        "ingested_at": pd.to_datetime(["2026-01-06T00:00:00Z"] * count, utc=True),
    })
    wh = Warehouse(root, storage_options_from_env(root))
    while barrier != "-" and not os.path.exists(barrier):
        time.sleep(0.01)
    result = wh.write("price_snapshots", frame, interval)
    print(json.dumps({"index": index, "version": result.table_version, "rows_written": result.rows_written,
                      "duplicates_dropped": result.duplicates_dropped}))
''' % (DAY, DAY))

READER = textwrap.dedent('''
    import sys
    from newsmarkets.warehouse.storage import storage_options_from_env
    from newsmarkets.warehouse.writer import Warehouse

    wh = Warehouse(sys.argv[1], storage_options_from_env(sys.argv[1]))
    frame = wh.read("price_snapshots")
    owned = wh.read_owned("price_snapshots", None, ["asset_id", "observed_at"])
    assert len(frame) == len(owned) == int(sys.argv[2]), (len(frame), len(owned))
''')

# Compaction racing the writers: OPTIMIZE of the day (closed as of the next one) a few times
# while they commit; prints how many of its runs rewrote files.
COMPACTOR = textwrap.dedent('''
    import json, os, sys, time
    from datetime import date
    from newsmarkets.warehouse.storage import storage_options_from_env
    from newsmarkets.warehouse.writer import Warehouse

    root, barrier = sys.argv[1], sys.argv[2]
    wh = Warehouse(root, storage_options_from_env(root))
    while not os.path.exists(barrier):
        time.sleep(0.01)
    rewrote = 0
    for _ in range(6):
        _, summary = wh.compact_closed(date(2026, 1, 6), 1, ["price_snapshots"])
        rewrote += summary["price_snapshots"]["files_before"] > 0
        time.sleep(0.2)
    print(json.dumps({"compactions": rewrote}))
''')

# (first minute, count) per writer: each overlaps its neighbours.
PLAN = [(0, 40), (20, 40), (30, 40), (50, 40), (10, 30), (60, 40)]


def _start(root: str, index: int, first: int, count: int, barrier: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, root, str(index), str(first), str(count), barrier],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _race(root: str, barrier: Path, env: dict, plan=PLAN, *, compactor: bool = True) -> list[dict]:
    """Run the writers (and a compactor) together; the writers' outcomes."""
    procs = [_start(root, i, first, count, str(barrier), env) for i, (first, count) in enumerate(plan)]
    if compactor:
        procs.append(subprocess.Popen([sys.executable, "-c", COMPACTOR, root, str(barrier)], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, env=env))
    time.sleep(1.0)  # let every writer import and reach the barrier
    barrier.touch()
    outcomes = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]  # 0, not an exit-time abort (134)
        outcomes.append(json.loads(out.strip().splitlines()[-1]))
    if compactor:
        assert outcomes.pop()["compactions"] >= 1  # it did rewrite files while they wrote
    return outcomes


def _expected_in_commit_order(outcomes: list[dict], plan=PLAN) -> dict:
    """What a sequential run in the order the commits landed publishes: the first writer of a key wins."""
    expected: dict[int, float] = {}
    # A writer whose every key was held already made no commit (delta-rs commits nothing
    # for a merge that changes nothing): in a sequential run it came after those holders.
    for outcome in sorted(outcomes, key=lambda o: (o["rows_written"] == 0, o["version"])):
        first, count = plan[outcome["index"]]
        for minute in range(first, first + count):
            expected.setdefault(minute, 1000.0 * outcome["index"] + (minute - first))
    return expected


def _published(wh: Warehouse) -> tuple[dict, int]:
    frame = wh.read("price_snapshots")
    minutes = (frame["observed_at"] - frame["observed_at"].dt.normalize()).dt.total_seconds() // 60
    return dict(zip(minutes.astype(int), frame["price_usd"])), len(frame)


def _check_race(wh: Warehouse, outcomes: list[dict]) -> None:
    versions = [o["version"] for o in outcomes if o["rows_written"]]
    assert len(set(versions)) == len(versions), outcomes  # one commit per writer that changed something
    published, rows = _published(wh)
    expected = _expected_in_commit_order(outcomes)
    assert rows == len(published) == len(expected)  # every key once, none missing
    assert published == expected
    assert sum(o["rows_written"] for o in outcomes) == len(expected)
    assert sum(o["duplicates_dropped"] for o in outcomes) == sum(c for _, c in PLAN) - len(expected)


def test_colliding_writers_on_local_disk_end_as_a_sequential_run(tmp_path):
    root = str(tmp_path / "wh")
    Warehouse(root).ensure_tables()
    outcomes = _race(root, tmp_path / "go", dict(os.environ))
    _check_race(Warehouse(root), outcomes)


def test_a_writer_killed_mid_commit_leaves_the_last_commit_and_the_rerun_converges(tmp_path):
    root = str(tmp_path / "wh")
    wh = Warehouse(root)
    env = dict(os.environ)
    first = subprocess.run([sys.executable, "-c", WRITER, root, "0", "0", "300", "-"], env=env,
                           capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]
    before, _ = _published(wh)
    # The same interval rewritten with other rows (minutes 100..399), killed at different points of the commit.
    for delay in (0.3, 0.8, 1.5, 2.5):
        proc = _start(root, 0, 100, 300, "-", env)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        now, rows = _published(wh)
        assert rows == len(now) == 300  # never part of a commit: the old rows or the new ones
        assert sorted(now) in (list(range(300)), list(range(100, 400)))
    rerun = subprocess.run([sys.executable, "-c", WRITER, root, "0", "100", "300", "-"], env=env,
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    after, rows = _published(wh)
    assert rows == 300 and sorted(after) == list(range(100, 400))
    assert before != after


def test_reading_a_delta_table_exits_the_process_cleanly_every_time(tmp_path):
    root = str(tmp_path / "wh")
    done = subprocess.run([sys.executable, "-c", WRITER, root, "0", "0", "50", "-"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    codes = [subprocess.run([sys.executable, "-c", READER, root, "50"], capture_output=True, text=True,
                            timeout=300).returncode for _ in range(8)]
    assert codes == [0] * 8  # not 134 (SIGABRT at exit, as to_pyarrow_table() gives)


@pytest.mark.slow  # an S3 server and six writer processes
def test_colliding_writers_on_the_s3_endpoint_end_as_a_sequential_run(tmp_path):
    from newsmarkets.local.s3_server import S3Server
    from newsmarkets.warehouse.storage import storage_options_from_env

    root = "s3://newsmarkets/warehouse"
    with S3Server(tmp_path / "s3", "newsmarkets") as s3:
        env = {**os.environ, **s3.client_env}
        wh = Warehouse(root, storage_options_from_env(root, s3.client_env))
        wh.ensure_tables(["price_snapshots"])
        outcomes = _race(root, tmp_path / "go", env)
        _check_race(wh, outcomes)
