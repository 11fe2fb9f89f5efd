"""
### Assets: the provider's coin list, daily

Fetches the price provider's coin list (CoinGecko's `/coins/list`, with
`/coins/markets` for the tracked coins' market-cap ranks), validates it and
publishes one whole copy a day to `assets`, partitioned by the UTC date it
describes. The catalog's `current_assets` view is the newest copy: join it
on `asset_id` for names, symbols and ranks.

* **The news linker's vocabulary**: `news_ingest` links articles to every
  tracked asset by the names and symbols of the newest copy. It never calls
  the provider itself: when the provider is down, this DAG fails (and
  retries) and news keeps linking with the last good copy, saying so in its
  link task's metadata (`vocabulary_listed_at`, `vocabulary_is_stale`).
* A coin the provider stops listing stays in the copy with `is_listed =
  false` and its `last_seen_at`: nothing linkable disappears because of one
  short answer.
* **Live only**: the list describes now. A run for a day long past (a
  backfill) fails at once, naming why.
"""

from __future__ import annotations

from airflow.sdk import dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from newsmarkets.orchestration.assets import ASSETS, DQ_RESULTS
from newsmarkets.orchestration.defaults import EARLIEST_START, dag_run_failure_alert, default_args, schedule_end
from newsmarkets.orchestration.pools import PRICES_POOL
from newsmarkets.orchestration.tasks import refresh_catalog


@dag(
    dag_id="assets_refresh",
    dag_display_name="Assets · daily coin list",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=EARLIEST_START,
    end_date=schedule_end(),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    on_failure_callback=dag_run_failure_alert(),
    tags=["assets", "live"],
    doc_md=__doc__,
)
def assets_refresh():
    @task(task_display_name="Fetch coin list", pool=PRICES_POOL)
    def fetch() -> dict:
        """Fetch the provider's coin list and the tracked coins' ranks; stage them."""
        from newsmarkets.intervals import IntervalNotServable
        from newsmarkets.orchestration.runtime import fail_without_retry, run_context
        from newsmarkets.prices.coin_list_pipeline import fetch_coin_list

        cfg, interval, run_id = run_context()
        with fail_without_retry(IntervalNotServable):  # a past day stays past
            return fetch_coin_list(cfg, interval, run_id)

    @task(task_display_name="Validate and publish", outlets=[ASSETS, DQ_RESULTS])
    def publish(staged: dict) -> dict:
        """Validate the staged list; publish it or quarantine it."""
        from newsmarkets.orchestration.runtime import run_context
        from newsmarkets.prices.coin_list_pipeline import publish_coin_list

        cfg, interval, run_id = run_context()
        return publish_coin_list(cfg, interval, run_id, staged)

    refresh_catalog(publish(fetch()))


assets_refresh()
