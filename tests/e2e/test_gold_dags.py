"""news_market_link through a real Airflow: injected events recovered from what the DAGs loaded.

The test backfills the linking DAG over the replay world's three days first,
then its inputs (prices for every day, 72 hourly news runs): each link run
waits, deferred to the triggerer, until its day's inputs have succeeded in
Airflow's metadata. The gold table is then scored against the replay world's
ground truth.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import date, datetime, time as day_start, timedelta, timezone
from urllib.parse import quote

import pandas as pd
import pytest

from conftest import DAYS, LINEAGE_DIR, run_backfill

pytestmark = pytest.mark.slow

RUN_COLUMNS = ["computed_at"]


def _truths(env):
    from newsmarkets.replay.news_world import NewsWorld
    from newsmarkets.replay.world import MarketWorld

    rc = env.config().replay
    market = MarketWorld.generate(rc.start, rc.days, rc.seed)
    return market.truth(), NewsWorld.generate(market, rc.seed).truth()


class WaitWatch:
    """Samples the link runs' task states beside their inputs' run states, once a second, in a thread.

    Task states are read before input states: inputs only move towards success here, so inputs still
    missing at the second read were missing while the task states were read.
    """

    def __init__(self, env, backfill_id: int):
        self.stack, self.backfill_id = env.airflow, backfill_id
        self.samples: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def sample(self) -> dict:
        tis = self.stack.query(
            "SELECT dr.logical_date, ti.task_id, ti.state, ti.trigger_id FROM task_instance ti "
            "JOIN dag_run dr ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id "
            "WHERE ti.dag_id = 'news_market_link' AND dr.backfill_id = %s", (self.backfill_id,))
        inputs = self.stack.query(
            "SELECT dag_id, logical_date FROM dag_run WHERE dag_id IN ('news_ingest', 'prices_history') "
            "AND state = 'success'")
        counts: dict = {}
        for dag_id, logical_date in inputs:
            key = (_utc_day(logical_date), dag_id)
            counts[key] = counts.get(key, 0) + 1
        # what each task waits for: its sensor's input, or (the link and after) both
        ready = {}
        for day in {d for d, _ in counts}:
            news, prices = counts.get((day, "news_ingest"), 0) == 24, counts.get((day, "prices_history"), 0) == 1
            ready.update({(day, "wait_for_news"): news, (day, "wait_for_prices"): prices, (day, None): news and prices})
        return {"tis": {(_utc_day(ld), task): (state, trigger) for ld, task, state, trigger in tis}, "ready": ready}

    def _run(self):
        while not self._stop.is_set():
            self.samples.append(self.sample())
            self._stop.wait(1.0)

    def wait_until_deferred(self, day, timeout_s: float = 300.0):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            tis = self.sample()["tis"]
            if all(tis.get((day, s), (None,))[0] == "deferred" for s in SENSORS):
                return
            time.sleep(1)
        raise AssertionError(f"the sensors of {day} did not defer within {timeout_s:.0f}s: {self.sample()['tis']}")


SENSORS = ("wait_for_news", "wait_for_prices")


def _utc_day(moment: datetime) -> date:
    return moment.astimezone(timezone.utc).date()


def _midnight(day: date) -> datetime:
    return datetime.combine(day, day_start(0), tzinfo=timezone.utc)


def _delete_runs(env, dag_id: str, first: date, last: date) -> None:
    """Input runs left by an earlier module would satisfy the sensors at once: the proof needs none."""
    rows = env.airflow.query("SELECT run_id FROM dag_run WHERE dag_id = %s AND logical_date >= %s AND logical_date < %s",
                             (dag_id, _midnight(first), _midnight(last + timedelta(days=1))))
    for (run_id,) in rows:
        env.airflow.api("DELETE", f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}")


@pytest.fixture(scope="module")
def linked_days(env, warehouse):
    """Backfill the link DAG over the world's days *before* its inputs exist, then the inputs.

    Each link run must wait for its day's 24 news hours and its prices day, deferred (no task in
    ``running`` or ``up_for_reschedule``), and start linking only once they are in.
    """
    from newsmarkets.local.backfill import create_backfill, wait_for_runs

    first, last = env.window.start, env.window.last_day
    for dag_id in ("news_ingest", "prices_history"):
        _delete_runs(env, dag_id, first, last)
    link_id = create_backfill(env.airflow, "news_market_link", first, last, max_active_runs=1, reprocess="completed")
    with WaitWatch(env, link_id) as watch:
        watch.wait_until_deferred(first)
        prices_id = create_backfill(env.airflow, "prices_history", first, last, max_active_runs=2,
                                    reprocess="completed")
        news_id = create_backfill(env.airflow, "news_ingest", f"{first}T00:00:00+00:00", f"{last}T23:00:00+00:00",
                                  max_active_runs=4, reprocess="completed")
        prices = wait_for_runs(env.airflow, "prices_history", backfill_id=prices_id, expected=DAYS, timeout_s=900,
                               progress=None)
        news = wait_for_runs(env.airflow, "news_ingest", backfill_id=news_id, expected=24 * DAYS, timeout_s=2400,
                             progress=None)
        link = wait_for_runs(env.airflow, "news_market_link", backfill_id=link_id, expected=DAYS, timeout_s=900,
                             progress=None)
    assert set(prices.values()) == set(news.values()) == set(link.values()) == {"success"}, (prices, news, link)
    return {"link_id": link_id, "link": link, "samples": watch.samples}


@pytest.fixture(scope="module")
def linked_day(env, linked_days):
    # The world's middle day: prices exist before it (estimation) and a day after it (24h horizons).
    day = env.window.start + timedelta(days=1)
    # The real past (issue 21): 2024-10-15, backfilled for prices, news and linking through Airflow.
    assert day.isoformat() == "2024-10-15"
    return day.isoformat()


def test_a_backfill_of_three_days_waits_deferred_for_each_days_inputs(env, linked_days):
    assert len(linked_days["link"]) == DAYS, linked_days["link"]
    samples = linked_days["samples"]
    assert len(samples) > 30, len(samples)
    seen_deferred: set = set()
    waited: dict = {}
    for s in samples:
        for (day, task), (state, trigger_id) in s["tis"].items():
            assert state != "up_for_reschedule", (day, task)
            if s["ready"].get((day, task if task in SENSORS else None)):
                continue
            # inputs missing: nothing runs; a sensor, once deferred, stays deferred with its trigger
            assert task in SENSORS or state in (None, "scheduled", "queued"), (day, task, state)
            if state == "deferred":
                assert trigger_id is not None, (day, task)
                seen_deferred.add((day, task))
                waited[(day, task)] = waited.get((day, task), 0) + 1
            else:
                assert (day, task) not in seen_deferred, (day, task, state)
    # The first day's run was created before any input existed: both sensors waited, deferred (the news
    # one through at least 20 samples a second apart: the day's 24 hourly runs take minutes).
    assert waited.get((env.window.start, "wait_for_prices"), 0) >= 1, waited
    assert waited.get((env.window.start, "wait_for_news"), 0) >= 20, waited
    # Each run linked only after its day's inputs had all succeeded.
    rows = env.airflow.query(
        "SELECT dr.logical_date, ti.start_date FROM task_instance ti JOIN dag_run dr "
        "ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id "
        "WHERE ti.dag_id = 'news_market_link' AND ti.task_id = 'link' AND dr.backfill_id = %s",
        (linked_days["link_id"],))
    assert len(rows) == DAYS, rows
    for logical_date, link_started in rows:
        (inputs_done,) = env.airflow.query(
            "SELECT max(end_date) FROM dag_run WHERE state = 'success' AND ((dag_id = 'news_ingest' "
            "AND logical_date >= %s AND logical_date < %s) OR (dag_id = 'prices_history' AND logical_date = %s))",
            (logical_date, logical_date + timedelta(days=1), logical_date))[0]
        assert link_started > inputs_done, (logical_date, link_started, inputs_done)


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


def _lineage(env, dag_id: str, run_id: str) -> dict[str, tuple[set, set]]:
    """{task_id: (input datasets, output datasets)} of the run's tasks, from their COMPLETE events."""
    found: dict[str, tuple[set, set]] = {}
    for path in (env.base_dir / LINEAGE_DIR).iterdir():
        event = json.loads(path.read_text())
        airflow = event["run"]["facets"].get("airflow", {})
        if (event["eventType"] != "COMPLETE" or airflow.get("dagRun", {}).get("run_id") != run_id
                or not event["job"]["name"].startswith(dag_id + ".")):
            continue
        found[event["job"]["name"].split(".", 1)[1]] = (
            {(d["namespace"], d["name"]) for d in event.get("inputs", [])},
            {(d["namespace"], d["name"]) for d in event.get("outputs", [])})
    return found


