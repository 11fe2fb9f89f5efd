"""Create Airflow backfills and wait for DAG runs on a running :class:`AirflowStack`.

Backfills are created with the real ``airflow backfill create`` CLI, the way an
operator would. Progress is read straight from the metadata DB (``dag_run``,
``task_instance``) because it needs no login and sees runs the moment the
scheduler writes them. A failed run raises with the failed task's own log, so
the cause shows up in the test output rather than only in ``home/logs``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path

from newsmarkets.local.airflow_stack import AirflowStack

REPROCESS_BEHAVIORS = ("none", "completed", "failed")
TERMINAL_RUN_STATES = frozenset({"success", "failed"})
LOG_EXCERPT_LINES = 40


class BackfillError(RuntimeError):
    """A backfill could not be created, or its runs did not finish in time."""


class DagRunFailed(BackfillError):
    """At least one DAG run ended in state ``failed``; the message carries the task log excerpt."""


def _as_cli_date(value: date | datetime | str, name: str) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise BackfillError(f"{name}={value!r} must be timezone-aware (UTC)")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()  # Airflow reads a bare date as midnight in its default timezone (UTC)
    if isinstance(value, str) and value:
        return value
    raise BackfillError(f"{name} must be a date, an aware datetime or an ISO string, got {value!r}")


def create_backfill(
    stack: AirflowStack,
    dag_id: str,
    from_date: date | datetime | str,
    to_date: date | datetime | str,
    *,
    max_active_runs: int | None = None,
    reprocess: str = "none",
    run_backwards: bool = False,
    conf: dict | None = None,
    unpause: bool = True,
    via: str = "cli",
) -> int:
    """Create a backfill over ``[from_date, to_date]`` (both inclusive); returns its id.

    ``reprocess`` decides what happens to logical dates that already have a
    run: ``none`` skips them, ``failed`` re-runs failed ones, ``completed``
    re-runs every finished one. ``max_active_runs=None`` keeps Airflow's default (10).

    The scheduler never starts runs of a paused DAG, backfill runs included, so
    by default the DAG is unpaused first. Note that unpausing also lets the
    DAG's own schedule create its latest due run.

    ``via="api"`` creates it with ``POST /api/v2/backfills`` (what the UI
    does) instead of the CLI: the same backfill, without the ~10 s an
    ``airflow`` process takes to start on a busy two-core machine.
    """
    if via not in ("cli", "api"):
        raise BackfillError(f"via must be 'cli' or 'api', got {via!r}")
    if reprocess not in REPROCESS_BEHAVIORS:
        raise BackfillError(f"reprocess must be one of {REPROCESS_BEHAVIORS}, got {reprocess!r}")
    if max_active_runs is not None and max_active_runs < 1:
        raise BackfillError(f"max_active_runs must be >= 1, got {max_active_runs}")
    (previous_id,) = stack.query("SELECT coalesce(max(id), 0) FROM backfill WHERE dag_id = %s", (dag_id,))[0]
    args = [
        "backfill", "create",
        "--dag-id", dag_id,
        "--from-date", _as_cli_date(from_date, "from_date"),
        "--to-date", _as_cli_date(to_date, "to_date"),
        "--reprocess-behavior", reprocess,
    ]
    if max_active_runs is not None:
        args += ["--max-active-runs", str(max_active_runs)]
    if run_backwards:
        args.append("--run-backwards")
    if conf is not None:
        args += ["--dag-run-conf", json.dumps(conf)]
    _wait_until_previous_backfill_closed(stack, dag_id)
    if unpause:
        stack.unpause(dag_id)
    if via == "api":
        return _create_via_api(stack, dag_id, from_date, to_date, reprocess=reprocess,
                               max_active_runs=max_active_runs, run_backwards=run_backwards, conf=conf)
    done = stack.cli(*args, check=False)
    output = (done.stdout + "\n" + done.stderr).strip()
    created = stack.query(
        "SELECT id FROM backfill WHERE dag_id = %s AND id > %s ORDER BY id DESC LIMIT 1", (dag_id, previous_id)
    )
    if done.returncode != 0 or not created:
        if "AlreadyRunningBackfill" in output:
            active = stack.query(
                "SELECT id FROM backfill WHERE dag_id = %s AND completed_at IS NULL ORDER BY id", (dag_id,)
            )
            raise BackfillError(
                f"{dag_id} already has an unfinished backfill (id {[row[0] for row in active]}); "
                "wait for it or cancel_backfill() it first"
            )
        if "No runs to create" in output:
            raise BackfillError(
                f"backfill of {dag_id} from {from_date} to {to_date} has no runs to create "
                f"(every date already has a run and reprocess={reprocess!r})"
            )
        tail = "\n".join(output.splitlines()[-25:])
        raise BackfillError(f"`airflow backfill create` for {dag_id} failed (exit {done.returncode}):\n{tail}")
    return created[0][0]


def _as_api_datetime(value: date | datetime | str, name: str) -> str:
    text = _as_cli_date(value, name)
    return f"{text}T00:00:00+00:00" if len(text) == 10 else text  # a bare date: midnight UTC, as the CLI reads it


def _create_via_api(stack: AirflowStack, dag_id: str, from_date, to_date, *, reprocess: str,
                    max_active_runs: int | None, run_backwards: bool, conf: dict | None) -> int:
    body = {
        "dag_id": dag_id,
        "from_date": _as_api_datetime(from_date, "from_date"),
        "to_date": _as_api_datetime(to_date, "to_date"),
        "reprocess_behavior": reprocess,
        "run_backwards": run_backwards,
    }
    if max_active_runs is not None:
        body["max_active_runs"] = max_active_runs
    if conf is not None:
        body["dag_run_conf"] = conf
    try:
        return stack.api("POST", "/backfills", json_body=body)["id"]
    except Exception as exc:  # AirflowStackError carries the HTTP status and Airflow's detail
        if "No runs to create" in str(exc) or "no runs" in str(exc).lower():
            raise BackfillError(
                f"backfill of {dag_id} from {from_date} to {to_date} has no runs to create "
                f"(every date already has a run and reprocess={reprocess!r})"
            ) from exc
        raise BackfillError(f"creating a backfill of {dag_id} through the REST API failed: {exc}") from exc


def _wait_until_previous_backfill_closed(stack: AirflowStack, dag_id: str, timeout_s: float = 90.0) -> None:
    """Airflow allows one open backfill per DAG and closes a finished one only every 30 s.

    So right after a backfill's runs finished, wait for the scheduler to close
    it instead of failing with ``AlreadyRunningBackfill``; a backfill that still
    has unfinished runs is an error.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        open_backfills = stack.query(
            "SELECT b.id, count(dr.id) FILTER (WHERE dr.state NOT IN ('success', 'failed')) "
            "FROM backfill b LEFT JOIN dag_run dr ON dr.backfill_id = b.id "
            "WHERE b.dag_id = %s AND b.completed_at IS NULL GROUP BY b.id",
            (dag_id,),
        )
        if not open_backfills:
            return
        busy = [backfill_id for backfill_id, unfinished in open_backfills if unfinished]
        if busy:
            raise BackfillError(
                f"{dag_id} already has an unfinished backfill (id {busy}); wait for it or cancel_backfill() it first"
            )
        if time.monotonic() > deadline:
            raise BackfillError(
                f"backfill {[row[0] for row in open_backfills]} of {dag_id} finished but the scheduler "
                f"has not closed it after {timeout_s:.0f}s; is the scheduler running?"
            )
        time.sleep(1)


