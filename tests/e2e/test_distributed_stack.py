"""The production topology without Docker: same components, same backfills, same tables; faults survived.

Debian's PostgreSQL (metadata) and Redis (broker), Airflow on the
CeleryExecutor with two named Celery workers as separate processes, the
warehouse on an S3 endpoint on 127.0.0.1 reached through ``s3://``. Every DAG
in ``dags/`` is backfilled over the replay world; the tables are read back
right away. Faults are then injected on the same running stack (starting it
costs two minutes), each rerunning a day of prices, a snapshot slot or a news
hour while it strikes; afterwards every table must equal the plan's clean run
(see ``faults_distributed.py``). Last, the embedded default runs the very
same plan and every table read back from ``s3://`` must equal its, row for
row (less the wall-clock stamps): the clean run is right.
"""

from __future__ import annotations

import pandas as pd
import pytest

from api_budget import assert_one_api_budget_holds
from distributed_fixtures import API_KEY, ENV_OPTIONS, comparable, dags_in_folder, run_topology
from faults_distributed import (
    FAULT_ENV,
    run_fault_metadata_db_restarted,
    run_fault_overlapping_backfills,
    run_fault_s3_failing,
    run_fault_scheduler_killed,
    run_fault_sources_failing,
    run_fault_worker_killed_mid_write,
)
from secrecy import files_holding, metadata_rows_holding

from newsmarkets.local.distributed import DEFAULT_WORKERS, WAREHOUSE_URL, DistributedEnvironment
from newsmarkets.local.environment import DAGS_FOLDER, EmbeddedEnvironment
from newsmarkets.warehouse.schemas import TABLES

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The running distributed environment, stopped at the end of the module (or by ``embedded``)."""
    options = {**ENV_OPTIONS, "extra_env": {**ENV_OPTIONS["extra_env"], **FAULT_ENV}}
    environment = DistributedEnvironment(tmp_path_factory.mktemp("distributed"), **options)
    yield environment
    environment.stop()


@pytest.fixture(scope="module")
def distributed(live):
    return run_topology(live, keep_running=True)


@pytest.fixture(scope="module")
def embedded(tmp_path_factory, live, distributed):
    # Never two stacks at once on two cores: the distributed one is done by now.
    live.stop()
    return run_topology(EmbeddedEnvironment(tmp_path_factory.mktemp("embedded"), **ENV_OPTIONS))


def test_every_dag_is_backfilled_to_success(distributed):
    planned = {b.dag_id: b for b in distributed.plan}
    assert dags_in_folder(DAGS_FOLDER) <= set(planned), "a DAG in dags/ is not in the plan"
    assert planned["prices_history"].runs >= 2, "prices must be backfilled over several days"
    for dag_id, states in distributed.states.items():
        assert len(states) == planned[dag_id].runs, (dag_id, states)
        assert set(states.values()) == {"success"}, (dag_id, states)


def test_the_components_are_the_production_ones(distributed):
    assert "Debian" in distributed.server_version, distributed.server_version
    assert distributed.warehouse_root == WAREHOUSE_URL
    assert set(distributed.worker_logs) == set(DEFAULT_WORKERS)


def test_tasks_ran_on_both_celery_workers(distributed):
    tis = distributed.task_instances
    assert set(tis["hostname"]) == set(DEFAULT_WORKERS), tis["hostname"].value_counts()
    per_worker = tis.groupby("hostname").size()
    assert (per_worker > 0).all(), per_worker
    # Each worker's own log lists the workloads it ran: Celery delivered them, not a local executor.
    for name, text in distributed.worker_logs.items():
        executed = text.count("Executing workload in Celery")
        assert executed >= per_worker[name], (name, executed, per_worker[name])


def test_secrets_reach_tasks_only_as_airflow_connections_and_stay_there(live, distributed):
    # No credential variable exists in any Airflow process: only the two connections.
    environ = live.airflow.environ
    credential_vars = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION",
                       "NEWSMARKETS_S3_ENDPOINT_URL", "COINGECKO_API_KEY")  # not e.g. the machine's AWS_CA_BUNDLE
    fallbacks = {k for k in environ if k in credential_vars}
    assert not fallbacks, fallbacks
    assert {"AIRFLOW_CONN_NEWSMARKETS_S3", "AIRFLOW_CONN_NEWSMARKETS_PRICES"} <= set(environ)
    # ...and they worked: every table landed on s3:// (above) and CoinGecko got the key.
    sent = [r for r in live.replay.request_log() if r["path"].startswith("/api/v3/coins/")]
    assert sent and {r["api_key_header"] for r in sent} == {"x-cg-demo-api-key"}, sent[:3]
    for secret in (API_KEY, live.s3.secret_key):
        assert metadata_rows_holding(live, secret) == {}
        assert files_holding(live.base_dir, secret) == []


def test_worker_killed_mid_partition_write_is_retried_elsewhere(live, distributed):
    run_fault_worker_killed_mid_write(live, live.window.start.isoformat(), distributed.tables)


def test_s3_endpoint_failing_for_a_while(live, distributed):
    run_fault_s3_failing(live, live.window.last_day.isoformat(), distributed.tables)


def test_scheduler_killed_during_a_backfill_and_restarted(live, distributed):
    run_fault_scheduler_killed(live, live.window.last_day.isoformat(), distributed.tables)


def test_metadata_db_restarted_mid_run(live, distributed):
    run_fault_metadata_db_restarted(live, live.window.start.isoformat(), distributed.tables)


def test_two_overlapping_backfills_at_once(live, distributed):
    run_fault_overlapping_backfills(live, distributed.tables)


def test_sources_failing_for_a_while(live, distributed):
    run_fault_sources_failing(live, live.window.start.isoformat(), distributed.tables)


def test_one_api_budget_holds_across_celery_workers(live, distributed):
    """Issue 24: the pool shares the provider's budget across both workers' tasks. After the fault tests, which
    compare the warehouse with the clean run: this loads lead-in days of history the clean run does not have."""
    pooled = assert_one_api_budget_holds(live)
    assert pooled.hosts == set(DEFAULT_WORKERS), f"the budget's fetch tasks ran on {pooled.hosts}, not on both workers"


def test_tables_on_s3_equal_the_embedded_defaults(distributed, embedded):
    assert embedded.warehouse_root.startswith("/")
    assert any(len(frame) for frame in distributed.tables.values())
    for table in TABLES:
        ours, theirs = comparable(table, distributed.tables[table]), comparable(table, embedded.tables[table])
        assert len(ours) == len(theirs), f"{table}: {len(ours)} rows on s3://, {len(theirs)} embedded"
        pd.testing.assert_frame_equal(ours, theirs, check_exact=True, obj=table)


def test_catalog_over_s3_reads_through_the_warehouse_filesystem(distributed):
    # The catalog's views point at s3:// globs; without DuckDB's httpfs (not installable
    # offline) they were queried through the warehouse's own fsspec filesystem.
    assert not distributed.catalog_path.startswith("s3://")
    for table, frame in distributed.tables.items():
        assert distributed.catalog_counts.get(table) == len(frame), (table, distributed.catalog_counts)
