"""Task defaults shared by every DAG (retries, owner, alerts), from the environment only.

Read at parse time, so nothing here may touch files or the network; the
environment variables exist so tests and the demo can shorten retry delays.
"""

import os
from datetime import datetime, timedelta


# Every DAG's start_date: bitcoin's genesis block, before any crypto market or
# crypto news. With catchup off nothing runs by itself; a backfill of any past
# day creates real runs, and what a source cannot serve fails naming why
# (IntervalNotServable) instead of Airflow skipping dates before start_date.
EARLIEST_START = datetime(2009, 1, 3)


def default_args() -> dict:
    from newsmarkets.alerts.notifier import AlertNotifier
    from newsmarkets.orchestration.retries import RerunBackoff

    retry_delay = timedelta(seconds=float(os.environ.get("NEWSMARKETS_RETRY_DELAY_S", "60")))
    max_retry_delay = timedelta(minutes=10)
    return {
        "owner": "newsmarkets",
        "retries": int(os.environ.get("NEWSMARKETS_TASK_RETRIES", "2")),
        "retry_delay": retry_delay,
        # Backoff restarts with every rerun of a task (Airflow's own keeps growing
        # with the try number across reruns); exponential backoff stays on as the
        # fallback for failures the policy does not see.
        "retry_policy": RerunBackoff(retry_delay, max_retry_delay),
        "retry_exponential_backoff": True,
        "max_retry_delay": max_retry_delay,
        "execution_timeout": timedelta(minutes=30),
        # Alerts read the config's `alerts:` section when they fire: off until it names a destination.
        "on_failure_callback": AlertNotifier("task_failure"),
        "on_retry_callback": AlertNotifier("task_retry"),  # quarantined batches only
    }


def dag_run_failure_alert():
    """``@dag(on_failure_callback=...)`` of every DAG: alert when a run fails (if alerts are configured)."""
    from newsmarkets.alerts.notifier import AlertNotifier

    return AlertNotifier("dag_run_failure")


def schedule_end() -> datetime | None:
    """Last time the DAGs' own schedules may reach (``NEWSMARKETS_SCHEDULE_END``, ISO).

    The replay world ends at its clock; without this, unpausing a DAG for a
    backfill would also start today's scheduled run against a world with no
    data for today. Unset in production.
    """
    value = os.environ.get("NEWSMARKETS_SCHEDULE_END")
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