def cancel_backfill(stack: AirflowStack, backfill_id: int) -> None:
    """Stop a backfill from starting more runs (runs already running finish)."""
    stack.api("PUT", f"/backfills/{backfill_id}/cancel")


def backfill_run_count(stack: AirflowStack, backfill_id: int) -> int:
    """How many DAG runs a backfill created or re-queued (dates it skipped are not counted)."""
    (count,) = stack.query(
        "SELECT count(*) FROM backfill_dag_run WHERE backfill_id = %s AND dag_run_id IS NOT NULL", (backfill_id,)
    )[0]
    return count


def run_states(
    stack: AirflowStack,
    dag_id: str,
    *,
    run_type: str | None = None,
    backfill_id: int | None = None,
    run_ids: Iterable[str] | None = None,
) -> dict[str, str]:
    """``{run_id: state}`` for the DAG's runs, optionally narrowed by run type, backfill or run ids."""
    sql = "SELECT run_id, state FROM dag_run WHERE dag_id = %s"
    params: list = [dag_id]
    if run_type is not None:
        sql += " AND run_type = %s"
        params.append(run_type)
    if backfill_id is not None:
        sql += " AND backfill_id = %s"
        params.append(backfill_id)
    if run_ids is not None:
        sql += " AND run_id = ANY(%s)"
        params.append(list(run_ids))
    return {run_id: state for run_id, state in stack.query(sql + " ORDER BY logical_date, run_id", params)}


def task_states(stack: AirflowStack, dag_id: str, run_id: str) -> dict[str, str | None]:
    """``{task_id: state}`` of one run; mapped task instances appear as ``task_id[map_index]``."""
    rows = stack.query(
        "SELECT task_id, map_index, state FROM task_instance "
        "WHERE dag_id = %s AND run_id = %s ORDER BY task_id, map_index",
        (dag_id, run_id),
    )
    return {(task_id if map_index < 0 else f"{task_id}[{map_index}]"): state for task_id, map_index, state in rows}


def _summary(dag_id: str, states: dict[str, str], expected: int | None) -> str:
    total = max(len(states), expected or 0)
    counts: dict[str, int] = {}
    for state in states.values():
        counts[state or "none"] = counts.get(state or "none", 0) + 1
    finished = counts.get("success", 0) + counts.get("failed", 0)
    text = f"{dag_id}: {finished}/{total} runs done, {counts.get('running', 0)} running"
    if counts.get("queued"):
        text += f", {counts['queued']} queued"
    if counts.get("failed"):
        text += f", {counts['failed']} failed"
    return text


