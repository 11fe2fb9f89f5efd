"""What every fault test on the distributed topology does around its fault, and the checks after it.

A fault test reruns intervals the plan already ran (``reprocess="completed"``,
through the REST API), so the clean reference is the plan's own run: every
table as :func:`distributed_fixtures.run_topology` read it back (which the
module's last test compares with the embedded default's). After the fault,
the *whole* warehouse must read back equal to it — not only the rerun
intervals' rows — with no key twice and no partial or temporary object a
reader could see.

Timing is made deterministic by pinning a writer: the S3 endpoint stalls its
upload into a partition (before reading the body) until the fault is done.
Components that exit are started again only where docker-compose.yaml's
``restart: always`` would, and only inside :func:`compose_restart_policy`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

import pandas as pd
import pyarrow.parquet as pq

from distributed_fixtures import comparable, warehouse_of

from newsmarkets.local.backfill import create_backfill, wait_for_runs
from newsmarkets.warehouse.schemas import TABLES
from newsmarkets.warehouse.storage import TEMP_PREFIX, TEMP_SUFFIX

# How a fetch went, not what it found: a rerun asks for pages it has conditionally
# (304 where the first run got 200), and retries after a source's error count as
# attempts. Both are checked by the test that causes them, not compared.
FETCH_FACTS = {"fetch_log": ("status", "attempts")}
# A stalled upload's client gives up after 15 s (s3fs's read_timeout) and sends it
# again: every writer's next requests are stalled too, so it stays pinned for 2 min.
HOLD_S = 300
HOLDS_PER_WRITER = 8


def wait_until(predicate: Callable[[], object], timeout_s: float, what: str, poll_s: float = 0.5):
    """``predicate()``'s first truthy value; AssertionError naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")


def rerun(env, dag_id: str, start: str, end: str | None = None, *, max_active_runs: int = 1) -> int:
    """Backfill ``[start, end]`` of ``dag_id`` again (runs that exist are cleared and rerun); the backfill id."""
    return create_backfill(env.airflow, dag_id, start, end or start, max_active_runs=max_active_runs,
                           reprocess="completed", via="api")


def finish(env, dag_id: str, backfill_id: int) -> dict[str, str]:
    """Wait for the backfill's runs; every one must succeed."""
    states = wait_for_runs(env.airflow, dag_id, backfill_id=backfill_id, timeout_s=600, progress=None)
    assert states and set(states.values()) == {"success"}, states
    return states


def run_id_of(env, dag_id: str, logical_date: str) -> str:
    """The run id Airflow gave the run of ``logical_date`` (named after when it may run, the interval's end)."""
    at = pd.Timestamp(logical_date)
    at = at.tz_localize("UTC") if at.tzinfo is None else at.tz_convert("UTC")
    rows = env.airflow.query("SELECT run_id FROM dag_run WHERE dag_id = %s AND logical_date = %s",
                             (dag_id, at.to_pydatetime()))
    assert len(rows) == 1, f"expected one {dag_id} run for {logical_date}, found {rows}"
    return rows[0][0]


def tries(env, dag_id: str, run_id: str, task_id: str) -> list[tuple]:
    """(try_number, hostname, state) of every try of a task in a run, oldest first."""
    return env.airflow.query(
        "SELECT try_number, hostname, state FROM task_instance_history WHERE dag_id = %s AND run_id = %s "
        "AND task_id = %s UNION ALL SELECT try_number, hostname, state FROM task_instance "
        "WHERE dag_id = %s AND run_id = %s AND task_id = %s ORDER BY 1",
        (dag_id, run_id, task_id, dag_id, run_id, task_id))


@contextmanager
def uploads_pinned(env, table: str, dt: str, *, writers: int = 1) -> Iterator[Callable[[], None]]:
    """Stall the next ``writers`` uploads into ``table``'s partition ``dt`` until the block ends.

    Yields a function that waits until that many writers (objects) are stalled mid-upload.
    Requests whose client gave up are carried out when released: the same bytes again.
    """
    env.s3.hold_requests(method="PUT", path_contains=f"/{table}/dt={dt}/", count=writers * HOLDS_PER_WRITER,
                         seconds=HOLD_S)

    def pinned() -> None:
        wait_until(lambda: len(env.s3.fault_state()["held_paths"]) >= writers, 300,
                   f"{writers} writer(s) to upload into {table}/dt={dt}")
    try:
        yield pinned
    finally:
        env.s3.clear_faults()


