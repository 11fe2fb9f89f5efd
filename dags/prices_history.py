"""
### Prices: daily history, backfillable

For each UTC day, fetches every configured asset's price history for that day
(CoinGecko's `/coins/{id}/market_chart/range`; the provider picks 5-minute
points within a day of now and hourly points further back), validates and
publishes it to `price_snapshots` with `source = market_chart`.

* **Backfill any range**: `airflow backfill create --dag-id prices_history
  --from-date 2024-10-15 --to-date 2024-10-17`, or from the UI, back to the
  provider's first day (CoinGecko: 2013-04-28). A day before it, a day that
  has not begun, or one where no configured asset has a single price fails
  at once naming why, instead of succeeding empty.
* Hours (or whole days) with no points for an asset are recorded in
  `price_gaps` instead of being hidden.
* Reruns of a day replace what they re-fetched, with no duplicates: an asset
  whose fetch fails keeps its published points (its `price_gaps` row says
  `refresh_failed`); points the provider's answer no longer has are removed
  and counted (`rows_removed` in the publish task's metadata).
* A thin batch fails loudly: when more than `quality.max_failed_fetch_share`
  (default half) of the assets' fetches fail, the fetch task fails and
  Airflow retries it; nothing is published meanwhile.
"""

from __future__ import annotations


from airflow.sdk import dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from newsmarkets.orchestration.assets import DQ_RESULTS, PRICE_GAPS, PRICE_SNAPSHOTS
from newsmarkets.orchestration.defaults import EARLIEST_START, dag_run_failure_alert, default_args, schedule_end
from newsmarkets.orchestration.pools import PRICES_POOL
from newsmarkets.orchestration.tasks import publish_prices_task, refresh_catalog


@dag(
    dag_id="prices_history",
    dag_display_name="Prices · daily history",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=EARLIEST_START,
    end_date=schedule_end(),
    catchup=False,
    max_active_runs=4,
    default_args=default_args(),
    on_failure_callback=dag_run_failure_alert(),
    tags=["prices", "history", "backfill"],
    doc_md=__doc__,
)
def prices_history():
    @task(task_display_name="Fetch day of history", pool=PRICES_POOL)
    def fetch() -> dict:
        """Fetch one day of price history per asset and stage points and gaps."""
        from newsmarkets.intervals import IntervalNotServable
        from newsmarkets.orchestration.runtime import fail_without_retry, run_context
        from newsmarkets.prices.pipeline import fetch_history

        cfg, interval, run_id = run_context()
        with fail_without_retry(IntervalNotServable):
            return fetch_history(cfg, interval, run_id)

    publish = publish_prices_task([PRICE_SNAPSHOTS, PRICE_GAPS, DQ_RESULTS])

    refresh_catalog(publish(fetch()))


prices_history()
