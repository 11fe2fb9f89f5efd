"""Faults on a running distributed topology; after each, the warehouse holds exactly a clean run's rows.

Each fault reruns intervals the plan already ran (a day of ``prices_history``,
a ``prices_snapshot`` slot, an hour of ``news_ingest``) while it strikes, and
ends with :func:`fault_harness_distributed.assert_warehouse_as_clean` against
the plan's own tables. Used by ``test_distributed_stack.py``, which owns the
running stack.
"""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from fault_harness_distributed import (
    assert_warehouse_as_clean,
    compose_restart_policy,
    finish,
    fresh_warehouse,
    rerun,
    run_id_of,
    tries,
    uploads_pinned,
    wait_for_scheduler_heartbeat,
)

from newsmarkets.local.airflow_stack import AirflowStackError
from newsmarkets.local.backfill import task_states

PRICES = "prices_history"
SNAPSHOT = "prices_snapshot"
NEWS = "news_ingest"
# A killed worker's task is found by its missing heartbeats: 300 s by default.
# Retries back off from the configured delay within each rerun (RerunBackoff),
# not with Airflow's try number, which every rerun of an interval raises.
FAULT_ENV = {
    "NEWSMARKETS_TASK_RETRIES": "3",
    "NEWSMARKETS_RETRY_DELAY_S": "0.5",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
}
# Longer than the sources' timeout_s (20 s in the replay config): the client gives up and asks again.
TIMEOUT_DELAY_S = 22


