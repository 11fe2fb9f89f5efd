"""The distributed topology: a multi-day backfill with one vs. two Celery workers, and per-task overhead.

For each worker count a fresh :class:`DistributedEnvironment` (Debian
PostgreSQL, Redis, moto's S3 endpoint, Airflow on the CeleryExecutor) runs
the same backfills: ``prices_history`` over ``days`` days and ``news_ingest``
over ``hours`` hours, created together. Wall time is from creating the
backfills to the last run's success (the stack's start is reported apart).

Per task instance (last try), from the metadata DB and the task's own log:

* ``wait_s``: ``scheduled_dttm`` → ``start_date``: the scheduler queueing it,
  Celery delivering it, the worker forking the task process;
* ``run_s``: ``start_date`` → ``end_date`` (Airflow's ``duration``);
* ``work_s``: the task callable itself, from the end of the log's
  "Pre Execute" group to its "Done. Returned value was" record;
* ``overhead_s`` = ``wait_s + run_s - work_s``: Airflow's own time (queueing,
  process start, DAG file parse, API calls, XCom push, state updates).

Run: ``python bench/bench_distributed.py`` (about 8 minutes; writes
bench/results/distributed.json). Takes the shared heavy lock itself.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import platform
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULT_PATH = HERE / "results" / "distributed.json"
LOCK_PATH = "/tmp/newsmarkets-heavy.lock"
MAX_ACTIVE_RUNS = 8  # per backfill: enough that worker slots, not run limits, set the pace


@contextmanager
def heavy_lock():
    with open(LOCK_PATH, "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _log_times(path: Path | None) -> tuple[datetime | None, datetime | None]:
    """(callable started, callable returned) from an Airflow 3 JSON task log."""
    if path is None or not path.exists():
        return None, None
    began = done = None
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        event = str(record.get("event", ""))
        stamp = record.get("timestamp")
        if not stamp:
            continue
        if event == "::endgroup::" and began is None:
            began = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        elif event.startswith("Done. Returned value was"):
            done = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return began, done


def task_timings(stack) -> list[dict]:
    from newsmarkets.local.backfill import task_log_path

    rows = stack.query(
        "SELECT dag_id, run_id, task_id, map_index, try_number, hostname, scheduled_dttm, queued_dttm, "
        "start_date, end_date FROM task_instance WHERE state = 'success' ORDER BY start_date")
    out = []
    for dag_id, run_id, task_id, map_index, try_number, hostname, scheduled, queued, start, end in rows:
        log = task_log_path(stack, dag_id, run_id, task_id, map_index=map_index, try_number=try_number)
        began, done = _log_times(log)
        work = (done - began).total_seconds() if began and done else None
        wait = (start - (scheduled or queued)).total_seconds()
        run_s = (end - start).total_seconds()
        out.append({
            "dag_id": dag_id, "task_id": task_id, "hostname": hostname,
            "wait_s": round(wait, 3), "queued_to_start_s": round((start - queued).total_seconds(), 3),
            "run_s": round(run_s, 3), "work_s": None if work is None else round(work, 3),
            "overhead_s": None if work is None else round(wait + run_s - work, 3),
        })
    return out


def _median(values) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 2) if values else None


def one_configuration(workers: int, days: int, hours: int, concurrency: int) -> dict:
    from newsmarkets.local.distributed import DistributedEnvironment
    from newsmarkets.local.plan import Backfill, run_plan

    names = tuple(f"worker-{i}" for i in range(1, workers + 1))
    with tempfile.TemporaryDirectory(prefix=f"bench-distributed-{workers}w-") as base:
        env = DistributedEnvironment(base, days=days + 1, workers=names, worker_concurrency=concurrency,
                                     extra_env={"NEWSMARKETS_TASK_RETRIES": "1", "NEWSMARKETS_RETRY_DELAY_S": "2"})
        t0 = time.monotonic()
        env.start(progress=lambda m: print(f"  {m}", flush=True))
        try:
            started = time.monotonic() - t0
            world = datetime(env.window.start.year, env.window.start.month, env.window.start.day, tzinfo=timezone.utc)
            midnight = world + timedelta(days=1)
            first_hour = midnight - timedelta(hours=hours // 2)
            plan = [  # one phase: both backfills at once, as many runs active as the workers can take
                Backfill("prices_history", world.isoformat(), (world + timedelta(days=days - 1)).isoformat(),
                         days, MAX_ACTIVE_RUNS, phase=1),
                Backfill("news_ingest", first_hour.isoformat(), (first_hour + timedelta(hours=hours - 1)).isoformat(),
                         hours, MAX_ACTIVE_RUNS, phase=1),
            ]
            t1 = time.monotonic()
            states = run_plan(env, plan, timeout_s=1800)
            wall = time.monotonic() - t1
            timings = task_timings(env.airflow)
        finally:
            env.stop()
    runs = sum(len(s) for s in states.values())
    assert all(state == "success" for s in states.values() for state in s.values()), states
    per_task: dict[str, dict] = {}
    for key in sorted({(t["dag_id"], t["task_id"]) for t in timings}):
        rows = [t for t in timings if (t["dag_id"], t["task_id"]) == key]
        per_task[f"{key[0]}.{key[1]}"] = {
            "count": len(rows), **{f"median_{m}": _median(r[m] for r in rows)
                                   for m in ("wait_s", "queued_to_start_s", "run_s", "work_s", "overhead_s")},
        }
    work = sum(t["work_s"] or 0 for t in timings)
    return {
        "workers": workers, "worker_concurrency": concurrency, "startup_s": round(started, 1),
        "backfill_wall_s": round(wall, 1), "dag_runs": runs, "task_instances": len(timings),
        "tasks_per_worker": {n: sum(1 for t in timings if t["hostname"] == n) for n in names},
        "median_wait_s": _median(t["wait_s"] for t in timings),
        "median_run_s": _median(t["run_s"] for t in timings),
        "median_work_s": _median(t["work_s"] for t in timings),
        "median_overhead_s": _median(t["overhead_s"] for t in timings),
        "sum_work_s": round(work, 1),
        "work_share_pct": round(100 * work / sum(t["wait_s"] + t["run_s"] for t in timings), 1) if timings else None,
        "per_task": per_task,
    }


def run(days: int = 3, hours: int = 4, concurrency: int = 2, worker_counts=(1, 2)) -> dict:
    configurations = []
    for workers in worker_counts:
        print(f"• {workers} Celery worker(s): prices_history × {days} days + news_ingest × {hours} hours", flush=True)
        configurations.append(one_configuration(workers, days, hours, concurrency))
    return {
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores, Python {platform.python_version()}",
        "measured_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "backfill": {"prices_history_days": days, "news_ingest_hours": hours},
        "configurations": configurations,
    }


def markdown(result: dict) -> str:
    b = result["backfill"]
    lines = [
        f"`prices_history` over {b['prices_history_days']} days and `news_ingest` over {b['news_ingest_hours']} "
        "hours, backfilled together on the distributed topology (Debian PostgreSQL, Redis, Airflow's "
        "CeleryExecutor, warehouse on an S3 endpoint on 127.0.0.1).",
        "",
        "| Celery workers (× concurrency) | backfill wall time | DAG runs | task instances | tasks per worker "
        "| median wait | median run | median work | median Airflow overhead | work share |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for c in result["configurations"]:
        per_worker = ", ".join(f"{n}: {k}" for n, k in c["tasks_per_worker"].items())
        lines.append(
            f"| {c['workers']} × {c['worker_concurrency']} | {c['backfill_wall_s']} s | {c['dag_runs']} | "
            f"{c['task_instances']} | {per_worker} | {c['median_wait_s']} s | {c['median_run_s']} s | "
            f"{c['median_work_s']} s | {c['median_overhead_s']} s | {c['work_share_pct']} % |"
        )
    last = max(result["configurations"], key=lambda c: c["workers"])
    lines += ["", f"Per task ({last['workers']} workers), medians in seconds:", "",
              "| task | count | wait (scheduled → start) | run (start → end) | work (callable) | Airflow overhead |",
              "|---|---:|---:|---:|---:|---:|"]
    for name, t in last["per_task"].items():
        lines.append(f"| `{name}` | {t['count']} | {t['median_wait_s']} | {t['median_run_s']} | "
                     f"{t['median_work_s']} | {t['median_overhead_s']} |")
    lines += ["", "wait = scheduled_dttm → start_date (scheduler, broker, worker fork); run = Airflow's duration; "
              "work = the task callable, from its log; overhead = wait + run − work."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--hours", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--worker-counts", default="1,2",
                        help="configurations in order, e.g. 2,1 or 1,2,2,1 to see drift from other load")
    parser.add_argument("--no-lock", action="store_true", help="do not take the shared heavy lock")
    args = parser.parse_args(argv)
    counts = tuple(int(n) for n in args.worker_counts.split(","))
    if not counts or min(counts) < 1:
        parser.error(f"--worker-counts must list positive integers, got {args.worker_counts!r}")
    if args.no_lock:
        result = run(args.days, args.hours, args.concurrency, counts)
    else:
        with heavy_lock():
            result = run(args.days, args.hours, args.concurrency, counts)
    RESULT_PATH.parent.mkdir(exist_ok=True)
    RESULT_PATH.write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(result))
    print(f"wrote {RESULT_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
