"""news_market_link through a real Airflow: injected events recovered from what the DAGs loaded.

The test backfills the inputs of one replay day (prices for every world day,
the day's 24 hourly news runs), then the linking DAG for that day — its
sensors wait for those runs in Airflow's metadata — and scores the gold table
against the replay world's ground truth.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from conftest import DAYS, run_backfill

pytestmark = pytest.mark.slow

RUN_COLUMNS = ["computed_at"]


def _truths(env):
    from newsmarkets.replay.news_world import NewsWorld
    from newsmarkets.replay.world import MarketWorld

    rc = env.config().replay
    market = MarketWorld.generate(rc.start, rc.days, rc.seed)
    return market.truth(), NewsWorld.generate(market, rc.seed).truth()


@pytest.fixture(scope="module")
def linked_day(env, warehouse):
    # The world's middle day: prices exist before it (estimation) and a day after it (24h horizons).
    day = env.window.start + timedelta(days=1)
    # "completed": other tests may have run some of these dates; this module needs all of them, freshly.
    run_backfill(env, "prices_history", env.window.start.isoformat(), env.window.last_day.isoformat(), DAYS,
                 reprocess="completed")
    news = run_backfill(env, "news_ingest", f"{day}T00:00:00+00:00", f"{day}T23:00:00+00:00", 24,
                        reprocess="completed", max_active_runs=4)
    assert set(news.values()) == {"success"}, news
    link = run_backfill(env, "news_market_link", day.isoformat(), day.isoformat(), 1, reprocess="completed")
    assert set(link.values()) == {"success"}, link
    # The real past (issue 21): 2024-10-15, backfilled for prices, news and linking through Airflow.
    assert day.isoformat() == "2024-10-15"
    return day.isoformat()


def test_every_story_original_is_linked_to_the_market_at_every_horizon(env, warehouse, linked_day):
    gold = warehouse.read("news_market_moves", dts=[linked_day])
    articles = warehouse.read("articles", dts=[linked_day])
    horizons = set(env.config().linking.horizons)
    assert set(gold["horizon"]) == horizons
    originals = articles.sort_values(["published_at", "article_id"]).drop_duplicates("story_id")
    market = gold[gold["asset_id"] == "market"]
    # one market row per story and horizon, keyed by the story's earliest copy; copies get no rows
    assert set(market["article_id"]) == set(originals["article_id"])
    assert len(market) == len(originals) * len(horizons)
    copies = set(articles["article_id"]) - set(originals["article_id"])
    assert copies and not copies & set(gold["article_id"])
    assert not gold.duplicated(["article_id", "asset_id", "horizon"]).any()
    computed = gold[gold["missing_reason"].isna()]
    assert computed["abnormal_z"].notna().all() and computed["is_settled"].all()
    assert (gold.loc[~gold["is_settled"], "missing_reason"].notna()).all()


def test_injected_events_are_recovered(env, warehouse, linked_day):
    from newsmarkets.moves.recovery import recovery

    market_truth, news_truth = _truths(env)
    rec = recovery(warehouse.read("news_market_moves", dts=[linked_day]),
                   warehouse.read("articles", columns=["article_id", "url", "canonical_url"]),
                   market_truth, news_truth, horizon="1h", assets=set(env.config().prices.assets))
    print(f"\n[recovery {linked_day} @1h] precision {rec['precision']} recall {rec['recall']} "
          f"({rec['true_positives']}/{rec['truth_positives']} truth, {rec['predicted_positives']} predicted); "
          f"misses {rec['misses']}; false positives {rec['false_positives']}")
    assert rec["truth_positives"] >= 3
    assert rec["recall"] >= 0.75, rec["misses"]
    assert rec["precision"] >= 0.75, rec["false_positives"]


def test_a_rerun_changes_nothing_but_computed_at(env, warehouse, linked_day):
    key = ["article_id", "asset_id", "horizon"]
    before = warehouse.read("news_market_moves", dts=[linked_day]).drop(columns=RUN_COLUMNS)
    states = run_backfill(env, "news_market_link", linked_day, linked_day, 1, reprocess="completed")
    assert set(states.values()) == {"success"}, states
    after = warehouse.read("news_market_moves", dts=[linked_day]).drop(columns=RUN_COLUMNS)
    pd.testing.assert_frame_equal(before.sort_values(key).reset_index(drop=True),
                                  after.sort_values(key).reset_index(drop=True))
    files = warehouse.files("news_market_moves", dts=[linked_day])
    assert len(files) == 1, files
