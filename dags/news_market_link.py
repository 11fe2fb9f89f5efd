"""
### News → market moves: the daily event study, backfillable

For each UTC day, links every story published that day (its earliest copy;
syndicated copies count once) to what its assets — and the market as a
whole — did next, over each configured horizon (default 15m, 1h, 4h, 24h):
`news_market_moves`, with returns abnormal to a market model. It also lists
the day's large 1-hour moves with the news that preceded them:
`market_moves`.

**When it runs.** Daily, once its inputs for the day are in: two deferrable
sensors hand the wait to the triggerer (no worker slot, no task process while
waiting) until every hourly `news_ingest` run and the `prices_history` run of
that day have succeeded, and fail the run if one of them failed. A daily
schedule with input sensors — rather than an asset trigger or Airflow 3.3's
partitioned assets — keeps one run per calendar day in both live operation
and `airflow backfill create`: a DAG scheduled on (partitioned) assets is not
periodic, so Airflow refuses to backfill it, its runs carry no data interval,
a failed hour leaves the day waiting without an alert, and a re-emitted hour
opens a second run of the day.

**Unsettled rows.** A story published late in the day has horizons that end
after the day's prices: those rows are written with `is_settled = false` and
recomputed by the next day's run (each day's rows are rewritten through
that day's own files, so reruns stay idempotent).

* Backfill a range: `airflow backfill create --dag-id news_market_link
  --from-date 2024-10-15 --to-date 2024-10-17` (after, or together with, the
  news and price backfills of that range: the sensors wait for them).
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.standard.sensors.external_task import ExternalTaskSensor
from airflow.sdk import dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from newsmarkets.orchestration.assets import DQ_RESULTS, MARKET_MOVES, NEWS_MARKET_MOVES
from newsmarkets.orchestration.defaults import EARLIEST_START, dag_run_failure_alert, default_args, schedule_end
from newsmarkets.orchestration.tasks import refresh_catalog

# Deferrable: the triggerer polls the metadata DB every poke_interval; the task holds nothing meanwhile.
INPUT_WAIT = dict(deferrable=True, poke_interval=30, timeout=timedelta(hours=12).total_seconds(),
                  allowed_states=["success"], failed_states=["failed"])


def _hours_of_day(logical_date, **_):
    """The 24 hourly news_ingest runs whose intervals make up this run's day."""
    return [logical_date + timedelta(hours=h) for h in range(24)]


@dag(
    dag_id="news_market_link",
    dag_display_name="News → market moves · daily event study",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=EARLIEST_START,
    end_date=schedule_end(),
    catchup=False,
    max_active_runs=1,  # day D rewrites D-1's unsettled rows: one day at a time keeps that ordered
    default_args=default_args(),
    on_failure_callback=dag_run_failure_alert(),
    tags=["gold", "linking", "backfill"],
    doc_md=__doc__,
)
def news_market_link():
    news_in = ExternalTaskSensor(
        task_id="wait_for_news",
        task_display_name="Wait for the day's news",
        external_dag_id="news_ingest",
        execution_date_fn=_hours_of_day,
        doc_md="Succeeds when all 24 hourly `news_ingest` runs of the day have succeeded.",
        **INPUT_WAIT,
    )
    prices_in = ExternalTaskSensor(
        task_id="wait_for_prices",
        task_display_name="Wait for the day's prices",
        external_dag_id="prices_history",
        doc_md="Succeeds when the day's `prices_history` run has succeeded.",
        **INPUT_WAIT,
    )

    @task(task_display_name="Link news to market moves", outlets=[NEWS_MARKET_MOVES, MARKET_MOVES, DQ_RESULTS])
    def link() -> dict:
        """Compute the day's event-study rows (and settle earlier ones); validate and publish."""
        from newsmarkets.moves.pipeline import link_interval
        from newsmarkets.orchestration.runtime import run_context

        cfg, interval, run_id = run_context()
        return link_interval(cfg, interval, run_id)

    linked = link()
    [news_in, prices_in] >> linked
    refresh_catalog(linked)


news_market_link()
