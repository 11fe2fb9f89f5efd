"""Delta Lake table maintenance: OPTIMIZE and vacuum of a day of 5-minute snapshot files.

A day of the snapshot DAG's output as it lands: 288 five-minute intervals of a
250-asset batch, each published by its own ``Warehouse.write`` (one MERGE
commit, one new data file) into a Delta warehouse in a temp dir. Measured on
that day's ``dt`` partition of ``price_snapshots``: data files and bytes, and
the day's read time, before and after compaction; OPTIMIZE (delta-rs
``optimize.compact`` on the one partition) and vacuum timed on their own, the
two steps ``Warehouse.compact_closed`` runs in turn. The bench vacuums with
a retention of 0 hours so it actually deletes the files OPTIMIZE and Z-order
replaced (the warehouse keeps them 7 days for readers of older snapshots). Reads
go through ``wh.read``: ``DeltaTable.to_pyarrow_table()`` can abort the
interpreter at exit.

Z-order: does ``optimize.z_order(["asset_id"])`` help the read a BI tool does,
one asset's rows of the day (``WHERE asset_id = 'coin-042'``)? Timed through
DuckDB (``read_parquet`` over the day's files) and pyarrow (``dataset`` with a
filter), with the day's row groups and how many of them the asset_id min/max
statistics let a reader skip, after compaction and after Z-order. delta-rs
writes a whole file as one row group, which no filter can skip, so when that is
the case the bench also compacts and Z-orders a copy of the freshly published
table with ``max_row_group_size`` = ``ROW_GROUP`` rows (compaction with the
same row groups is the like-for-like baseline).
"""

from __future__ import annotations

import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone

from bench_warehouse_history import ASSETS, _snapshots

TABLE = "price_snapshots"
INTERVALS = 288  # a day of 5-minute intervals
MINUTES = 5
REPEATS = 5
DAY = date(2026, 6, 1)
ASSET = "coin-042"  # the one asset a BI tool filters on
ROW_GROUP = 8192  # rows per row group for the small-row-group variant


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


def _row_groups(paths: list[str], asset: str = ASSET) -> tuple[int, int]:
    """Row groups of ``paths``, and how many of them asset_id min/max statistics exclude ``asset`` from."""
    import pyarrow.parquet as pq

    total = skippable = 0
    for path in paths:
        meta = pq.ParquetFile(path).metadata
        for i in range(meta.num_row_groups):
            group = meta.row_group(i)
            total += 1
            column = next(group.column(j) for j in range(group.num_columns)
                          if group.column(j).path_in_schema == "asset_id")
            stats = column.statistics
            if stats is not None and stats.has_min_max and (asset < stats.min or asset > stats.max):
                skippable += 1
    return total, skippable


def _one_asset(label: str, paths: list[str], read_day=None, day_read_s: float | None = None,
               progress=lambda text: None) -> dict:
    """One asset's rows of the day read through DuckDB and through pyarrow (median of REPEATS each after one untimed call),
    the day's row groups and how many the filter can skip, and the whole-day read (``read_day``)
    unless its time ``day_read_s`` is already known. Asserts ASSET's rows every call."""
    import duckdb
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    progress(f"one-asset reads {label}…")
    expected = INTERVALS
    row_groups, skippable = _row_groups(paths)
    files_sql = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"
    query = (f"SELECT count(*), avg(price_usd) FROM read_parquet({files_sql}, hive_partitioning = true) "
             f"WHERE asset_id = '{ASSET}'")
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        def duck() -> tuple[int, float]:
            n, avg = con.execute(query).fetchone()
            assert n == expected, (label, "duckdb", n)
            return n, avg

        duck()  # warm-up, untimed
        duck_s, (duck_rows, duck_avg) = _median(duck)
    finally:
        con.close()

    def arrow():
        table = ds.dataset(paths, format="parquet").to_table(filter=pc.field("asset_id") == ASSET)
        assert table.num_rows == expected, (label, "pyarrow", table.num_rows)
        return table

    arrow()  # warm-up, untimed
    arrow_s, table = _median(arrow)
    arrow_avg = pc.mean(table["price_usd"]).as_py()
    assert math.isclose(duck_avg, arrow_avg, rel_tol=1e-9), (label, duck_avg, arrow_avg)
    out = {"label": label, "files": len(paths), "bytes": _bytes(paths), "row_groups": row_groups,
           "row_groups_skippable": skippable, "one_asset_rows": duck_rows, "one_asset_avg_price": duck_avg,
           "one_asset_duckdb_s": round(duck_s, 4), "one_asset_pyarrow_s": round(arrow_s, 4)}
    if day_read_s is None:
        day_read_s, day_rows = _median(read_day)
        assert day_rows == INTERVALS * ASSETS, (label, day_rows)
    out["day_read_s"] = round(day_read_s, 4)
    return out


