"""news_ingest through a real Airflow against the replay world's news outlets.

A backfill over past hours must recover them from the outlets' sitemaps;
every discovered URL must end as an article or a fetch_log row; a rerun must
change nothing; hours holding a wire story and its copies, run backwards and
concurrently, must leave exactly one original per story.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from conftest import WORLD_START, run_backfill

pytestmark = pytest.mark.slow

# Six past hours across midnight (two dt partitions), recovered from sitemaps: a backfill.
NEXT_DAY = WORLD_START + timedelta(days=1)
FROM, TO, HOURS = f"{WORLD_START}T21:00:00+00:00", f"{NEXT_DAY}T02:00:00+00:00", 6


def _truth(env) -> list[dict]:
    import requests

    return requests.get(f"http://127.0.0.1:{env.replay.port}/_replay/news_truth", timeout=10).json()["articles"]


def _truth_in_window(env):
    lo, hi = pd.Timestamp(FROM), pd.Timestamp(TO) + pd.Timedelta(hours=1)
    return [a for a in _truth(env) if lo <= pd.Timestamp(a["published_at"]) < hi]


def _report_run_times(env, states: dict, label: str) -> None:
    """Print each run's wall time from Airflow's metadata (a measurement, not an assertion)."""
    rows = env.airflow.query(
        "SELECT run_id, start_date, end_date FROM dag_run WHERE dag_id = 'news_ingest' AND run_id = ANY(%s)",
        (list(states),))
    per_run = sorted((end - start).total_seconds() for _, start, end in rows if start and end)
    if per_run:
        wall = (max(r[2] for r in rows) - min(r[1] for r in rows)).total_seconds()
        print(f"\n[news_ingest timing] {label}: {len(per_run)} runs, wall {wall:.1f} s, per run "
              f"median {per_run[len(per_run) // 2]:.1f} s, min {per_run[0]:.1f} s, max {per_run[-1]:.1f} s")


def test_news_backfill_recovers_the_hours(env, warehouse):
    states = run_backfill(env, "news_ingest", FROM, TO, HOURS)
    assert set(states.values()) == {"success"}, states
    _report_run_times(env, states, f"{HOURS} hourly runs, max_active_runs=2")

    articles = warehouse.read("articles")
    log = warehouse.read("fetch_log")
    truth = _truth_in_window(env)
    expected = {a["title"] for a in truth if not a.get("is_robots_disallowed")}
    assert expected and expected <= set(articles["title"]), expected - set(articles["title"])
    # Every URL accounted for: one log row each, articles exactly the 'article' rows.
    assert not log.duplicated(["url", "run_id"]).any()
    assert set(log.loc[log["outcome"] == "article", "article_id"]) == set(articles["article_id"])
    assert (articles["published_at"] <= articles["fetched_at"]).all()
    assert (articles["dt"] == articles["published_at"].dt.strftime("%Y-%m-%d")).all()
    assert {WORLD_START.isoformat(), NEXT_DAY.isoformat()} <= set(articles["dt"])


def test_news_rerun_changes_nothing(env, warehouse):
    cols = ["article_id", "title", "body", "published_at", "story_id", "content_hash"]
    before = warehouse.read("articles")[cols].sort_values("article_id").reset_index(drop=True)
    links_before = warehouse.read("article_assets").sort_values(["article_id", "asset_id"]).reset_index(drop=True)
    states = run_backfill(env, "news_ingest", FROM, TO, HOURS, reprocess="completed")
    assert set(states.values()) == {"success"}, states
    after = warehouse.read("articles")[cols].sort_values("article_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(before, after)
    links_after = warehouse.read("article_assets").sort_values(["article_id", "asset_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(links_before, links_after)


def test_event_articles_link_to_their_assets(env, warehouse):
    truth = {a["title"]: set(a["asset_ids"]) for a in _truth_in_window(env) if a.get("event_id")}
    articles = warehouse.read("articles")
    links = warehouse.read("article_assets")
    linked = links.groupby("article_id")["asset_id"].apply(set).to_dict()
    for row in articles.itertuples():
        if row.title in truth:
            assert truth[row.title] <= linked.get(row.article_id, set()), row.title


def _syndicated_story_across_hours(env) -> tuple[str, list[dict]]:
    """A wire story whose copies fall in different hours after the window above (from the world's truth)."""
    after = pd.Timestamp(TO) + pd.Timedelta(hours=2)
    stories: dict[str, list[dict]] = {}
    for a in _truth(env):
        stories.setdefault(a["story_key"], []).append(a)
    for key, copies in sorted(stories.items(), key=lambda kv: min(a["published_at"] for a in kv[1])):
        hours = {pd.Timestamp(a["published_at"]).floor("h") for a in copies}
        if (len(copies) >= 2 and len(hours) >= 2 and min(hours) >= after and max(hours) - min(hours) <= pd.Timedelta(hours=3)
                # listed under their publish time (an edit would list a copy under its lastmod's hour)
                and all(a["modified_at"] == a["published_at"] and not a["is_robots_disallowed"] for a in copies)):
            return key, copies
    raise AssertionError("the replay world has no syndicated story with copies in different hours")


def test_out_of_order_concurrent_hours_leave_one_original_per_story(env, warehouse):
    from newsmarkets.news.urls import article_id

    key, copies = _syndicated_story_across_hours(env)
    start = min(pd.Timestamp(a["published_at"]).floor("h") for a in copies)
    end = max(pd.Timestamp(a["published_at"]).floor("h") for a in copies)
    hours = int((end - start) / pd.Timedelta(hours=1)) + 1
    # newest hour first, all at once: later copies are published before (or while) the original is
    states = run_backfill(env, "news_ingest", start.isoformat(), end.isoformat(), hours, max_active_runs=4,
                          run_backwards=True)
    assert set(states.values()) == {"success"}, states
    _report_run_times(env, states, f"{hours} hourly runs backwards, max_active_runs=4")

    articles = warehouse.read("articles")
    originals = articles.groupby("story_id")["is_original"].sum()
    assert (originals == 1).all(), originals[originals != 1]
    root = f"http://127.0.0.1:{env.replay.port}"
    ids = {article_id(root + a["path"]): a for a in copies}
    story = articles[articles["article_id"].isin(ids)]
    assert len(story) == len(copies), (key, sorted(story["url"]))
    assert story["story_id"].nunique() == 1, story[["url", "story_id", "is_original"]]
    flagged = story.loc[story["is_original"], "article_id"].tolist()
    assert len(flagged) == 1 and ids[flagged[0]]["is_original"], story[["url", "published_at", "is_original"]]
    # the runs cleaned their hand-offs after publishing
    import os

    from newsmarkets.warehouse.storage import safe_name

    names = {safe_name(r) for r in states}
    staged = [os.path.join(d, f) for d, _, files in os.walk(warehouse.storage.path("_staging")) for f in files]
    assert not [p for p in staged if any(n in p for n in names)], staged[:5]


def _busy_hour(env) -> tuple[pd.Timestamp, list[dict]]:
    """The first hour before the window above with three or more fetchable pages (from the world's truth)."""
    hours: dict[pd.Timestamp, list[dict]] = {}
    for a in _truth(env):
        if not a["is_robots_disallowed"] and a["modified_at"] == a["published_at"]:
            hours.setdefault(pd.Timestamp(a["published_at"]).floor("h"), []).append(a)
    busy = sorted(h for h, pages in hours.items() if len(pages) >= 3 and h < pd.Timestamp(FROM))
    assert busy, "the replay world has no hour with three pages before the backfill window"
    return busy[0], hours[busy[0]]


def test_reruns_keep_what_they_failed_to_refetch_and_drop_what_the_site_withdrew(env, warehouse):
    from newsmarkets.news.urls import article_id

    hour, pages = _busy_hour(env)
    root = f"http://127.0.0.1:{env.replay.port}"
    first = run_backfill(env, "news_ingest", hour.isoformat(), hour.isoformat(), 1)
    assert set(first.values()) == {"success"}, first
    cols = ["article_id", "title", "body", "published_at", "story_id", "is_original"]
    before = warehouse.read("articles")[cols].sort_values("article_id", ignore_index=True)
    victim = sorted(pages, key=lambda a: a["path"])[0]
    victim_id = article_id(root + victim["path"])
    assert victim_id in set(before["article_id"])

    def rerun(**faults) -> tuple[str, pd.DataFrame]:
        env.replay.set_faults(**faults)
        try:
            states = run_backfill(env, "news_ingest", hour.isoformat(), hour.isoformat(), 1)
        finally:
            env.replay.clear_faults()
        (run_id, state), = states.items()
        log = warehouse.read("fetch_log")
        return state, log[(log["run_id"] == run_id) & (log["url"] == root + victim["path"])]

    # one page of three answers 503: the run is green, the article stays, the log says why
    state, log = rerun(server_error={"count": 1000, "status": 503, "path": victim["path"]})
    assert state == "success"
    pd.testing.assert_frame_equal(before, warehouse.read("articles")[cols].sort_values("article_id", ignore_index=True))
    assert log["status"].tolist() == [503] and "published article kept" in log["reason"].iloc[0]

    # the site withdrew it (410 while its listings still name it): the article goes, counted in the log
    state, log = rerun(gone={"count": 1000, "path": victim["path"]})
    assert state == "success"
    after = warehouse.read("articles")
    assert victim_id not in set(after["article_id"]) and len(after) == len(before) - 1
    assert victim_id not in set(warehouse.read("article_assets")["article_id"])
    assert log["status"].tolist() == [410] and "published article removed" in log["reason"].iloc[0]

    # every page of the hour fails: extract fails at once (a retry would read the same fetches), nothing changes
    now = warehouse.read("articles")[cols].sort_values("article_id", ignore_index=True)

    def extract_try(run_id: str) -> tuple[str, int]:
        return env.airflow.query("SELECT state, try_number FROM task_instance WHERE dag_id = 'news_ingest' "
                                 "AND run_id = %s AND task_id = 'extract'", (run_id,))[0]
    first_run = next(iter(first))
    previous_try = extract_try(first_run)[1]
    env.replay.set_faults(faults=[{"kind": "server_error", "count": 1000, "status": 500, "path": a["path"]}
                                  for a in pages])
    try:
        states = run_backfill(env, "news_ingest", hour.isoformat(), hour.isoformat(), 1)
    finally:
        env.replay.clear_faults()
    (run_id, state), = states.items()
    assert state == "failed"
    pd.testing.assert_frame_equal(now, warehouse.read("articles")[cols].sort_values("article_id", ignore_index=True))
    # one try only (reruns of one run count its tries on: the earlier reruns were tries 1..n)
    assert extract_try(run_id) == ("failed", previous_try + 1 if run_id == first_run else 1)
