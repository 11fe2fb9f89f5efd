"""
### News: hourly ingestion, backfillable

For each hour: **discover** article URLs from every configured source's
RSS/Atom feeds (and, when the feed does not reach back to the hour — a backfill
— from its XML sitemaps and Google News sitemaps), **fetch** them politely
(one mapped task per source: robots.txt and `Crawl-delay` obeyed, per-domain
rate limit and concurrency cap, private addresses refused, conditional
requests), then **extract** clean text and publish time, **deduplicate**
(canonical URLs, content hashes, syndicated copies grouped under a
`story_id`), **link** articles to the assets they mention, **validate** with
Great Expectations and **publish** `articles`, `article_assets` and
`fetch_log`.

* Every discovered URL ends in exactly one place: an article, or a
  `fetch_log` row saying why not (robots, too large, not HTML, HTTP error,
  timeout, duplicate, extraction failed).
* Raw HTML is kept compressed under `_raw_html/dt=…/` so articles can be
  re-extracted without refetching.
* Backfill a range: `airflow backfill create --dag-id news_ingest
  --from-date 2026-01-05 --to-date 2026-01-07`. Reruns overwrite the hour's
  own files; an article discovered late lands in its own `dt` partition.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from newsmarkets.orchestration.assets import ARTICLE_ASSETS, ARTICLES, DQ_RESULTS, FETCH_LOG
from newsmarkets.orchestration.defaults import default_args, schedule_end
from newsmarkets.orchestration.tasks import refresh_catalog


@dag(
    dag_id="news_ingest",
    dag_display_name="News · hourly ingestion",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=datetime(2025, 1, 1),
    end_date=schedule_end(),
    catchup=False,
    max_active_runs=4,
    default_args=default_args(),
    tags=["news", "backfill"],
    doc_md=__doc__,
)
def news_ingest():
    @task(task_display_name="Discover article URLs")
    def discover() -> list[dict]:
        """Read feeds (and sitemaps for past hours) of every source; stage the hour's URLs."""
        from newsmarkets.news.pipeline import discover as discover_urls
        from newsmarkets.orchestration.runtime import run_context

        cfg, interval, run_id = run_context()
        return discover_urls(cfg, interval, run_id)

    @task(task_display_name="Fetch pages politely", map_index_template="{{ source_name }}")
    def fetch(discovered: dict) -> dict:
        """Fetch one source's discovered pages and keep their raw HTML."""
        from airflow.sdk import get_current_context

        from newsmarkets.news.pipeline import fetch_source
        from newsmarkets.orchestration.runtime import run_context

        get_current_context()["source_name"] = discovered["source"]  # names the mapped task in the UI
        cfg, interval, run_id = run_context()
        return fetch_source(cfg, interval, run_id, discovered)

    @task(task_display_name="Extract, dedupe, link, validate, publish",
          outlets=[ARTICLES, ARTICLE_ASSETS, FETCH_LOG, DQ_RESULTS])
    def publish(fetched: list[dict]) -> dict:
        """Turn fetched pages into validated articles and asset links; publish or quarantine."""
        from newsmarkets.news.pipeline import build_and_publish
        from newsmarkets.orchestration.runtime import run_context

        cfg, interval, run_id = run_context()
        return build_and_publish(cfg, interval, run_id, list(fetched))

    refresh_catalog(publish(fetch.expand(discovered=discover())))


news_ingest()
