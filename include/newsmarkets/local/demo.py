"""``make demo`` and ``make airflow``: the embedded default, end to end, through real Airflow.

The demo starts the environment, backfills every DAG over the replay world's
days with ``airflow backfill create`` (what a user would do, not a shortcut
around Airflow), waits with progress, prints a report, writes an HTML report
and stops every process it started.
"""

from __future__ import annotations

import signal
import time

from newsmarkets.local.environment import EmbeddedEnvironment, LiveEnvironment


def _progress(msg: str) -> None:
    print(msg, flush=True)


def backfill_all(env: EmbeddedEnvironment, *, timeout_s: float = 1500) -> dict[str, dict]:
    """Backfill every DAG over the replay world's days through Airflow (see :mod:`newsmarkets.local.plan`)."""
    from newsmarkets.local.plan import full_plan, run_plan

    # News and linking over the last two days: the first day's prices are the
    # estimation window of the market model, and 48 hourly news runs keep the
    # demo within its 10-minute budget on two cores.
    plan = full_plan(env.window, news_days=min(2, env.window.days))
    return run_plan(env, plan, progress=_progress, timeout_s=timeout_s, fail_fast=False)


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
    # A demo warehouse from before the move to Delta Lake: same rows, as Delta tables.
    from newsmarkets.warehouse.writer import Warehouse

    Warehouse(str(env.warehouse)).convert_from_parquet(progress=_progress)
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
    unequal = [t["table"] for t in report.get("tables", []) if not t["is_equal"]]
    if unequal:
        print(f"  the catalog's row counts differ from the Delta tables': {', '.join(unequal)}", flush=True)
    return 1 if failed or unequal else 0


LIVE_DAGS = ("assets_refresh", "prices_snapshot", "prices_history", "news_ingest", "news_market_link", "warehouse_maintenance")


def run_local_airflow(base_dir: str = ".stack/airflow", port: int = 8080, config: str | None = None) -> int:
    """A local Airflow until Ctrl-C (or SIGTERM), on wall-clock schedules.

    Without ``config``: on the replay world, built around today. With it: live,
    on the config's own sources and warehouse, no replay world (LiveEnvironment).
    """
    live = config is not None
    env = LiveEnvironment(base_dir, config, ui_port=port) if live else EmbeddedEnvironment(
        base_dir, wall_clock=True, ui_port=port)
    stop = {"now": False}

    def _handler(*_):
        stop["now"] = True

    signal.signal(signal.SIGTERM, _handler)
    try:
        env.start(progress=_progress)
        user, password = "admin", env.airflow.admin_password
        cfg = env.config()
        if live:
            world = (f"Live sources: {len(cfg.news.sources)} news source(s) "
                     f"({', '.join(s.name for s in cfg.news.sources) or 'none: add news.sources'}), "
                     f"prices from {cfg.prices.base_url} ({len(cfg.prices.assets)} assets)\n"
                     f"Check them any time: newsmarkets sources check {env.config_path}\n")
            example = "--from-date 2025-01-01 --to-date 2025-01-31   (newsmarkets plan backfill first)"
        else:
            world = f"Replay world: {env.window.start} → {env.window.last_day} at {env.replay.base_url}\n"
            example = f"--from-date {env.window.start} --to-date {env.window.last_day}"
        print(
            f"\nAirflow UI: {env.airflow.base_url}   user: {user}   password: {password}\n"
            f"Config: {env.config_path}\n"
            f"Warehouse: {env.warehouse_root}   DuckDB catalog: {cfg.catalog_path}\n"
            + world +
            f"Backfill from the UI or: NEWSMARKETS_CONFIG={env.config_path} AIRFLOW_HOME={env.airflow.home} "
            f"airflow backfill create --dag-id prices_history {example}\n"
            f"Running on wall-clock schedules: {', '.join(LIVE_DAGS)}\n"
            "Press Ctrl-C to stop everything.",
            flush=True,
        )
        for dag_id in LIVE_DAGS:
            env.airflow.unpause(dag_id)
        while not stop["now"]:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        _progress("\n• stopping…")
        env.stop()
    return 0
