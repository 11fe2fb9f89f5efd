"""Running the same backfill plan on the distributed topology and on the embedded default.

Each run starts its environment, backfills every DAG in ``dags/`` with the
demo's plan (:func:`newsmarkets.local.plan.full_plan`: prices over the
world's days, news over its last day, linking and maintenance after them)
shortened to fit a test: news is ingested for the day's first
``NEWS_HOURS`` hours only, and the day's other hourly runs are marked
successful through the REST API (as an operator skipping hours would), which
is what the linking DAG's sensors wait for. A whole day of news is 240 task
instances, ten minutes on two cores for each topology.

It then reads back every warehouse table and what the tests need from the
metadata DB and worker logs, and stops the environment (unless asked to keep
it), so the two topologies never compete for the machine's two cores.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from newsmarkets.local.backfill import create_backfill, wait_for_runs
from newsmarkets.local.plan import Backfill, full_plan
from newsmarkets.local.postgres import free_port
from newsmarkets.warehouse.catalog import describe_catalog
from newsmarkets.warehouse.schemas import TABLES
from newsmarkets.warehouse.storage import storage_options_from_env
from newsmarkets.warehouse.writer import Warehouse
from secrecy import prices_connection_env

# Two days of prices (and maintenance); news and linking over the last day.
WORLD_DAYS = 2
NEWS_HOURS = 3
# One replay port for both topologies: article ids hash URLs, which carry it.
# The provider key only as an Airflow connection (the S3 keys travel as one too, see DistributedEnvironment).
API_KEY = f"nm-dist-key-{secrets.token_hex(12)}"
ENV_OPTIONS = {"days": WORLD_DAYS, "replay_port": free_port(),
               "extra_env": {"NEWSMARKETS_TASK_RETRIES": "1", "NEWSMARKETS_RETRY_DELAY_S": "2",
                             **prices_connection_env(API_KEY)}}
# Set by the run itself, not by the data: wall-clock stamps (and a partition derived from one).
RUN_DEPENDENT = frozenset({"ingested_at", "fetched_at", "validated_at", "computed_at", "table_version"})


@dataclass
class TopologyRun:
    plan: list[Backfill]
    states: dict[str, dict[str, str]]
    tables: dict[str, pd.DataFrame]
    task_instances: pd.DataFrame
    worker_logs: dict[str, str] = field(default_factory=dict)
    server_version: str = ""
    catalog_path: str = ""
    warehouse_root: str = ""
    catalog_counts: dict[str, int | None] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def warehouse_of(env) -> Warehouse:
    """The environment's warehouse as a reader in this process sees it (S3 keys from the env, not ours)."""
    root = env.config().warehouse
    s3_env = getattr(env, "s3_env", {}) if "://" in root else {}
    return Warehouse(root, storage_options_from_env(root, s3_env))


def short_plan(env) -> tuple[list[Backfill], list[datetime]]:
    """The demo's plan with news over ``NEWS_HOURS`` hours; returns it and the hours to mark done."""
    plan = full_plan(env.window, news_days=1)
    news = next(b for b in plan if b.dag_id == "news_ingest")
    first = datetime.fromisoformat(news.start)
    hours = [first + timedelta(hours=h) for h in range(news.runs)]
    short = dataclasses.replace(news, end=hours[NEWS_HOURS - 1].isoformat(), runs=NEWS_HOURS)
    return [short if b is news else b for b in plan], hours[NEWS_HOURS:]


def mark_runs_successful(stack, dag_id: str, logical_dates: list[datetime]) -> None:
    """Create runs of a (paused) DAG and mark them successful, without running their tasks."""
    for logical_date in logical_dates:
        run_id = stack.trigger(dag_id, logical_date)
        stack.api("PATCH", f"/dags/{dag_id}/dagRuns/{run_id}", json_body={"state": "success"})


def run_plan(env, plan: list[Backfill], timeout_s: float = 900) -> dict[str, dict[str, str]]:
    """:func:`newsmarkets.local.plan.run_plan`, creating backfills through the REST API (no CLI start-up)."""
    states: dict[str, dict[str, str]] = {}
    for phase in sorted({b.phase for b in plan}):
        created = [(b, create_backfill(env.airflow, b.dag_id, b.start, b.end, max_active_runs=b.max_active_runs,
                                       via="api")) for b in plan if b.phase == phase]
        for b, backfill_id in created:
            states[b.dag_id] = wait_for_runs(env.airflow, b.dag_id, backfill_id=backfill_id, timeout_s=timeout_s,
                                             progress=None)
    return states


def run_topology(env, *, keep_running: bool = False) -> TopologyRun:
    """Start ``env``, run the short plan, collect the results; stop unless ``keep_running``."""
    began = time.monotonic()
    env.start(progress=lambda message: None)
    try:
        started = time.monotonic()
        plan, skipped_hours = short_plan(env)
        mark_runs_successful(env.airflow, "news_ingest", skipped_hours)
        states = run_plan(env, plan)
        ran = time.monotonic()
        warehouse = warehouse_of(env)
        tables = {name: warehouse.read(name) for name in TABLES}
        rows = env.airflow.query(
            "SELECT dag_id, run_id, task_id, map_index, try_number, state, hostname, "
            "scheduled_dttm, queued_dttm, start_date, end_date, duration FROM task_instance "
            "WHERE run_id LIKE %s", ("backfill%",))  # not the news hours marked done without running
        task_instances = pd.DataFrame(rows, columns=[
            "dag_id", "run_id", "task_id", "map_index", "try_number", "state", "hostname",
            "scheduled_dttm", "queued_dttm", "start_date", "end_date", "duration"])
        worker_logs = {
            name: (env.airflow.logs_dir / f"celery-{name}.log").read_text(errors="replace")
            for name in getattr(env, "workers", ())
        }
        (server_version,) = env.airflow.query("SELECT version()")[0]
        # Object-store views are queried through the warehouse's fsspec filesystem (no httpfs offline).
        catalog_counts = dict(describe_catalog(env.config().catalog_path, warehouse))
        result = TopologyRun(
            plan=plan, states=states, tables=tables, task_instances=task_instances, worker_logs=worker_logs,
            server_version=server_version, catalog_path=env.config().catalog_path,
            warehouse_root=env.config().warehouse, catalog_counts=catalog_counts,
            seconds={"start": started - began, "backfills": ran - started},
        )
    except BaseException:
        env.stop()
        raise
    if not keep_running:
        env.stop()
    return result


def comparable(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without run-dependent columns, sorted by the table's key, lists as tuples."""
    spec = TABLES[table]
    drop = set(RUN_DEPENDENT)
    if spec.dt_from in RUN_DEPENDENT:
        drop.add(spec.partition_by)
    out = frame.drop(columns=[c for c in frame.columns if c in drop]).copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(lambda v: tuple(v) if hasattr(v, "__len__") and not isinstance(v, str) else v)
    key = [c for c in spec.key if c in out.columns]
    return out.sort_values(key, kind="stable").reset_index(drop=True)


def dags_in_folder(dags_folder: Path) -> set[str]:
    """dag_ids declared in ``dags/`` (``dag_id="…"`` in each file), to check the plan covers them all."""
    import re

    ids = set()
    for path in dags_folder.glob("*.py"):
        ids |= set(re.findall(r"""dag_id\s*=\s*["']([A-Za-z0-9_.-]+)["']""", path.read_text()))
    return ids
