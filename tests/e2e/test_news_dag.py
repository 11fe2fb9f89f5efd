"""news_ingest through a real Airflow against the replay world's news outlets.

A backfill over past hours must recover them from the outlets' sitemaps;
every discovered URL must end as an article or a fetch_log row; a rerun must
change nothing.
"""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import run_backfill

pytestmark = pytest.mark.slow

# Six past hours across midnight (two dt partitions), recovered from sitemaps: a backfill.
FROM, TO, HOURS = "2026-01-05T21:00:00+00:00", "2026-01-06T02:00:00+00:00", 6


def _truth_in_window(env):
    import requests

    truth = requests.get(f"http://127.0.0.1:{env.replay.port}/_replay/news_truth", timeout=10).json()
    lo, hi = pd.Timestamp(FROM), pd.Timestamp(TO) + pd.Timedelta(hours=1)
    return [a for a in truth["articles"] if lo <= pd.Timestamp(a["published_at"]) < hi]


def test_news_backfill_recovers_the_hours(env, warehouse):
    states = run_backfill(env, "news_ingest", FROM, TO, HOURS)
    assert set(states.values()) == {"success"}, states

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
    assert {"2026-01-05", "2026-01-06"} <= set(articles["dt"])


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
