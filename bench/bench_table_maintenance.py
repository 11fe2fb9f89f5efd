"""Delta Lake table maintenance: OPTIMIZE and vacuum of a day of 5-minute snapshot files.

A day of the snapshot DAG's output as it lands: 288 five-minute intervals of a
250-asset batch, each published by its own ``Warehouse.write`` (one MERGE
commit, one new data file) into a Delta warehouse in a temp dir. Measured on
that day's ``dt`` partition of ``price_snapshots``: data files and bytes, and
the day's read time, before and after compaction; OPTIMIZE (delta-rs
``optimize.compact`` on the one partition) and vacuum timed on their own, the
two steps ``DeltaWarehouse.compact_closed`` runs in turn. The bench vacuums with
a retention of 0 hours so it actually deletes the files OPTIMIZE replaced (the
warehouse keeps them 7 days for readers of older snapshots). Reads go through
``wh.read``: ``DeltaTable.to_pyarrow_table()`` can abort the interpreter at exit.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone

from bench_warehouse_formats import ASSETS, _snapshots

TABLE = "price_snapshots"
INTERVALS = 288  # a day of 5-minute intervals
MINUTES = 5
REPEATS = 5
DAY = date(2026, 6, 1)


def _median(fn, repeats: int = REPEATS) -> tuple[float, object]:
    """Median wall time of ``repeats`` calls, and the last call's result."""
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _bytes(paths: list[str]) -> int:
    return sum(os.path.getsize(p) for p in paths)


def _on_disk(table_dir: str) -> int:
    """Parquet files under the table's folder, live or not (what vacuum deletes from)."""
    return sum(1 for root, _, names in os.walk(table_dir) if "_delta_log" not in root
               for n in names if n.endswith(".parquet"))


def run(progress=lambda text: print(text, file=sys.stderr, flush=True)) -> dict:
    from deltalake import DeltaTable

    from newsmarkets.intervals import Interval
    from newsmarkets.warehouse.writer import Warehouse

    day = str(DAY)
    with tempfile.TemporaryDirectory() as tmp:
        wh = Warehouse.open(tmp, format="delta")
        start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=timezone.utc)
        progress(f"publishing {INTERVALS} {MINUTES}-minute intervals of {ASSETS} assets…")
        t0 = time.perf_counter()
        for k in range(INTERVALS):
            at = start + timedelta(minutes=MINUTES * k)
            wh.write(TABLE, _snapshots(at), Interval(at, at + timedelta(minutes=MINUTES)))
            if k % 48 == 47:
                progress(f"  {k + 1}/{INTERVALS} intervals ({time.perf_counter() - t0:.0f} s)")
        publish_s = time.perf_counter() - t0
        url = wh.table_url(TABLE)
        table_dir = os.path.join(tmp, TABLE)  # local disk: the table URL is this folder

        def read_day() -> int:
            return len(wh.read(TABLE, dts=[day]))

        files_before = wh.files(TABLE, dts=[day])
        bytes_before = _bytes(files_before)
        progress("reading the day before compaction…")
        read_before_s, rows_before = _median(read_day)

        progress("OPTIMIZE…")
        t0 = time.perf_counter()
        metrics = DeltaTable(url).optimize.compact(partition_filters=[("dt", "=", day)])
        optimize_s = time.perf_counter() - t0

        files_after = wh.files(TABLE, dts=[day])
        bytes_after = _bytes(files_after)
        on_disk_before_vacuum = _on_disk(table_dir)
        progress("reading the day after compaction…")
        read_after_s, rows_after = _median(read_day)

        progress("vacuum (retention 0 h)…")
        t0 = time.perf_counter()
        removed = DeltaTable(url).vacuum(retention_hours=0, dry_run=False, enforce_retention_duration=False)
        vacuum_s = time.perf_counter() - t0
        on_disk_after_vacuum = _on_disk(table_dir)
        rows_after_vacuum = read_day()

    expected = INTERVALS * ASSETS
    assert rows_before == rows_after == rows_after_vacuum == expected, (rows_before, rows_after, rows_after_vacuum)
    assert int(metrics.get("numFilesRemoved", 0)) == len(files_before), metrics
    return {
        "intervals": INTERVALS, "assets": ASSETS, "minutes": MINUTES, "repeats": REPEATS, "day": day,
        "publish_s": round(publish_s, 1), "publish_each_s": round(publish_s / INTERVALS, 4),
        "files_before": len(files_before), "bytes_before": bytes_before,
        "read_before_s": round(read_before_s, 4), "rows_before": rows_before,
        "optimize_s": round(optimize_s, 3),
        "optimize_files_removed": int(metrics.get("numFilesRemoved", 0)),
        "optimize_files_added": int(metrics.get("numFilesAdded", 0)),
        "files_after": len(files_after), "bytes_after": bytes_after,
        "read_after_s": round(read_after_s, 4), "rows_after": rows_after,
        "vacuum_s": round(vacuum_s, 3), "vacuum_files_removed": len(removed),
        "files_on_disk_before_vacuum": on_disk_before_vacuum, "files_on_disk_after_vacuum": on_disk_after_vacuum,
    }


def markdown(r: dict) -> str:
    mb = lambda n: f"{n / 1e6:.2f}"  # noqa: E731
    speedup = r["read_before_s"] / r["read_after_s"] if r["read_after_s"] else float("nan")
    lines = [
        f"One day (`dt = {r['day']}`) of `price_snapshots` as the snapshot DAG leaves it: {r['intervals']} "
        f"intervals of {r['minutes']} minutes, {r['assets']} assets each, one `Warehouse.write` (one MERGE commit) each, "
        f"Delta format, local disk; publishing them took {r['publish_s']:.1f} s ({r['publish_each_s']:.3f} s each). "
        f"Day read = `wh.read(\"price_snapshots\", dts=[day])`, median of {r['repeats']}. OPTIMIZE is delta-rs "
        "`optimize.compact` on that one partition; vacuum runs with **retention 0 hours** here so it deletes the "
        "files OPTIMIZE replaced at once (the warehouse's `compact_closed` keeps them 7 days for readers of older "
        "snapshots, so its vacuum deletes them a week later).",
        "",
        "| | data files in the day | MB | day read s | rows read |",
        "|---|---:|---:|---:|---:|",
        f"| before compaction | {r['files_before']} | {mb(r['bytes_before'])} | {r['read_before_s']:.4f} "
        f"| {r['rows_before']:,} |",
        f"| after OPTIMIZE | {r['files_after']} | {mb(r['bytes_after'])} | {r['read_after_s']:.4f} "
        f"| {r['rows_after']:,} |",
        "",
        "| maintenance step | s | files |",
        "|---|---:|---|",
        f"| OPTIMIZE (compact the day) | {r['optimize_s']:.3f} | {r['optimize_files_removed']} replaced by "
        f"{r['optimize_files_added']} |",
        f"| vacuum (retention 0 h) | {r['vacuum_s']:.3f} | {r['vacuum_files_removed']} deleted "
        f"({r['files_on_disk_before_vacuum']} → {r['files_on_disk_after_vacuum']} Parquet files on disk) |",
        "",
        f"Reading the compacted day is {speedup:.1f}× faster; rows read are the same before and after "
        f"({r['intervals']} × {r['assets']} = {r['intervals'] * r['assets']:,}).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    import json
    from pathlib import Path

    result = run()
    out = Path(__file__).resolve().parent / "results" / "bench_table_maintenance.json"
    out.write_text(json.dumps(result, indent=2))
    print(markdown(result))