def test_lineage_names_the_tables_a_news_hour_and_a_link_day_read_and_wrote(env, warehouse, linked_day):
    from newsmarkets.warehouse.lineage import dataset_name

    def tables(*names):
        return {dataset_name(warehouse.table_url(t)) for t in names}

    (hour_run,) = env.airflow.query("SELECT run_id FROM dag_run WHERE dag_id = 'news_ingest' AND logical_date = %s",
                                    (datetime.fromisoformat(f"{linked_day}T10:00:00+00:00"),))[0]
    hour = _lineage(env, "news_ingest", hour_run)
    assert hour.get("publish") == (tables("articles"),
                                   tables("articles", "article_assets", "fetch_log", "dq_results")), hour
    assert hour.get("deduplicate") == (tables("articles"), set()), hour
    # the coin list is read only when assets_refresh has published one (not in this module's world)
    assert hour.get("link") == (tables("assets") if warehouse.partitions("assets") else set(), set()), hour
    assert hour.get("fetch") == (set(), set()), hour

    day_run = next(iter(linked_days_runs(env, linked_day)))
    day = _lineage(env, "news_market_link", day_run)
    assert day.get("link") == (tables("articles", "article_assets", "price_snapshots", "news_market_moves"),
                               tables("news_market_moves", "market_moves", "dq_results")), day
    assert day.get("wait_for_news") == (set(), set()), day


def linked_days_runs(env, day: str) -> list[str]:
    return [r for (r,) in env.airflow.query(
        "SELECT run_id FROM dag_run WHERE dag_id = 'news_market_link' AND logical_date = %s",
        (datetime.fromisoformat(f"{day}T00:00:00+00:00"),))]


def test_metrics_reach_a_statsd_server_when_switched_on(statsd, linked_days):
    names = statsd.names()
    # the scheduler's view of the link runs and the triggerer's of the sensors it held
    assert "airflow.dagrun.duration.success.news_market_link" in names, sorted(names)[:80]
    assert any(n.startswith("airflow.triggers.") or n.startswith("airflow.triggerer") for n in names), sorted(names)[:80]