def run(progress=lambda text: print(text, file=sys.stderr, flush=True)) -> dict:
    from deltalake import DeltaTable, WriterProperties

    from newsmarkets.intervals import Interval
    from newsmarkets.warehouse.writer import Warehouse

    day = str(DAY)
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as tmp_small:
        wh = Warehouse(tmp)
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
        # A copy of the table as published, for compaction + Z-order with small row groups below.
        shutil.copytree(table_dir, os.path.join(tmp_small, TABLE))

        progress("OPTIMIZE…")
        t0 = time.perf_counter()
        metrics = DeltaTable(url).optimize.compact(partition_filters=[("dt", "=", day)])
        optimize_s = time.perf_counter() - t0

        files_after = wh.files(TABLE, dts=[day])
        bytes_after = _bytes(files_after)
        progress("reading the day after compaction…")
        read_after_s, rows_after = _median(read_day)
        layouts = [_one_asset("after compaction", files_after, day_read_s=read_after_s, progress=progress)]

        progress("Z-order by asset_id…")
        t0 = time.perf_counter()
        z_metrics = DeltaTable(url).optimize.z_order(["asset_id"], partition_filters=[("dt", "=", day)])
        z_order_s = time.perf_counter() - t0
        files_zorder = wh.files(TABLE, dts=[day])
        layouts.append(_one_asset("after Z-order", files_zorder, read_day, progress=progress))

        on_disk_before_vacuum = _on_disk(table_dir)
        progress("vacuum (retention 0 h)…")
        t0 = time.perf_counter()
        removed = DeltaTable(url).vacuum(retention_hours=0, dry_run=False, enforce_retention_duration=False)
        vacuum_s = time.perf_counter() - t0
        on_disk_after_vacuum = _on_disk(table_dir)
        rows_after_vacuum = read_day()
        removed_names = {os.path.basename(p) for p in removed}
        vacuum_removed_published = len(removed_names & {os.path.basename(p) for p in files_before})
        vacuum_removed_compacted = len(removed_names & {os.path.basename(p) for p in files_after})
        assert {os.path.basename(p) for p in wh.files(TABLE, dts=[day])} == {os.path.basename(p) for p in files_zorder}

        small = None
        if layouts[-1]["row_groups_skippable"] == 0:
            # One row group per file: nothing to skip. Compact and Z-order the published copy with
            # ROW_GROUP-row groups (ZSTD as delta-rs's default writer: WriterProperties() alone writes Snappy).
            props = WriterProperties(max_row_group_size=ROW_GROUP, compression="ZSTD")
            wh_small = Warehouse(tmp_small)
            url_small = wh_small.table_url(TABLE)

            def read_day_small() -> int:
                return len(wh_small.read(TABLE, dts=[day]))

            progress(f"OPTIMIZE the copy with {ROW_GROUP}-row groups…")
            t0 = time.perf_counter()
            small_metrics = DeltaTable(url_small).optimize.compact(
                partition_filters=[("dt", "=", day)], writer_properties=props)
            compact_small_s = time.perf_counter() - t0
            assert int(small_metrics.get("numFilesRemoved", 0)) == len(files_before), small_metrics
            layouts.append(_one_asset(f"after compaction, {ROW_GROUP:,}-row groups",
                                      wh_small.files(TABLE, dts=[day]), read_day_small, progress=progress))
            progress(f"Z-order the copy with {ROW_GROUP}-row groups…")
            t0 = time.perf_counter()
            DeltaTable(url_small).optimize.z_order(["asset_id"], partition_filters=[("dt", "=", day)],
                                                  writer_properties=props)
            z_order_small_s = time.perf_counter() - t0
            layouts.append(_one_asset(f"after Z-order, {ROW_GROUP:,}-row groups",
                                      wh_small.files(TABLE, dts=[day]), read_day_small, progress=progress))
            small = {"row_group_size": ROW_GROUP, "compact_s": round(compact_small_s, 3),
                     "z_order_s": round(z_order_small_s, 3)}

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
        "vacuum_removed_published": vacuum_removed_published, "vacuum_removed_compacted": vacuum_removed_compacted,
        "files_on_disk_before_vacuum": on_disk_before_vacuum, "files_on_disk_after_vacuum": on_disk_after_vacuum,
        "rows_after_vacuum": rows_after_vacuum,
        "zorder": {
            "asset": ASSET, "column": "asset_id", "z_order_s": round(z_order_s, 3),
            "z_order_files_removed": int(z_metrics.get("numFilesRemoved", 0)),
            "z_order_files_added": int(z_metrics.get("numFilesAdded", 0)),
            "small_row_groups": small, "layouts": layouts,
        },
    }