def wait_for_scheduler_heartbeat(env, since: datetime, timeout_s: float = 180) -> int:
    """Wait until a running scheduler job heartbeats after ``since``; its id.

    The health endpoint trusts a dead scheduler's last heartbeat for 30 s, so
    it cannot tell that a restarted scheduler works on the database yet.
    """
    def latest() -> int | None:
        return env.airflow.query(
            "SELECT max(id) FROM job WHERE job_type = 'SchedulerJob' AND state = 'running' "
            "AND latest_heartbeat > %s", (since,))[0][0]
    return wait_until(latest, timeout_s, f"a scheduler heartbeat after {since:%H:%M:%S}")


@contextmanager
def compose_restart_policy(stack, *, settle_s: float = 20.0, poll_s: float = 1.0) -> Iterator[dict[str, list[int]]]:
    """Within the block, start again every Airflow component that exits, as Docker does.

    docker-compose.yaml gives every Airflow service ``restart: always``, so in
    production a component that exits is started again whatever its exit
    code. A component may exit well after the fault (the triggerer's loop
    notices a lost database seconds later), so the policy stays on after the
    block until no component has exited for ``settle_s``. Yields
    ``{component: [exit codes]}`` of the restarts; afterwards the stack must be
    healthy with every component running.
    """
    restarted: dict[str, list[int]] = {}
    block_done, failures = threading.Event(), []
    quiet_since = [time.monotonic()]

    def watch() -> None:
        while not (block_done.is_set() and time.monotonic() - quiet_since[0] >= settle_s):
            time.sleep(poll_s)
            try:
                for name, code in stack.exited_components().items():
                    restarted.setdefault(name, []).append(code)
                    stack.restart_component(name, wait=False)
                    quiet_since[0] = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - re-raised in the test's thread below
                failures.append(exc)
                return

    watcher = threading.Thread(target=watch, name="compose-restart-policy", daemon=True)
    watcher.start()
    try:
        yield restarted
    finally:
        quiet_since[0] = max(quiet_since[0], time.monotonic())
        block_done.set()
        watcher.join()
    if failures:
        raise failures[0]
    stack.wait_healthy(timeout_s=180)


def fresh_warehouse(env):
    """The warehouse as a new reader sees it now.

    fsspec caches an S3 filesystem per process with its listings (and ETags):
    objects rewritten since this process last listed them would be stale.
    """
    warehouse = warehouse_of(env)
    warehouse.storage.fs.invalidate_cache()
    return warehouse


def assert_warehouse_as_clean(env, reference: dict[str, pd.DataFrame]) -> None:
    """Every table equals the clean run's (less run-dependent columns), keys unique, every object whole."""
    warehouse = fresh_warehouse(env)
    _assert_only_whole_files(warehouse)
    for table, spec in TABLES.items():
        frame = warehouse.read(table)
        duplicated = frame[frame.duplicated(list(spec.key), keep=False)]
        assert duplicated.empty, f"{table}: {len(duplicated)} rows share a key after the fault:\n{duplicated}"
        ignored = FETCH_FACTS.get(table, ())
        ours = comparable(table, frame).drop(columns=list(ignored))
        clean = comparable(table, reference[table]).drop(columns=list(ignored))
        assert len(ours) == len(clean), f"{table}: {len(ours)} rows after the fault, {len(clean)} in a clean run"
        pd.testing.assert_frame_equal(ours, clean, check_exact=True, obj=table)


def _assert_only_whole_files(warehouse) -> None:
    """No temporary object anywhere; every Parquet object of every table opens as a whole file."""
    objects = list(warehouse.storage.find(warehouse.storage.path("")))
    names = [path.rsplit("/", 1)[-1] for path in objects]
    assert not [n for n in names if n.startswith(TEMP_PREFIX) or n.endswith(TEMP_SUFFIX)], names
    tables = tuple(warehouse.storage.path(table) + "/" for table in TABLES)
    parquet = [path for path in objects if path.startswith(tables) and path.endswith(".parquet")]
    assert parquet, f"no Parquet object under {warehouse.root}"
    for path in parquet:
        with warehouse.storage.fs.open(path, "rb") as handle:
            pq.read_metadata(handle)
