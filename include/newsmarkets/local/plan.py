"""What "backfill every DAG over the replay range" means, defined once.

The demo, the end-to-end tests and the distributed-topology test all run this
plan through ``airflow backfill create`` — the way a user would — so they
exercise the same runs. Three phases: the coin list first (news links with
its names), ingestion and linking together (the linking DAG's sensors wait
for each day's inputs), then maintenance, which compacts closed partitions
and so goes after the writers of those partitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Callable

from newsmarkets.local.environment import WorldWindow


@dataclass(frozen=True)
class Backfill:
    dag_id: str
    start: str  # ISO; a logical date (interval start) of the first run
    end: str  # ISO; of the last run, inclusive
    runs: int
    max_active_runs: int
    phase: int


def _day_start(d) -> datetime:
    return datetime.combine(d, time(0), tzinfo=timezone.utc)


def full_plan(window: WorldWindow, *, news_days: int | None = None) -> list[Backfill]:
    """Every DAG over the world's days (news over its last ``news_days`` days, default all)."""
    days = window.days
    news_days = days if news_days is None else max(1, min(news_days, days))
    first, last = window.start.isoformat(), window.last_day.isoformat()
    news_first = _day_start(window.last_day - timedelta(days=news_days - 1))
    news_last = _day_start(window.last_day) + timedelta(hours=23)
    link_first = news_first.date().isoformat()
    # A snapshot is only valid for "now": the one interval it can fill ends at the replay clock.
    snapshot_slot = (window.end_at - timedelta(minutes=5)).isoformat()
    # The coin list describes "now" too: its one servable day is the one ending at the replay clock.
    list_day = _day_start(window.last_day).isoformat()
    return [
        Backfill("assets_refresh", list_day, list_day, 1, 1, phase=0),
        Backfill("prices_history", first, last, days, 2, phase=1),
        Backfill("prices_snapshot", snapshot_slot, snapshot_slot, 1, 1, phase=1),
        Backfill("news_ingest", news_first.isoformat(), news_last.isoformat(), 24 * news_days, 4, phase=1),
        Backfill("news_market_link", link_first, last, news_days, 1, phase=1),
        Backfill("warehouse_maintenance", first, last, days, 1, phase=2),
    ]


def run_plan(env, plan: list[Backfill], *, progress: Callable[[str], None] | None = None,
             timeout_s: float = 1500, fail_fast: bool = True) -> dict[str, dict[str, str]]:
    """Create each phase's backfills through Airflow, wait for them; returns {dag_id: {run_id: state}}."""
    from newsmarkets.local.backfill import create_backfill, wait_for_runs

    say = progress or (lambda _m: None)
    states: dict[str, dict[str, str]] = {}
    for phase in sorted({b.phase for b in plan}):
        created = []
        for b in (b for b in plan if b.phase == phase):
            say(f"• backfilling {b.dag_id} {b.start} → {b.end} ({b.runs} runs)…")
            created.append((b, create_backfill(env.airflow, b.dag_id, b.start, b.end,
                                               max_active_runs=b.max_active_runs)))
        for b, backfill_id in created:
            states[b.dag_id] = wait_for_runs(env.airflow, b.dag_id, backfill_id=backfill_id,
                                             timeout_s=timeout_s, fail_fast=fail_fast,
                                             progress=lambda m: say("  " + m))
    return states
