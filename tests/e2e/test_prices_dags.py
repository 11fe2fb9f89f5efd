"""The price DAGs through a real Airflow on embedded PostgreSQL against the replay server.

One environment (database, replay world, scheduler, DAG processor, API server)
serves the whole module; tests run in order and each owns its intervals.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from api_budget import assert_one_api_budget_holds
from conftest import DAYS, alerts_of, run_backfill

pytestmark = pytest.mark.slow


def _snapshot_slot(env) -> str:
    return (env.window.end_at - timedelta(minutes=5)).isoformat()


def _run(env, dag_id, start, end, expected, reprocess="completed"):
    return run_backfill(env, dag_id, start, end, expected, reprocess=reprocess)


def test_history_backfill_over_several_days(env, warehouse):
    # "completed": other e2e tests may have run some of these days already; this test owns all of them.
    states = _run(env, "prices_history", env.window.start.isoformat(), env.window.last_day.isoformat(), DAYS,
                  reprocess="completed")
    assert sorted(states.values()) == ["success"] * DAYS, states

    prices = warehouse.read("price_snapshots")
    history = prices[prices["source"] == "market_chart"]
    assets = set(env.config().prices.assets)
    assert set(history["asset_id"]) == assets
    # One partition per world day, each holding only that day's points (the API-budget test also loads the
    # lead-in day before them).
    days = sorted(d for d in history["dt"].unique() if d >= env.window.start.isoformat())
    assert days == [(env.window.start + timedelta(days=i)).isoformat() for i in range(DAYS)]
    assert (history["observed_at"].dt.strftime("%Y-%m-%d") == history["dt"]).all()
    assert not history.duplicated(["asset_id", "observed_at", "source"]).any()
    assert (history["price_usd"] > 0).all()
    # Past days come hourly; the day ending at the replay clock in 5-minute points.
    per_day = history.groupby("dt").size() / len(assets)
    assert per_day.iloc[0] <= 24 and per_day.iloc[-1] > 24 * 6

    dq = warehouse.read("dq_results")
    assert set(dq["table_name"]) >= {"price_snapshots", "price_gaps"}
    assert dq[dq["table_name"] == "price_snapshots"]["is_published"].all()
    # Unpausing for the backfill must not start scheduled runs past the replay clock.
    assert (dq["interval_start_at"] < pd.Timestamp(env.window.end_at)).all()


def test_history_gaps_are_recorded_not_hidden(env, warehouse):
    gaps = warehouse.read("price_gaps")
    assert len(gaps) >= 1
    assert set(gaps["reason"]) <= {"no_data", "missing_hours", "fetch_failed"}
    prices = warehouse.read("price_snapshots")
    for gap in gaps.itertuples():
        inside = prices[(prices["asset_id"] == gap.asset_id) & (prices["observed_at"] >= gap.gap_start_at)
                        & (prices["observed_at"] < gap.gap_end_at) & (prices["source"] == "market_chart")]
        assert inside.empty, f"gap {gap} overlaps stored points"


def test_rerunning_a_backfill_changes_nothing(env, warehouse):
    before = warehouse.read("price_snapshots").sort_values(["asset_id", "observed_at", "source"]).reset_index(drop=True)
    states = _run(env, "prices_history", env.window.start.isoformat(), env.window.last_day.isoformat(), DAYS,
                  reprocess="completed")
    assert set(states.values()) == {"success"}
    after = warehouse.read("price_snapshots").sort_values(["asset_id", "observed_at", "source"]).reset_index(drop=True)
    cols = [c for c in before.columns if c != "ingested_at"]
    pd.testing.assert_frame_equal(before[cols], after[cols])


def test_a_rerun_while_one_coins_history_answers_503_keeps_its_published_rows(env, warehouse):
    day = env.window.start.isoformat()
    key = ["asset_id", "observed_at", "source"]
    before = warehouse.read("price_snapshots").drop(columns=["ingested_at"]).sort_values(key, ignore_index=True)
    env.replay.set_faults(server_error={"count": 1000, "status": 503, "path": "/api/v3/coins/ethereum/market_chart"})
    try:
        states = _run(env, "prices_history", day, day, 1)
    finally:
        env.replay.clear_faults()
    assert list(states.values()) == ["success"], states
    after = warehouse.read("price_snapshots").drop(columns=["ingested_at"]).sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(before, after)
    gaps = warehouse.read("price_gaps")
    gaps = gaps[(gaps["asset_id"] == "ethereum") & (gaps["dt"] == day)]
    assert gaps["reason"].tolist() == ["refresh_failed"], gaps


def test_live_snapshot_at_the_replay_clock(env, warehouse):
    slot = _snapshot_slot(env)
    states = _run(env, "prices_snapshot", slot, slot, 1)
    assert list(states.values()) == ["success"], states
    snaps = warehouse.read("price_snapshots")
    snaps = snaps[snaps["source"] == "markets"]
    assert set(snaps["asset_id"]) == set(env.config().prices.assets)
    assert (snaps["snapshot_at"] == pd.Timestamp(env.window.end_at)).all()
    lo = pd.Timestamp(env.window.end_at) - pd.Timedelta(minutes=20)
    assert snaps["observed_at"].between(lo, pd.Timestamp(env.window.end_at)).all()
    assert snaps["symbol"].str.islower().all()


def _refused(env, dag_id, start, end) -> tuple[str, dict, str]:
    """Backfill one interval the DAG cannot serve; returns (failure report, try numbers, run id)."""
    from newsmarkets.local.backfill import DagRunFailed, create_backfill, wait_for_runs

    backfill_id = create_backfill(env.airflow, dag_id, start, end, max_active_runs=1, reprocess="completed")
    with pytest.raises(DagRunFailed) as failed:
        wait_for_runs(env.airflow, dag_id, backfill_id=backfill_id, expected=1, timeout_s=600, progress=None)
    run_ids = [r for (r,) in env.airflow.query("SELECT run_id FROM dag_run WHERE backfill_id = %s", (backfill_id,))]
    tries = dict(env.airflow.query(
        "SELECT task_id, try_number FROM task_instance WHERE dag_id = %s AND run_id = %s", (dag_id, run_ids[0])))
    return str(failed.value), tries, run_ids[0]


def test_runs_the_provider_cannot_serve_fail_naming_why(env, warehouse, alerts):
    # Issue 21: these used to be green runs with nothing in them (dates before the DAGs' start_date).
    before = warehouse.read("price_snapshots")
    report, tries, run_id = _refused(env, "prices_snapshot", "2024-10-15T09:00:00+00:00", "2024-10-15T09:00:00+00:00")
    assert "prices_snapshot cannot serve" in report and "the provider prices now" in report, report
    assert "--dag-id prices_history --from-date 2024-10-15" in report, report
    report, tries_history, _ = _refused(env, "prices_history", "2013-04-27", "2013-04-27")
    assert "coingecko's price history starts on 2013-04-28" in report, report
    # Refusals fail at once (a retry cannot help) and publish nothing.
    assert tries["fetch"] == 1 and tries_history["fetch"] == 1, (tries, tries_history)
    pd.testing.assert_frame_equal(warehouse.read("price_snapshots"), before)

    # Issue 26: the failure reached the webhook and the mailbox, with what an on-call person needs.
    hook, smtp = alerts
    (failed,) = alerts_of(hook, "task_failed", dag_id="prices_snapshot", run_id=run_id, task_id="fetch")
    assert "prices_snapshot cannot serve" in failed["error"] and failed["will_retry"] is False, failed
    assert failed["interval"] == {"start": "2024-10-15T09:00:00+00:00", "end": "2024-10-15T09:05:00+00:00"}, failed
    assert failed["log_url"] and "prices_snapshot" in failed["log_url"], failed
    assert "[newsmarkets] Task prices_snapshot.fetch failed" in failed["text"], failed
    assert alerts_of(hook, "dag_run_failed", dag_id="prices_snapshot", run_id=run_id)
    # The slot, long past its deadline, raised a late-snapshot alert from the triggerer.
    late = alerts_of(hook, "late_snapshot", dag_id="prices_snapshot", run_id=run_id)
    assert late, (run_id, [(m.get("kind"), m.get("run_id")) for m in hook.received])
    assert late[0]["deadline_time"] and pd.Timestamp(late[0]["interval"]["start"]) == pd.Timestamp("2024-10-15T09:00Z")
    for kind in ("task_failed", "dag_run_failed", "late_snapshot"):
        mails = alerts_of(smtp, kind, run_id=run_id)
        assert mails and mails[0].recipients == ["oncall@example.org"], (kind, [m.subject for m in smtp.received])


def test_transient_faults_recovered_by_client_and_airflow_retries(env, warehouse):
    # 429s are absorbed inside the task (Retry-After honoured); 5 straight 503s
    # exhaust the client's retries so the first task try fails and Airflow's
    # retry completes the run.
    env.replay.set_faults(rate_limit={"count": 2, "retry_after": 1},
                          server_error={"count": 6, "status": 503, "path": "/api/v3/coins/markets"})
    try:
        slot = _snapshot_slot(env)
        states = _run(env, "prices_snapshot", slot, slot, 1, reprocess="completed")
    finally:
        env.replay.clear_faults()
    assert list(states.values()) == ["success"], states
    run_id = next(iter(states))
    tries = dict(env.airflow.query(
        "SELECT task_id, try_number FROM task_instance WHERE dag_id = %s AND run_id = %s",
        ("prices_snapshot", run_id)))
    assert tries["fetch"] >= 2, tries


def test_bad_payload_is_quarantined_and_nothing_published(env, warehouse, alerts):
    before = warehouse.read("price_snapshots")
    env.replay.set_faults(negative_prices={"count": 1000, "asset_ids": ["bitcoin"]})
    try:
        slot = _snapshot_slot(env)
        states = _run(env, "prices_snapshot", slot, slot, 1, reprocess="completed")
    finally:
        env.replay.clear_faults()
    assert list(states.values()) == ["failed"], states

    after = warehouse.read("price_snapshots")
    cols = [c for c in before.columns]
    pd.testing.assert_frame_equal(
        before[cols].sort_values(["asset_id", "observed_at", "source"]).reset_index(drop=True),
        after[cols].sort_values(["asset_id", "observed_at", "source"]).reset_index(drop=True),
    )
    quarantine = Path(env.warehouse) / "_quarantine" / "price_snapshots"
    reports = list(quarantine.rglob("validation.json"))
    assert reports, f"nothing quarantined under {quarantine}"
    text = reports[-1].read_text()
    assert "price_usd" in text
    json.loads(text)

    dq = warehouse.read("dq_results")
    failed = dq[(dq["table_name"] == "price_snapshots") & (~dq["is_published"]) & (~dq["success"])]
    assert any("price_usd" in e for e in failed["expectation"]), failed

    # Issue 26: every quarantined batch is announced with table, interval, failed expectations,
    # quarantine path and the task log, by webhook and by e-mail.
    hook, smtp = alerts
    run_id = next(iter(states))
    quarantined = alerts_of(hook, "quarantine", dag_id="prices_snapshot", run_id=run_id, task_id="publish")
    assert quarantined, [m.get("kind") for m in hook.received]
    alert = quarantined[-1]
    assert alert["table"] == "price_snapshots", alert
    assert alert["interval"]["end"] == pd.Timestamp(env.window.end_at).isoformat(), alert
    assert any(e["column"] == "price_usd" for e in alert["failed_expectations"]), alert
    assert Path(alert["quarantine_path"]).name and "_quarantine" in alert["quarantine_path"], alert
    assert alert["log_url"] and "publish" in alert["log_url"], alert
    mails = alerts_of(smtp, "quarantine", run_id=run_id)
    assert mails and "price_usd" in mails[-1].html, [m.subject for m in smtp.received]


def _maps_scipy(pid: int) -> bool:
    return "scipy" in Path(f"/proc/{pid}/maps").read_text()


def test_scheduler_preloads_task_libraries_and_the_api_server_does_not(env):
    """Tasks fork from the scheduler's executor: GX imported there once is free in every task."""
    procs = env.airflow._procs
    assert _maps_scipy(procs["scheduler"].pid), "the scheduler did not preload Great Expectations (scipy)"
    assert not _maps_scipy(procs["api-server"].pid)
    assert not _maps_scipy(procs["dag-processor"].pid)


def test_one_api_budget_holds_across_a_concurrent_backfill_and_the_live_snapshot(env):
    """Issue 24 on the embedded stack (the distributed one: test_distributed_stack.py)."""
    assert_one_api_budget_holds(env)