def wait_for_runs(
    stack: AirflowStack,
    dag_id: str,
    *,
    run_type: str | None = None,
    backfill_id: int | None = None,
    run_ids: Iterable[str] | None = None,
    expected: int | None = None,
    timeout_s: float = 900.0,
    poll_s: float = 2.0,
    progress: Callable[[str], None] | None = print,
    fail_fast: bool = True,
) -> dict[str, str]:
    """Wait until the selected runs all finished; returns ``{run_id: state}``.

    ``expected`` is the number of runs to wait for (by default: the backfill's
    run count, or ``len(run_ids)``, or whatever exists). Raises
    :class:`DagRunFailed` with the failed task's log excerpt when a run fails
    (at once with ``fail_fast``, else once all runs finished) and
    :class:`BackfillError` on timeout.
    """
    run_ids = list(run_ids) if run_ids is not None else None
    if expected is None and backfill_id is not None:
        expected = backfill_run_count(stack, backfill_id)
    if expected is None and run_ids is not None:
        expected = len(run_ids)
    if expected == 0:
        # Airflow created no runs (e.g. every date already had one and
        # reprocess="none"): nothing will ever finish, so do not wait.
        if progress is not None:
            progress(f"{dag_id}: the backfill created no runs (dates already run; use reprocess='completed' to rerun)")
        return {}
    deadline = time.monotonic() + timeout_s
    last_report = ""
    states: dict[str, str] = {}
    while True:
        states = run_states(stack, dag_id, run_type=run_type, backfill_id=backfill_id, run_ids=run_ids)
        report = _summary(dag_id, states, expected)
        if progress is not None and report != last_report:
            progress(report)
            last_report = report
        failed = [run_id for run_id, state in states.items() if state == "failed"]
        all_finished = bool(states) and all(state in TERMINAL_RUN_STATES for state in states.values())
        enough = expected is None or len(states) >= expected
        if failed and (fail_fast or (all_finished and enough)):
            raise DagRunFailed(f"{report}\n" + "\n".join(failure_report(stack, dag_id, run_id) for run_id in failed))
        if all_finished and enough:
            return states
        if time.monotonic() > deadline:
            pending = {run_id: state for run_id, state in states.items() if state not in TERMINAL_RUN_STATES}
            raise BackfillError(f"timed out after {timeout_s:.0f}s: {report}; unfinished: {pending}")
        time.sleep(poll_s)


def failure_report(stack: AirflowStack, dag_id: str, run_id: str) -> str:
    """Which tasks of a run failed, each with an excerpt of its last attempt's log."""
    rows = stack.query(
        "SELECT task_id, map_index, try_number FROM task_instance "
        "WHERE dag_id = %s AND run_id = %s AND state = 'failed' ORDER BY task_id, map_index",
        (dag_id, run_id),
    )
    if not rows:
        return f"run {run_id}: failed without a failed task (states: {task_states(stack, dag_id, run_id)})"
    parts = []
    for task_id, map_index, try_number in rows:
        log = task_log_path(stack, dag_id, run_id, task_id, map_index=map_index, try_number=try_number)
        excerpt = log_excerpt(log) if log else "(no task log found)"
        parts.append(f"run {run_id}: task {task_id} failed (try {try_number}); log {log}:\n{excerpt}")
    return "\n".join(parts)


def task_log_path(
    stack: AirflowStack, dag_id: str, run_id: str, task_id: str, *, map_index: int = -1, try_number: int | None = None
) -> Path | None:
    """The task's log file under ``home/logs`` (Airflow 3's default layout); last attempt unless given."""
    task_dir = stack.logs_dir / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
    if map_index >= 0:
        task_dir = task_dir / f"map_index={map_index}"
    if try_number:
        candidate = task_dir / f"attempt={try_number}.log"
        if candidate.exists():
            return candidate
    # Iterate instead of globbing: run ids contain glob-special characters ("+", ":" and "[").
    attempts = [p for p in task_dir.iterdir() if p.name.startswith("attempt=")] if task_dir.is_dir() else []
    return max(attempts, key=lambda p: int(p.stem.split("=")[1]), default=None)


def _render_log_line(line: str) -> str:
    """Airflow 3 task logs are JSON lines; turn one into ``LEVEL event`` plus any traceback."""
    try:
        record = json.loads(line)
    except ValueError:
        return line.rstrip()
    if not isinstance(record, dict):
        return line.rstrip()
    text = f"{str(record.get('level', '')).upper():7} {record.get('event', '')}"
    for error in record.get("error_detail") or []:
        frames = error.get("frames") or []
        for frame in frames[-5:]:
            text += f"\n    {frame.get('filename')}:{frame.get('lineno')} in {frame.get('name')}"
        text += f"\n    {error.get('exc_type')}: {error.get('exc_value')}"
    return text


def log_excerpt(path: Path, lines: int = LOG_EXCERPT_LINES) -> str:
    """The error records of a task log, or its last ``lines`` lines when there are none."""
    try:
        raw = path.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    rendered = [_render_log_line(line) for line in raw if line.strip()]
    errors = [text for text in rendered if text.startswith(("ERROR", "CRITICAL"))]
    return "\n".join((errors or rendered)[-lines:])
