"""Issue 24's proof on any stack: one API budget across every run and worker.

The provider (the replay API) allows ``LIMIT_CALLS`` calls in any
``LIMIT_WINDOW_S`` seconds to all clients together; the config's budget is
``BUDGET_PER_MINUTE`` (8 per 10 s). A 4-run ``prices_history`` backfill (all
runs at once) and the live snapshot run side by side twice: first with every
task keeping the whole budget for itself (``pool_slots: 1``, what each task
did before the pool), which the provider refuses, then with the pool's slots
sharing it, which it must never refuse. Shared by the embedded and the
distributed (Celery) e2e modules, on their running stacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import yaml

from newsmarkets.local.backfill import create_backfill, wait_for_runs
from newsmarkets.orchestration.pools import NEWS_POOL, PRICES_POOL

LIMIT_CALLS, LIMIT_WINDOW_S, BUDGET_PER_MINUTE = 12, 10.0, 48
HISTORY_RUNS = 4  # the "4-run concurrent prices_history backfill"


@dataclass
class BudgetRun:
    history: dict[str, str]  # run_id -> state
    snapshot: dict[str, str]
    counts: dict  # the provider's: admitted, refused, max_in_window
    most_at_once: int  # the most fetch tasks (history and snapshot) that ran at the same time
    hosts: set[str]  # where those fetch tasks ran


def _most_at_once(spans: list[tuple]) -> int:
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    running = most = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return most


def backfill_under_the_provider_limit(env, pool_slots: int) -> BudgetRun:
    """The last ``HISTORY_RUNS`` days up to the world's last (earlier ones come from its hourly lead-in) and
    the snapshot of the world's last slot, under the provider's limit and the config's budget."""
    original = env.config_path.read_text()
    raw = yaml.safe_load(original)  # tasks read the config when they start: this applies to the runs below
    raw["prices"].update(rate_limit_per_minute=BUDGET_PER_MINUTE, pool_slots=pool_slots)
    env.config_path.write_text(yaml.safe_dump(raw, sort_keys=False))
    env.replay.set_budget(LIMIT_CALLS, LIMIT_WINDOW_S)
    try:
        first = env.window.last_day - timedelta(days=HISTORY_RUNS - 1)
        slot = (env.window.end_at - timedelta(minutes=5)).isoformat()
        history = create_backfill(env.airflow, "prices_history", first.isoformat(), env.window.last_day.isoformat(),
                                  max_active_runs=HISTORY_RUNS, reprocess="completed")
        snapshot = create_backfill(env.airflow, "prices_snapshot", slot, slot, max_active_runs=1, reprocess="completed")
        wait = dict(timeout_s=900, fail_fast=False, progress=None)
        history_states = wait_for_runs(env.airflow, "prices_history", backfill_id=history, expected=HISTORY_RUNS,
                                       **wait)
        snapshot_states = wait_for_runs(env.airflow, "prices_snapshot", backfill_id=snapshot, expected=1, **wait)
        counts = env.replay.budget()
    finally:
        env.replay.set_budget(None)
        env.config_path.write_text(original)
    spans = env.airflow.query(
        "SELECT ti.start_date, ti.end_date, ti.hostname FROM task_instance ti JOIN dag_run dr "
        "ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id WHERE dr.backfill_id IN (%s, %s) AND ti.task_id = 'fetch'",
        (history, snapshot))
    return BudgetRun(history_states, snapshot_states, counts, _most_at_once([(s, e) for s, e, _ in spans]),
                     {host for _, _, host in spans})


def assert_one_api_budget_holds(env) -> BudgetRun:
    """Both phases on ``env``'s running stack; returns the pooled one."""
    cfg = env.config()
    pools = dict(env.airflow.query("SELECT pool, slots FROM slot_pool WHERE pool LIKE 'newsmarkets%%'"))
    assert pools == {PRICES_POOL: cfg.prices.pool_slots, NEWS_POOL: cfg.news.pool_slots}, pools

    # Before the pool: each task kept the whole budget for itself, so the runs together asked for several times it.
    alone = backfill_under_the_provider_limit(env, pool_slots=1)
    assert alone.counts["refused"] > 0, alone

    # With it: the pool's slots share the budget, every run and the snapshot succeed, nothing is refused.
    pooled = backfill_under_the_provider_limit(env, pool_slots=cfg.prices.pool_slots)
    assert set(pooled.history.values()) == {"success"} and set(pooled.snapshot.values()) == {"success"}, pooled
    assert pooled.counts["refused"] == 0 and pooled.counts["max_in_window"] <= LIMIT_CALLS, pooled
    assert pooled.counts["admitted"] >= HISTORY_RUNS * (1 + len(cfg.prices.assets)) + 1, pooled
    assert pooled.most_at_once >= 3, f"the fetch tasks did not overlap: {pooled}"
    return pooled