def _change(before: float, after: float, noise: float = 1.15) -> str:
    """``after`` against ``before`` in words: a speed-up, a slow-down, or within ``noise``."""
    if not after or not before:
        return "n/a"
    ratio = before / after
    if ratio >= noise:
        return f"{ratio:.1f}× faster"
    if ratio <= 1 / noise:
        return f"{1 / ratio:.1f}× slower"
    return f"no measurable change ({ratio:.2f}×)"


def zorder_conclusion(r: dict) -> str:
    """One sentence on whether Z-order helps the one-asset read, from the measured layouts."""
    z = r["zorder"]
    by = {layout["label"]: layout for layout in z["layouts"]}
    base, zo = by["after compaction"], by["after Z-order"]
    ms = lambda s: f"{s * 1000:.1f} ms"  # noqa: E731

    def read(before: dict, after: dict) -> str:
        return (f"{ms(before['one_asset_duckdb_s'])} → {ms(after['one_asset_duckdb_s'])} with DuckDB "
                f"({_change(before['one_asset_duckdb_s'], after['one_asset_duckdb_s'])}) and "
                f"{ms(before['one_asset_pyarrow_s'])} → {ms(after['one_asset_pyarrow_s'])} with pyarrow "
                f"({_change(before['one_asset_pyarrow_s'], after['one_asset_pyarrow_s'])})")

    default = (f"with delta-rs's default one row group per file the filter can skip {zo['row_groups_skippable']} "
               f"of {zo['row_groups']} row groups and the one-asset read goes {read(base, zo)}")
    small = z["small_row_groups"]
    candidates = [(base, zo)]
    if small:
        n = f"{small['row_group_size']:,}"
        sb, sz = by[f"after compaction, {n}-row groups"], by[f"after Z-order, {n}-row groups"]
        candidates.append((sb, sz))
    faster = any(b["one_asset_duckdb_s"] / a["one_asset_duckdb_s"] >= 1.15
                 or b["one_asset_pyarrow_s"] / a["one_asset_pyarrow_s"] >= 1.15 for b, a in candidates)
    head = ("Z-order by `asset_id` speeds the one-asset read" if faster
            else "Z-order by `asset_id` gives the one-asset read no measurable benefit")
    if not small:
        return f"{head}: {default}."
    return (f"{head}: with {n}-row groups the filter can skip {sz['row_groups_skippable']} of {sz['row_groups']} "
            f"row groups (compaction alone: {sb['row_groups_skippable']}) and the read goes {read(sb, sz)} against "
            f"compaction with the same row groups, while {default}; the whole-day read shows "
            f"{_change(base['day_read_s'], zo['day_read_s'])} after Z-order (default writer).")