class RestartedByComposePolicy(UserWarning):
    """Components exited during a fault and were started again as ``restart: always`` does."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def run_fault_worker_killed_mid_write(env, day: str, reference) -> None:
    """SIGKILL the worker whose task is uploading the day's partition; Airflow's retry must complete it."""
    run_id = run_id_of(env, PRICES, day)
    tries_before = len(tries(env, PRICES, run_id, "publish"))
    with uploads_pinned(env, "price_snapshots", day) as pinned:
        backfill_id = rerun(env, PRICES, day)
        pinned()
        (victim,) = env.airflow.query(
            "SELECT hostname FROM task_instance WHERE dag_id = %s AND run_id = %s AND task_id = 'publish' "
            "AND state = 'running'", (PRICES, run_id))[0]
        assert env.airflow.kill_component(f"celery-{victim}")
    # Released: the dead worker's stalled request is carried out or dropped; the retry writes the same file.
    try:
        finish(env, PRICES, backfill_id)
    finally:
        env.airflow.restart_component(f"celery-{victim}")

    publish = tries(env, PRICES, run_id, "publish")[tries_before:]
    assert len(publish) >= 2 and publish[0][1] == victim and publish[0][2] != "success", publish
    assert publish[-1][2] == "success" and publish[-1][1] != victim, publish
    assert_warehouse_as_clean(env, reference)


def run_fault_s3_failing(env, day: str, reference) -> None:
    """The S3 endpoint answers 503 to every request for a while; retries must complete the run."""
    failures = 15  # every request for a while: the fetch's staging upload and more
    env.s3.fail_requests(failures, status=503)
    try:
        backfill_id = rerun(env, PRICES, day)
        finish(env, PRICES, backfill_id)
        served = env.s3.fault_state()["failed"]
    finally:
        env.s3.clear_faults()
    assert served >= failures, f"only {served} of {failures} injected failures were hit"
    assert_warehouse_as_clean(env, reference)


def run_fault_scheduler_killed(env, day: str, reference) -> None:
    """SIGKILL the scheduler while the backfill's task is mid-write, start it again; the backfill completes.

    On the CeleryExecutor the task runs on a worker and reports through the
    API server, so the scheduler's death does not touch it: it must finish in
    its one try (neither killed nor run twice), and the new scheduler (a new
    scheduler job) must schedule the rest of the backfill.
    """
    run_id = run_id_of(env, PRICES, day)
    tries_before = len(tries(env, PRICES, run_id, "publish"))
    with uploads_pinned(env, "price_snapshots", day) as pinned:
        backfill_id = rerun(env, PRICES, day)
        pinned()
        env.airflow.kill_component("scheduler")
        killed_at = _now()
        assert "scheduler" in env.airflow.exited_components()
        env.airflow.restart_component("scheduler")
        # The health endpoint trusts the dead scheduler's last heartbeat for 30 s: wait for the new one's.
        wait_for_scheduler_heartbeat(env, killed_at)
        assert task_states(env.airflow, PRICES, run_id)["publish"] == "running"
    finish(env, PRICES, backfill_id)

    publish = tries(env, PRICES, run_id, "publish")[tries_before:]
    assert [state for _, _, state in publish] == ["success"], publish
    assert_warehouse_as_clean(env, reference)


def run_fault_metadata_db_restarted(env, day: str, reference) -> dict[str, list[int]]:
    """Restart the metadata database while the backfill's task is mid-write; the runs complete.

    Airflow 3.3.2 here: a scheduler, DAG processor or triggerer that reaches
    for the database in the two seconds a restart takes exits (code 1,
    ``OperationalError: connection refused``); seen: the DAG processor and
    the triggerer every time (the triggerer up to ten seconds later), the
    scheduler in one run of two. The API server and the Celery workers (and
    the running task) reconnect. docker-compose.yaml
    restarts exited services (``restart: always``); the harness does the same
    here, only inside :func:`compose_restart_policy`, and reports each such
    restart as a :class:`RestartedByComposePolicy` warning. Returns them.
    """
    with compose_restart_policy(env.airflow) as restarted:
        with uploads_pinned(env, "price_snapshots", day) as pinned:
            backfill_id = rerun(env, PRICES, day)
            pinned()
            env.postgres.restart()
            # Mid-write across the outage and until a scheduler works on the database again.
            wait_for_scheduler_heartbeat(env, _now())
            assert task_states(env.airflow, PRICES, run_id_of(env, PRICES, day))["publish"] == "running"
        finish(env, PRICES, backfill_id)
    if restarted:
        warnings.warn(RestartedByComposePolicy(
            "the metadata DB restart made these components exit (exit codes); started again as "
            f"docker-compose.yaml's restart: always does: {restarted}"), stacklevel=2)
    assert_warehouse_as_clean(env, reference)
    return restarted


def run_fault_overlapping_backfills(env, reference) -> None:
    """Two backfills over overlapping ranges at once, ``max_active_runs=2``: what Airflow allows, exact rows.

    Airflow 3.3 keeps one unfinished backfill per DAG (``_create_backfill`` in
    ``airflow/models/backfill.py`` raises ``AlreadyRunningBackfill``; the REST
    API answers 409) and one run per DAG and logical date (a unique key, 409
    on a manual trigger), so one interval never runs twice at once: both
    refusals are asserted with the errors users see. What it does allow is
    backfills of two DAGs over the same range at once, writing the same
    partitions: ``prices_history`` over every day (both days at once) while
    ``prices_snapshot`` backfills its slot on the last day, whose rows go to the
    same ``price_snapshots`` and ``dq_results`` partitions as that day's
    history. Both writers are pinned mid-upload into the shared partition, so
    each read it before the other wrote.
    """
    first, last = env.window.start.isoformat(), env.window.last_day.isoformat()
    slot = (env.window.end_at - timedelta(minutes=5)).isoformat()  # the plan's snapshot slot
    refusals = {}
    with uploads_pinned(env, "price_snapshots", last, writers=2) as pinned:
        history = rerun(env, PRICES, first, last, max_active_runs=2)
        refusals["backfill"] = _refusal(lambda: env.airflow.api("POST", "/backfills", json_body={
            "dag_id": PRICES, "from_date": f"{last}T00:00:00+00:00", "to_date": f"{last}T00:00:00+00:00",
            "reprocess_behavior": "completed", "max_active_runs": 2}))
        refusals["trigger"] = _refusal(lambda: env.airflow.trigger(PRICES, datetime.fromisoformat(last).replace(
            tzinfo=timezone.utc)))
        snapshot = rerun(env, SNAPSHOT, slot)
        pinned()
    states = finish(env, PRICES, history)
    finish(env, SNAPSHOT, snapshot)

    assert "HTTP 409" in refusals["backfill"] and f"already a running backfill for dag {PRICES}" in refusals["backfill"]
    assert "HTTP 409" in refusals["trigger"] and "Unique constraint" in refusals["trigger"], refusals["trigger"]
    spans = env.airflow.query("SELECT start_date, end_date FROM dag_run WHERE dag_id = %s AND run_id = ANY(%s)",
                              (PRICES, list(states)))
    assert len(spans) == 2 and max(s for s, _ in spans) < min(e for _, e in spans), f"the days did not overlap: {spans}"
    assert_warehouse_as_clean(env, reference)


def _refusal(call) -> str:
    try:
        call()
    except AirflowStackError as exc:
        return str(exc)
    raise AssertionError("Airflow accepted a second run of an interval that is running")


def source_faults(env, article_url: str) -> list[dict]:
    """The replay world's faults for one prices day and one news hour whose article is ``article_url``.

    Prices: ``/coins/list`` fails once more than the client retries (429,
    500, 502, 503), so the task's first try fails and Airflow's retry
    completes it; three assets' charts time out, come back as broken JSON, or
    as 429 then 503, within the client's retries. News: three outlets' feeds
    answer 429, 503 or 500, and the article times out then answers 502,
    within the fetcher's retries (three).
    """
    cfg = env.config()
    outage = ({"kind": "rate_limit", "retry_after": 1}, {"kind": "server_error", "status": 500},
              {"kind": "server_error", "status": 502}, {"kind": "server_error", "status": 503, "retry_after": 1})
    listing = [{**outage[i % len(outage)], "path": "/coins/list"} for i in range(cfg.prices.max_retries + 1)]
    a, b, c = (f"/coins/{asset}/market_chart" for asset in cfg.prices.assets[:3])
    charts = [{"kind": "slow", "path": a, "delay": TIMEOUT_DELAY_S}, {"kind": "malformed", "path": b},
              {"kind": "truncated", "path": b}, {**outage[0], "path": c}, {**outage[3], "path": c}]
    feeds = [urlsplit(source.feeds[0]).path for source in cfg.news.sources[:3]]
    article = urlsplit(article_url).path
    news = [{**outage[0], "path": feeds[0]}, {**outage[3], "path": feeds[1]}, {**outage[1], "path": feeds[2]},
            {"kind": "slow", "path": article, "delay": TIMEOUT_DELAY_S}, {**outage[2], "path": article}]
    return listing + charts + news


def run_fault_sources_failing(env, day: str, reference) -> None:
    """Sources answer 429/5xx, time out and send broken JSON for a while, during a prices day and a news hour.

    The news hour is one the plan ingested with an article, so its rows are
    the clean reference too. Of ``fetch_log`` the attempt counts differ by
    design (each retry is an attempt: the faulted article took one per fault
    more) and a rerun asks conditionally (304 where the first run got 200):
    both asserted here, not compared.
    """
    fetched = reference["fetch_log"]
    articles = fetched[fetched["outcome"] == "article"].sort_values("url")
    assert len(articles), "the plan ingested no article in its news hours: nothing for the fault to hit"
    article_url, hour = articles["url"].iloc[0], articles["interval_start_at"].iloc[0].isoformat()
    faults = source_faults(env, article_url)
    on_article = sum(fault["path"] == urlsplit(article_url).path for fault in faults)
    run_id = run_id_of(env, PRICES, day)
    fetch_tries_before = len(tries(env, PRICES, run_id, "fetch"))
    env.replay.set_faults(faults=faults)
    try:
        backfills = {PRICES: rerun(env, PRICES, day), NEWS: rerun(env, NEWS, hour)}
        for dag_id, backfill_id in backfills.items():
            finish(env, dag_id, backfill_id)
        left = env.replay.faults()
    finally:
        env.replay.clear_faults()
    assert left == [], f"faults never served: {left}"

    fetch = tries(env, PRICES, run_id, "fetch")[fetch_tries_before:]
    assert [state for _, _, state in fetch] == ["failed", "success"], fetch
    # The day was run and rerun before (the plan, earlier faults), so Airflow's own
    # backoff would wait base·2^(try-1); the retry policy starts again from the base.
    failed_try = fetch[0][0]
    ((delay_s, reason),) = env.airflow.query(
        "SELECT retry_delay_override, retry_reason FROM task_instance_history WHERE dag_id = %s AND run_id = %s "
        "AND task_id = 'fetch' AND try_number = %s", (PRICES, run_id, failed_try))
    base_s = float(FAULT_ENV["NEWSMARKETS_RETRY_DELAY_S"])
    assert failed_try >= 3 and reason.startswith("try 1 of this run") and base_s <= delay_s <= 2 * base_s, \
        (failed_try, delay_s, reason)
    row = _fetch_log_row(env, article_url, run_id_of(env, NEWS, hour))
    assert row["attempts"] == 1 + on_article and row["status"] == 304 and row["outcome"] == "article", row
    assert_warehouse_as_clean(env, reference)


def _fetch_log_row(env, url: str, run_id: str) -> dict:
    log = fresh_warehouse(env).read("fetch_log")
    rows = log[(log["url"] == url) & (log["run_id"] == run_id)]
    assert len(rows) == 1, rows
    return rows.iloc[0].to_dict()
