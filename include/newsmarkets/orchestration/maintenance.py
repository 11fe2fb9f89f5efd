"""What the ``warehouse_maintenance`` DAG's tasks call: compaction, retention, Data Docs (small results for XCom)."""

from __future__ import annotations

import time

from newsmarkets.config import Config
from newsmarkets.intervals import Interval


def create_tables(cfg: Config) -> dict:
    """Create every missing table, and add columns the schema gained, before runs write to them.

    Two runs creating one Delta table at once conflict; created up front (the
    stack's init, the maintenance DAG's first task), a run only ever opens it.
    """
    from newsmarkets.warehouse.writer import Warehouse

    wh = Warehouse.from_config(cfg)
    return {"tables": {name: wh.table_version(name) for name in wh.ensure_tables()}}


def compact_warehouse(cfg: Config, interval: Interval) -> dict:
    """Compact every table's closed partitions (``maintenance.compact_after_days`` before the interval)."""
    from newsmarkets.warehouse.writer import Warehouse

    started = time.perf_counter()
    last_closed, tables = Warehouse.from_config(cfg).compact_closed(interval.start.date(),
                                                                    cfg.maintenance.compact_after_days)
    return {
        "last_closed_dt": last_closed,
        "partitions": sum(t["partitions"] for t in tables.values()),
        "files_before": sum(t["files_before"] for t in tables.values()),
        "files_after": sum(t["files_after"] for t in tables.values()),
        "rows": sum(t.get("rows", 0) for t in tables.values()),  # Delta OPTIMIZE reports files and bytes only
        "seconds": round(time.perf_counter() - started, 2),
        "tables": {name: t for name, t in tables.items() if t["partitions"]},
    }


def apply_retention(cfg: Config, interval: Interval) -> dict:
    """Delete raw HTML, staging leftovers (and quarantine, if configured) past their retention."""
    from newsmarkets.warehouse.writer import Warehouse

    m = cfg.maintenance
    return Warehouse.from_config(cfg).apply_retention(
        interval.start.date(), raw_html_days=m.raw_html_retention_days,
        staging_hours=m.staging_retention_hours, quarantine_days=m.quarantine_retention_days,
    )


def build_data_docs(cfg: Config, interval: Interval, run_id: str) -> dict:
    """Validate the recent days and update the Data Docs site (unless ``maintenance.data_docs`` is off)."""
    if not cfg.maintenance.data_docs:
        return {"skipped": "maintenance.data_docs is false"}
    from newsmarkets.quality.datadocs import build_data_docs as build

    return build(cfg, interval, run_id)
