"""
### Prices: live snapshot every 5 minutes

Calls the price provider's current-markets endpoint (CoinGecko's
`/coins/markets`) for the configured assets, validates the batch with its
Great Expectations suite and publishes it to `price_snapshots`, partitioned by
the UTC date of `observed_at`.

* **Live only** — catchup is off: a snapshot of *now* cannot describe the past.
  Use `prices_history` to backfill.
* A batch failing a critical expectation is quarantined under
  `_quarantine/price_snapshots/` with its validation result, the task fails
  naming the expectations, and the table is untouched.
* Every expectation's outcome lands in `dq_results`.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from newsmarkets.orchestration.assets import DQ_RESULTS, PRICE_SNAPSHOTS
from newsmarkets.orchestration.defaults import default_args, schedule_end


@dag(
    dag_id="prices_snapshot",
    dag_display_name="Prices · live snapshot",
    schedule=CronDataIntervalTimetable("*/5 * * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1),
    end_date=schedule_end(),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["prices", "live"],
    doc_md=__doc__,
)
def prices_snapshot():
    @task(task_display_name="Fetch markets snapshot")
    def fetch() -> dict:
        """Fetch the current snapshot for every configured asset and stage it."""
        from newsmarkets.orchestration.runtime import run_context
        from newsmarkets.prices.pipeline import fetch_snapshot

        cfg, interval, run_id = run_context()
        return fetch_snapshot(cfg, interval, run_id)

    @task(task_display_name="Validate and publish", outlets=[PRICE_SNAPSHOTS, DQ_RESULTS])
    def publish(staged: dict) -> dict:
        """Validate the staged batch; publish it or quarantine it."""
        from newsmarkets.orchestration.runtime import run_context
        from newsmarkets.prices.pipeline import publish_prices

        cfg, interval, run_id = run_context()
        return publish_prices(cfg, interval, run_id, staged)

    @task(task_display_name="Refresh DuckDB catalog")
    def refresh(_published: dict) -> dict:
        """Rebuild the DuckDB catalog's views."""
        from newsmarkets.orchestration.runtime import run_context
        from newsmarkets.warehouse.catalog import refresh_for_config

        cfg, _, _ = run_context()
        return refresh_for_config(cfg)

    refresh(publish(fetch()))


prices_snapshot()