def markdown(r: dict) -> str:
    mb = lambda n: f"{n / 1e6:.2f}"  # noqa: E731
    speedup = r["read_before_s"] / r["read_after_s"] if r["read_after_s"] else float("nan")
    z = r["zorder"]
    small = z["small_row_groups"]
    lines = [
        f"One day (`dt = {r['day']}`) of `price_snapshots` as the snapshot DAG leaves it: {r['intervals']} "
        f"intervals of {r['minutes']} minutes, {r['assets']} assets each, one `Warehouse.write` (one MERGE commit) each, "
        f"Delta format, local disk; publishing them took {r['publish_s']:.1f} s ({r['publish_each_s']:.3f} s each). "
        f"Day read = `wh.read(\"price_snapshots\", dts=[day])`, median of {r['repeats']}. OPTIMIZE is delta-rs "
        "`optimize.compact` on that one partition; vacuum runs with **retention 0 hours** here so it deletes the "
        "files OPTIMIZE and the Z-order below replaced at once (the warehouse's `compact_closed` keeps them 7 days "
        "for readers of older snapshots, so its vacuum deletes them a week later).",
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
        f"| Z-order by `asset_id` (the day) | {z['z_order_s']:.3f} | {z['z_order_files_removed']} replaced by "
        f"{z['z_order_files_added']} |",
        f"| vacuum (retention 0 h, after Z-order) | {r['vacuum_s']:.3f} | {r['vacuum_files_removed']} deleted: "
        f"{r['vacuum_removed_published']} published + {r['vacuum_removed_compacted']} compacted "
        f"({r['files_on_disk_before_vacuum']} → {r['files_on_disk_after_vacuum']} Parquet files on disk) |",
        "",
        f"Reading the compacted day is {speedup:.1f}× faster; rows read are the same before and after "
        f"({r['intervals']} × {r['assets']} = {r['intervals'] * r['assets']:,}, also after Z-order and vacuum).",
        "",
        f"Z-order by `asset_id`. One-asset read = one asset's rows of the day as a BI tool reads them "
        f"(`WHERE asset_id = '{z['asset']}'`, {r['intervals']} rows, asserted every call), median of "
        f"{r['repeats']}: DuckDB `read_parquet([<the day's files>], hive_partitioning = true)` with "
        f"`count(*), avg(price_usd)`, and pyarrow `dataset(files).to_table(filter=...)`. Row groups skippable = "
        f"row groups whose `asset_id` min/max statistics exclude `{z['asset']}`. Whole-day read = `wh.read`.",
    ]
    if small:
        lines.append(
            f"delta-rs writes each file as one row group, so the published copy of the day was also compacted "
            f"({small['compact_s']:.3f} s) and Z-ordered ({small['z_order_s']:.3f} s) with "
            f"`WriterProperties(max_row_group_size={small['row_group_size']}, compression=\"ZSTD\")`.")
    lines += [
        "",
        "| | row groups | row groups skippable for one asset | one-asset read s (DuckDB) "
        "| one-asset read s (pyarrow) | whole-day read s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for layout in z["layouts"]:
        lines.append(f"| {layout['label']} | {layout['row_groups']} | {layout['row_groups_skippable']} "
                     f"| {layout['one_asset_duckdb_s']:.4f} | {layout['one_asset_pyarrow_s']:.4f} "
                     f"| {layout['day_read_s']:.4f} |")
    lines += ["", zorder_conclusion(r)]
    return "\n".join(lines)


if __name__ == "__main__":
    import json
    from pathlib import Path

    result = run()
    out = Path(__file__).resolve().parent / "results" / "bench_table_maintenance.json"
    out.write_text(json.dumps(result, indent=2))
    print(markdown(result))
