"""
### Prices: live snapshot every 5 minutes

Calls the price provider's current-markets endpoint (CoinGecko's
`/coins/markets`) for the configured assets, validates the batch with its
Great Expectations suite and publishes it to `price_snapshots`, partitioned by
the UTC date of `observed_at`.

* **Live only** — catchup is off: a snapshot of *now* cannot describe the past.
  A run for any other slot (a backfill) fails at once, naming the
  `prices_history` backfill to run instead.
* A batch failing a critical expectation is quarantined under
  `_quarantine/price_snapshots/` with its validation result, the task fails
  naming the expectations, and the table is untouched.
* Every expectation's outcome lands in `dq_results`.
* **Late snapshot alert** — a run that has not succeeded 5 minutes plus
  `NEWSMARKETS_LATE_SNAPSHOT_MINUTES` (default 10) after its slot's start
  misses its deadline; the alert goes where the config's `alerts:` says.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from newsmarkets.alerts.deadline import late_snapshot_deadline
from newsmarkets.orchestration.assets import DQ_RESULTS, PRICE_SNAPSHOTS
from newsmarkets.orchestration.defaults import EARLIEST_START, dag_run_failure_alert, default_args, schedule_end
from newsmarkets.orchestration.pools import PRICES_POOL, SNAPSHOT_PRIORITY
from newsmarkets.orchestration.tasks import publish_prices_task, refresh_catalog


@dag(
    dag_id="prices_snapshot",
    dag_display_name="Prices · live snapshot",
    schedule=CronDataIntervalTimetable("*/5 * * * *", timezone="UTC"),
    start_date=EARLIEST_START,
    end_date=schedule_end(),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    on_failure_callback=dag_run_failure_alert(),
    deadline=late_snapshot_deadline(timedelta(minutes=5)),
    tags=["prices", "live"],
    doc_md=__doc__,
)
def prices_snapshot():
    @task(task_display_name="Fetch markets snapshot", pool=PRICES_POOL, priority_weight=SNAPSHOT_PRIORITY)
    def fetch() -> dict:
        """Fetch the current snapshot for every configured asset and stage it."""
        from newsmarkets.intervals import IntervalNotServable
        from newsmarkets.orchestration.runtime import fail_without_retry, run_context
        from newsmarkets.prices.pipeline import fetch_snapshot

        cfg, interval, run_id = run_context()
        with fail_without_retry(IntervalNotServable):  # a past slot stays past
            return fetch_snapshot(cfg, interval, run_id)

    publish = publish_prices_task([PRICE_SNAPSHOTS, DQ_RESULTS])

    refresh_catalog(publish(fetch()))


prices_snapshot()
