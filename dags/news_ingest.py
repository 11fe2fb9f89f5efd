"""
### News: hourly ingestion, backfillable

For each hour, one task per step (each returns small metadata through XCom;
the data moves through staged files under `_staging/`, so a retried task
re-reads exactly what the step before it left):

1. **discover** article URLs from every configured source's RSS/Atom feeds
   (and, when the feed does not reach back to the hour — a backfill — from its
   XML sitemaps and Google News sitemaps);
2. **fetch** them politely (one mapped task per source: robots.txt and
   `Crawl-delay` obeyed, per-domain rate limit and concurrency cap, private
   addresses refused, conditional requests);
3. **extract** clean text and publish time;
4. **deduplicate**: canonical URLs, content hashes, syndicated copies grouped
   under a `story_id`;
5. **link** articles to the assets they mention;
6. **validate** the `articles`, `article_assets` and `fetch_log` batches with
   Great Expectations (the only task importing it); a critical failure
   quarantines the batch and fails the run before anything is published;
7. **publish** the three tables, then delete the run's staged files (a failed
   run keeps them for debugging).

Validate and publish are separate tasks: publish writes the staged batches
validate checked (files named by run, never rewritten after validation), and
`dq_results` says `is_published` only once each table is written, so the
split loses no atomicity the single gate had. Publish changes nothing
validated but `story_id`/`is_original` (when another run published copies of
a story meanwhile), whose only expectation, not null, holds by construction.

* Every discovered URL ends in exactly one place: an article, or a
  `fetch_log` row saying why not (robots, too large, not HTML, HTTP error,
  timeout, duplicate, extraction failed).
* Exactly one article per `story_id` is `is_original` (the earliest copy),
  even when hours run concurrently or out of order: publish reconciles the
  stories it touches across neighbouring days under a warehouse lock.
* Raw HTML is kept compressed under `_raw_html/dt=…/` so articles can be
  re-extracted without refetching.
* Backfill a range: `airflow backfill create --dag-id news_ingest
  --from-date 2024-10-15 --to-date 2024-10-17`. An hour older than
  everything the sources' feeds and sitemaps list (or one that has not
  begun) fails at once, naming each source's oldest listed page. A rerun replaces only what
  it re-fetched: an article whose page fails this time keeps its published
  row (its `fetch_log` row says so), one whose page answers 404/410 is
  removed (counted in `fetch_log` and the publish task's metadata); an
  article discovered late lands in its own `dt` partition.
* A thin batch fails loudly: when more than `quality.max_failed_fetch_share`
  (default half) of the hour's page fetches failed, **extract** fails without
  retrying (a retry would read the same failed fetches) and nothing is
  published; clear the run to fetch again once the sites answer.
"""

from __future__ import annotations


from airflow.sdk import dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from newsmarkets.orchestration.assets import ARTICLE_ASSETS, ARTICLES, DQ_RESULTS, FETCH_LOG
from newsmarkets.orchestration.defaults import EARLIEST_START, dag_run_failure_alert, default_args, schedule_end
from newsmarkets.orchestration.pools import NEWS_POOL
from newsmarkets.orchestration.tasks import refresh_catalog


@dag(
    dag_id="news_ingest",
    dag_display_name="News · hourly ingestion",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=EARLIEST_START,
    end_date=schedule_end(),
    catchup=False,
    max_active_runs=4,
    default_args=default_args(),
    on_failure_callback=dag_run_failure_alert(),
    tags=["news", "backfill"],
    doc_md=__doc__,
)
def news_ingest():
    @task(task_display_name="Discover article URLs", pool=NEWS_POOL)
    def discover() -> list[dict]:
        """Read feeds (and sitemaps for past hours) of every source; stage the hour's URLs."""
        from newsmarkets.intervals import IntervalNotServable
        from newsmarkets.news.ingest.discover import discover as discover_urls
        from newsmarkets.orchestration.runtime import fail_without_retry, run_context

        cfg, interval, run_id = run_context()
        with fail_without_retry(IntervalNotServable):
            return discover_urls(cfg, interval, run_id)

    @task(task_display_name="Fetch pages politely", map_index_template="{{ source_name }}", pool=NEWS_POOL)
    def fetch(discovered: dict) -> dict:
        """Fetch one source's discovered pages and keep their raw HTML."""
        from airflow.sdk import get_current_context

        from newsmarkets.news.ingest.fetch import fetch_source
        from newsmarkets.orchestration.runtime import run_context

        get_current_context()["source_name"] = discovered["source"]  # names the mapped task in the UI
        cfg, interval, run_id = run_context()
        return fetch_source(cfg, interval, run_id, discovered)

    @task(task_display_name="Extract articles")
    def extract(fetched: list[dict]) -> dict:
        """Extract title, body and publish time of every fetched page; stage candidates and failures."""
        from newsmarkets.news.ingest.extract import extract as extract_pages
        from newsmarkets.orchestration.runtime import fail_without_retry, run_context
        from newsmarkets.quality.thin_batch import ThinBatchError

        cfg, interval, run_id = run_context()
        with fail_without_retry(ThinBatchError):  # retrying would re-read the same failed fetches
            return extract_pages(cfg, interval, run_id, list(fetched))

    @task(task_display_name="Deduplicate, group stories")
    def deduplicate(extracted: dict) -> dict:
        """Drop duplicate pages, group syndicated copies into stories; stage articles and fetch_log."""
        from newsmarkets.news.ingest.deduplicate import deduplicate as dedupe
        from newsmarkets.orchestration.runtime import run_context

        cfg, interval, run_id = run_context()
        return dedupe(cfg, interval, run_id, extracted)

    @task(task_display_name="Link assets")
    def link(deduped: dict) -> dict:
        """Link the staged articles to the assets they mention; stage article_assets."""
        from newsmarkets.news.ingest.link import link as link_assets
        from newsmarkets.orchestration.runtime import run_context

        cfg, interval, run_id = run_context()
        return link_assets(cfg, interval, run_id, deduped)

    @task(task_display_name="Validate (Great Expectations)", outlets=[DQ_RESULTS])
    def validate(linked: dict) -> dict:
        """Check the three staged batches against their suites; quarantine and fail on a critical failure."""
        from newsmarkets.news.ingest.validate import validate as validate_batches
        from newsmarkets.orchestration.runtime import run_context

        cfg, interval, run_id = run_context()
        return validate_batches(cfg, interval, run_id, linked)

    @task(task_display_name="Publish", outlets=[ARTICLES, ARTICLE_ASSETS, FETCH_LOG, DQ_RESULTS])
    def publish(validated: dict) -> dict:
        """Publish the validated batches (fixing is_original across intervals); delete the run's staged files."""
        from newsmarkets.news.ingest.publish import publish as publish_batches
        from newsmarkets.orchestration.runtime import run_context

        cfg, interval, run_id = run_context()
        return publish_batches(cfg, interval, run_id, validated)

    fetched = fetch.expand(discovered=discover())
    refresh_catalog(publish(validate(link(deduplicate(extract(fetched))))))


news_ingest()
