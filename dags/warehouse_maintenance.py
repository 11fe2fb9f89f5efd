"""
### Warehouse maintenance: compaction, catalog, Data Docs, retention

Daily, for the UTC day of its data interval:

1. **Create missing tables** (and add columns a newer schema has): two runs
   creating one Delta table at once conflict, so tables exist before any run
   writes (`newsmarkets warehouse init` does the same).
2. **Compact** closed partitions (`dt` at least `maintenance.compact_after_days`
   days before the interval; never the run's own day): each partition's many
   small interval files (24 hourly news files, 288 snapshot files) become one
   file with the same rows — Delta's `OPTIMIZE` (one commit; concurrent
   writers retry against it), then `vacuum` of files replaced more than 7 days
   ago (readers of older versions keep theirs until then). Every row keeps the
   interval that wrote it, so a later rerun or backfill of an interval
   replaces exactly its rows. Compaction changes no row, so it emits no asset
   events: nothing downstream needs to recompute.
3. **Refresh** the DuckDB catalog.
4. **Data Docs**: validates each table's latest `maintenance.data_docs_days`
   days against its expectation suite and updates the Great Expectations
   static site (`<warehouse>/_gx/gx/uncommitted/data_docs/local_site/index.html`
   by default). Scraped markup is escaped before it can reach a page.
5. **Retention**: deletes `_raw_html/dt=…` partitions older than
   `maintenance.raw_html_retention_days` (and their conditional-GET
   validators), `_staging` folders untouched for
   `maintenance.staging_retention_hours`; quarantined batches are kept unless
   `maintenance.quarantine_retention_days` is set.

One run at a time: compaction and the Data Docs project are not meant to be
shared by concurrent runs. Backfill a range to compact a backlog.
"""

from __future__ import annotations

from airflow.sdk import dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from newsmarkets.orchestration.defaults import EARLIEST_START, dag_run_failure_alert, default_args, schedule_end
from newsmarkets.orchestration.tasks import refresh_catalog


@dag(
    dag_id="warehouse_maintenance",
    dag_display_name="Warehouse · daily maintenance",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=EARLIEST_START,
    end_date=schedule_end(),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    on_failure_callback=dag_run_failure_alert(),
    tags=["warehouse", "maintenance", "quality"],
    doc_md=__doc__,
)
def warehouse_maintenance():
    @task(task_display_name="Create missing tables")
    def create_tables() -> dict:
        """Create every missing table before anything writes (creating one concurrently conflicts)."""
        from newsmarkets.orchestration.maintenance import create_tables as create
        from newsmarkets.orchestration.runtime import run_context

        cfg, _, _ = run_context()
        return create(cfg)

    @task(task_display_name="Compact closed partitions")
    def compact(_tables: dict) -> dict:
        """Fold the small interval files of closed partitions into one file each, atomically."""
        from newsmarkets.orchestration.maintenance import compact_warehouse
        from newsmarkets.orchestration.runtime import run_context

        cfg, interval, _ = run_context()
        return compact_warehouse(cfg, interval)

    @task(task_display_name="Build Data Docs")
    def data_docs(_catalog: dict) -> dict:
        """Validate recent partitions and update the Great Expectations Data Docs site."""
        from newsmarkets.orchestration.maintenance import build_data_docs
        from newsmarkets.orchestration.runtime import run_context

        cfg, interval, run_id = run_context()
        return build_data_docs(cfg, interval, run_id)

    @task(task_display_name="Apply retention")
    def retention(_compacted: dict) -> dict:
        """Delete raw HTML, staging leftovers (and quarantine, if configured) past their retention."""
        from newsmarkets.orchestration.maintenance import apply_retention
        from newsmarkets.orchestration.runtime import run_context

        cfg, interval, _ = run_context()
        return apply_retention(cfg, interval)

    compacted = compact(create_tables())
    data_docs(refresh_catalog(compacted))
    retention(compacted)


warehouse_maintenance()
