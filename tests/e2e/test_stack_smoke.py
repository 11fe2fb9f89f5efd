"""The embedded stack end to end: PostgreSQL + a real Airflow 3 running a backfill.

Everything (data dir, AIRFLOW_HOME, DAGs, task output) lives in ``tmp_path``, so
after ``stop()`` no process may remain whose command line or working directory
points into it.
"""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from newsmarkets.local.airflow_stack import AirflowStack, AirflowStackError
from newsmarkets.local.backfill import (
    DagRunFailed,
    create_backfill,
    task_states,
    wait_for_runs,
)
from newsmarkets.local.postgres import EmbeddedPostgres, PostgresError

SMOKE_DAG = '''
import os
from pathlib import Path

import pendulum
from airflow.sdk import dag, task


# end_date in the past: unpausing must not add scheduled runs next to the backfill.
@dag(
    dag_id="stack_smoke",
    schedule="@daily",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    end_date=pendulum.datetime(2024, 1, 31, tz="UTC"),
    catchup=False,
)
def stack_smoke():
    @task
    def day_key(ds=None):
        return ds

    @task
    def write_marker(day):
        out = Path(os.environ["SMOKE_OUT"])
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{day}.txt").write_text(day)

    write_marker(day_key())


@dag(dag_id="stack_smoke_failing", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"))
def stack_smoke_failing():
    @task
    def explode():
        raise ValueError("marker file for 2024-01-10 is missing")

    explode()


stack_smoke()
stack_smoke_failing()
'''

BROKEN_DAG = "from airflow.sdk import dag\nimport module_that_does_not_exist\n"


def _shared_pycache(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Bytecode cache kept across test runs: a cold one doubles every Airflow import."""
    cache = getattr(request.config, "cache", None)  # absent with -p no:cacheprovider
    return cache.mkdir("airflow-pycache") if cache is not None else tmp_path / "pycache"


def _processes_under(root: Path) -> list[psutil.Process]:
    """Live processes whose command line or working directory points into ``root``."""
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd", "status"]):
        if proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        cmdline = " ".join(proc.info["cmdline"] or [])
        cwd = proc.info["cwd"] or ""
        if str(root) in cmdline or cwd.startswith(str(root)):
            found.append(proc)
    return found


def _still_alive(snapshot: list[psutil.Process]) -> list[psutil.Process]:
    # is_running() compares create times, so a reused PID does not count.
    return [p for p in snapshot if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_postgres_start_adopt_stop_leaves_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "pg"
    with EmbeddedPostgres(data_dir) as pg:
        uri = pg.uri
        assert uri.startswith("postgresql+psycopg2://postgres@127.0.0.1:") and uri.endswith("/airflow")
        # A second handle adopts the running server instead of starting another one.
        assert EmbeddedPostgres(data_dir).start() == uri
        server = _processes_under(tmp_path)
        assert server, "no postgres process found for the data dir"
    assert not pg.is_running()
    assert _still_alive(server) == []
    # A stopped cluster restarts from the same data dir, database intact.
    with EmbeddedPostgres(data_dir) as again:
        import psycopg2

        with psycopg2.connect(again.dsn) as conn, conn.cursor() as cur:
            cur.execute("SELECT current_database()")
            assert cur.fetchone() == ("airflow",)
    assert _processes_under(tmp_path) == []


def test_postgres_refuses_a_foreign_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "not-a-cluster"
    data_dir.mkdir()
    (data_dir / "notes.txt").write_text("mine")
    with pytest.raises(PostgresError, match="no PG_VERSION"):
        EmbeddedPostgres(data_dir).start()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_backfill_runs_through_real_airflow(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "stack_smoke.py").write_text(textwrap.dedent(SMOKE_DAG))
    out = tmp_path / "out"
    timings: dict[str, float] = {}
    seen: list[psutil.Process] = []

    pg = EmbeddedPostgres(tmp_path / "pgdata")
    stack = None
    try:
        started = time.monotonic()
        db_uri = pg.start()
        stack = AirflowStack(
            tmp_path / "airflow",
            dags,
            db_uri,
            env={"SMOKE_OUT": str(out)},
            port=None,
            pycache_dir=_shared_pycache(request, tmp_path),
        )
        stack.migrate()
        timings["postgres_and_migrate_s"] = time.monotonic() - started
        started = time.monotonic()
        stack.start(migrate=False)
        timings["start_to_healthy_and_parsed_s"] = time.monotonic() - started
        seen = _processes_under(tmp_path)

        started = time.monotonic()
        backfill_id = create_backfill(stack, "stack_smoke", "2024-01-10", "2024-01-12", max_active_runs=3)
        states = wait_for_runs(stack, "stack_smoke", backfill_id=backfill_id, timeout_s=300)
        timings["backfill_3_days_s"] = time.monotonic() - started

        assert len(states) == 3 and set(states.values()) == {"success"}, states
        assert sorted(p.name for p in out.iterdir()) == ["2024-01-10.txt", "2024-01-11.txt", "2024-01-12.txt"]
        for run_id in states:
            assert task_states(stack, "stack_smoke", run_id) == {"day_key": "success", "write_marker": "success"}
        # Only the backfill ran: the DAG's own schedule added nothing.
        assert set(stack.query("SELECT DISTINCT run_type FROM dag_run WHERE dag_id = 'stack_smoke'")) == {("backfill",)}

        # Re-running finished dates needs reprocess="completed" and a new backfill.
        started = time.monotonic()
        rerun_id = create_backfill(stack, "stack_smoke", "2024-01-11", "2024-01-12", reprocess="completed")
        rerun = wait_for_runs(stack, "stack_smoke", backfill_id=rerun_id, timeout_s=300)
        timings["rerun_2_days_s"] = time.monotonic() - started
        assert rerun_id != backfill_id
        assert sorted(rerun) == sorted(states)[1:] and set(rerun.values()) == {"success"}

        # A failing task surfaces with its own exception, read from the task log.
        stack.unpause("stack_smoke_failing")
        run_id = stack.trigger("stack_smoke_failing")
        with pytest.raises(DagRunFailed, match="marker file for 2024-01-10 is missing"):
            wait_for_runs(stack, "stack_smoke_failing", run_ids=[run_id], timeout_s=180, progress=None)

        # A DAG file that does not import is reported with its stack trace.
        (dags / "broken.py").write_text(BROKEN_DAG)
        with pytest.raises(AirflowStackError, match="module_that_does_not_exist"):
            stack.wait_for_dags(timeout_s=120)

        seen += _processes_under(tmp_path)
    finally:
        started = time.monotonic()
        if stack is not None:
            stack.stop()
        timings["airflow_stop_s"] = time.monotonic() - started
        started = time.monotonic()
        pg.stop()
        timings["postgres_stop_s"] = time.monotonic() - started

    for name, seconds in timings.items():
        request.node.user_properties.append((name, round(seconds, 1)))
    print("\nstack timings: " + ", ".join(f"{k}={v:.1f}" for k, v in timings.items()))

    assert len(seen) >= 5, f"expected postgres + 4 Airflow components, saw {[p.pid for p in seen]}"
    assert _still_alive(seen) == []
    assert _processes_under(tmp_path) == []
    assert os.listdir(tmp_path / "airflow" / "logs")  # component logs were written under the home
