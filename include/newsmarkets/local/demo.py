"""``make demo`` and ``make airflow``: the embedded default, end to end, through real Airflow.

The demo starts the environment, backfills every DAG over the replay world's
days with ``airflow backfill create`` (what a user would do, not a shortcut
around Airflow), waits with progress, prints a report, writes an HTML report
and stops every process it started.
"""

from __future__ import annotations

import signal
import time
from datetime import timedelta

from newsmarkets.local.environment import EmbeddedEnvironment


def _progress(msg: str) -> None:
    print(msg, flush=True)


def backfill_all(env: EmbeddedEnvironment, *, timeout_s: float = 900) -> dict[str, dict]:
    """Backfill prices_history over the world's days, one live snapshot at its clock, and a day of news."""
    from newsmarkets.local.backfill import create_backfill, wait_for_runs

    window = env.window
    history_from, history_to = window.start.isoformat(), window.last_day.isoformat()
    _progress(f"• backfilling prices_history {history_from} → {history_to} ({window.days} daily runs)…")
    history = create_backfill(env.airflow, "prices_history", history_from, history_to, max_active_runs=2)
    # One 5-minute run whose interval ends at the replay clock: a snapshot is
    # only valid for "now", so that is the one interval it can fill.
    last_slot = (window.end_at - timedelta(minutes=5)).isoformat()
    _progress(f"• running prices_snapshot for the interval ending at the replay clock ({window.end_at.isoformat()})…")
    snapshot = create_backfill(env.airflow, "prices_snapshot", last_slot, last_slot, max_active_runs=1)
    # News is hourly: every hour is one run of four tasks, so the demo takes the
    # world's last day (24 runs) to stay within minutes on two cores.
    news_day = window.last_day.isoformat()
    _progress(f"• backfilling news_ingest over {news_day} (24 hourly runs)…")
    news = create_backfill(env.airflow, "news_ingest", f"{news_day}T00:00:00+00:00", f"{news_day}T23:00:00+00:00",
                           max_active_runs=4)
    states = {}
    for dag_id, backfill_id in (("prices_history", history), ("prices_snapshot", snapshot), ("news_ingest", news)):
        states[dag_id] = wait_for_runs(env.airflow, dag_id, backfill_id=backfill_id, timeout_s=timeout_s,
                                       progress=lambda m: _progress("  " + m))
    return states


def run_demo(base_dir: str = ".stack/demo", keep_running: bool = False, days: int | None = None) -> int:
    from newsmarkets.local.report import build_report, print_report

    from newsmarkets.local.airflow_stack import stop_on_termination

    started = time.monotonic()
    env = EmbeddedEnvironment(base_dir, days=days)
    print(f"newsmarkets demo — state in {env.base_dir}", flush=True)
    # Every demo replays the same world from scratch: fresh Airflow metadata so
    # the backfills really run; the warehouse is kept and rewritten in place
    # (reruns overwrite, never append).
    env.reset_orchestration_state()
    # SIGTERM (CI, a closed terminal) must stop every process we started, like Ctrl-C.
    with stop_on_termination():
        try:
            env.start(progress=_progress)
            _progress(f"  Airflow is up ({time.monotonic() - started:.0f}s); UI at {env.airflow.base_url}")
            states = backfill_all(env)
            report = build_report(env, states)
        finally:
            if not keep_running:
                _progress("• stopping Airflow, the replay world and the database…")
                env.stop()
    report["wall_s"] = round(time.monotonic() - started, 1)
    print_report(report)
    failed = [d for d, runs in states.items() if any(s != "success" for s in runs.values())]
    return 1 if failed else 0


def run_local_airflow(base_dir: str = ".stack/airflow", port: int = 8080) -> int:
    """A local Airflow on the replay world until Ctrl-C; the clock is wall time so live DAGs work."""
    env = EmbeddedEnvironment(base_dir, wall_clock=True, ui_port=port)
    stop = {"now": False}

    def _handler(*_):
        stop["now"] = True

    signal.signal(signal.SIGTERM, _handler)
    try:
        env.start(progress=_progress)
        user, password = "admin", env.airflow.admin_password
        print(
            f"\nAirflow UI: {env.airflow.base_url}   user: {user}   password: {password}\n"
            f"Warehouse: {env.warehouse}   DuckDB catalog: {env.config().catalog_path}\n"
            f"Replay world: {env.window.start} → {env.window.last_day} at {env.replay.base_url}\n"
            f"Backfill from the UI or: NEWSMARKETS_CONFIG={env.config_path} AIRFLOW_HOME={env.airflow.home} "
            f"airflow backfill create --dag-id prices_history --from-date {env.window.start} --to-date {env.window.last_day}\n"
            "Press Ctrl-C to stop everything.",
            flush=True,
        )
        for dag_id in ("prices_snapshot", "prices_history", "news_ingest"):
            env.airflow.unpause(dag_id)
        while not stop["now"]:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        _progress("\n• stopping…")
        env.stop()
    return 0

