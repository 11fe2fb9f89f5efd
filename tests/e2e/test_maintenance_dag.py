"""warehouse_maintenance through a real Airflow: compaction keeps every row, Data Docs land, retention deletes.

Seeds a day of news (three hourly runs) and a day of price history, plus an
old raw-HTML partition and an old staging folder, then backfills the
maintenance DAG for the world's last day: the world's first day is closed.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from conftest import run_backfill

pytestmark = pytest.mark.slow

TABLES = ("price_snapshots", "price_gaps", "dq_results", "articles", "article_assets", "fetch_log")


def _snapshot(warehouse) -> dict[str, pd.DataFrame]:
    out = {}
    for table in TABLES:
        frame = warehouse.read(table)
        out[table] = frame.sort_values(list(frame.columns[:3])).reset_index(drop=True)
    return out


def _file_counts(warehouse, table: str, last_closed: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in warehouse.files(table):
        dt = Path(path).parent.name.split("=", 1)[1]
        if dt <= last_closed:
            counts[dt] = counts.get(dt, 0) + 1
    return counts


def test_maintenance_compacts_builds_docs_and_applies_retention(env, warehouse):
    from newsmarkets.warehouse import rawstore
    from newsmarkets.quality.datadocs import docs_root, unsafe_html

    first, last = env.window.start, env.window.last_day
    closed = (last - timedelta(days=env.config().maintenance.compact_after_days)).isoformat()
    assert closed >= first.isoformat()

    hours_from = datetime(first.year, first.month, first.day, 9, tzinfo=timezone.utc)
    states = run_backfill(env, "news_ingest", hours_from.isoformat(), (hours_from + timedelta(hours=2)).isoformat(), 3)
    assert set(states.values()) == {"success"}, states
    states = run_backfill(env, "prices_history", first.isoformat(), first.isoformat(), 1)
    assert set(states.values()) == {"success"}, states
    # The run's own day, for Data Docs to validate (maintenance.data_docs_days: 1).
    states = run_backfill(env, "prices_history", last.isoformat(), last.isoformat(), 1)
    assert set(states.values()) == {"success"}, states

    # Retention targets: a raw page from long before the world, a staging folder untouched for two days.
    long_before = datetime(first.year, first.month, first.day, tzinfo=timezone.utc) - timedelta(days=400)
    old_page = rawstore.write_raw_html(warehouse, long_before, "coinwire", "old-page", "<html>old</html>")
    stale = warehouse.storage.path("_staging", "news_discovered", f"{long_before:%Y%m%dT%H%M%SZ}-{long_before:%Y%m%d}T010000Z")
    os.makedirs(stale, exist_ok=True)
    Path(stale, "coinwire.json").write_text("{}")
    two_days_ago = time.time() - 2 * 86400
    os.utime(Path(stale, "coinwire.json"), (two_days_ago, two_days_ago))

    before = _snapshot(warehouse)
    files_before = {t: _file_counts(warehouse, t, closed) for t in TABLES}
    assert sum(n for counts in files_before.values() for n in counts.values() if n > 1) > 0, files_before

    started = time.monotonic()
    states = run_backfill(env, "warehouse_maintenance", last.isoformat(), last.isoformat(), 1)
    wall_s = time.monotonic() - started
    assert set(states.values()) == {"success"}, states
    durations = dict(env.airflow.query(
        "SELECT task_id, round(extract(epoch FROM end_date - start_date)::numeric, 1) FROM task_instance "
        "WHERE dag_id = 'warehouse_maintenance'"))
    (docs,) = [json.loads(v) if isinstance(v, str) else v for (v,) in env.airflow.query(
        "SELECT value FROM xcom WHERE dag_id = 'warehouse_maintenance' AND task_id = 'data_docs' AND key = 'return_value'")]
    print(f"\nmaintenance task durations (s): {durations}; data docs: {docs}")
    assert docs["days"] == [last.isoformat()] and docs["validations"] >= 1, docs

    # Every version names the DAG run and task that wrote it (Airflow's AIRFLOW_CTX_*, recorded per commit):
    # the news hours' publishes, and maintenance's OPTIMIZE of each table it compacted.
    merges = [h for h in warehouse.table_history("articles") if h["operation"] == "MERGE"]
    assert any(h["dag_id"] == "news_ingest" and h["task_id"] == "publish" and h["run_id"].startswith("backfill__")
               for h in merges), merges[:5]
    for table in (t for t in TABLES if any(n > 1 for n in files_before[t].values())):
        optimized = [h for h in warehouse.table_history(table) if h["operation"] == "OPTIMIZE"]
        assert any((h["dag_id"], h["task_id"]) == ("warehouse_maintenance", "compact") for h in optimized), (table, optimized)

    # Compaction: every closed partition is one file, every table holds exactly the same rows.
    for table in TABLES:
        counts = _file_counts(warehouse, table, closed)
        assert set(counts) == set(files_before[table]) and set(counts.values()) <= {1}, (table, counts)
    after = _snapshot(warehouse)
    for table in TABLES:
        pd.testing.assert_frame_equal(after[table], before[table], obj=table)
    from newsmarkets.warehouse.catalog import describe_catalog

    views = dict(describe_catalog(env.config().catalog_path))
    assert all(views[t] == len(after[t]) for t in TABLES), views

    # Data Docs: the static site, with no scraped markup rendered live.
    index = docs_root(env.config()) / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    assert index.is_file()
    assert list((index.parent / "validations" / "price_snapshots").rglob("*.html")), "no validation page"
    assert unsafe_html(index.parent, ("<script>alert", "onerror=")) == []

    # Retention: the old raw partition and the stale staging folder are gone; the world's pages stay.
    assert not warehouse.storage.fs.exists(old_page)
    assert not os.path.exists(stale)
    assert warehouse.storage.glob(warehouse.storage.path("_raw_html", "dt=*"))  # the pages just fetched stay

    # A rerun of a compacted day through Airflow (the same run ids: its dq_results rows are folded into the
    # compacted partition's pieces): the same rows, still one file per closed partition.
    states = run_backfill(env, "prices_history", first.isoformat(), first.isoformat(), 1, reprocess="completed")
    assert set(states.values()) == {"success"}, states
    rerun = _snapshot(warehouse)
    stable = [c for c in rerun["price_snapshots"].columns if c != "ingested_at"]  # the one clock column
    pd.testing.assert_frame_equal(rerun["price_snapshots"][stable], before["price_snapshots"][stable])
    dq = rerun["dq_results"]
    assert len(dq) == len(before["dq_results"]) and not dq.duplicated(
        ["table_name", "interval_start_at", "interval_end_at", "expectation", "run_id"]).any()
    for table in TABLES:
        assert set(_file_counts(warehouse, table, closed).values()) <= {1}, table
    print(f"\nmaintenance run wall time {wall_s:.1f} s; closed files before {files_before}")
