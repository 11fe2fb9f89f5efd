"""The late-snapshot deadline of the live DAG (an Airflow 3 ``DeadlineAlert``).

A DAG's deadline is fixed when its file is parsed, where the config may not
be read, so its length comes from the environment:
``NEWSMARKETS_LATE_SNAPSHOT_MINUTES`` (default 10; ``0`` attaches none).
Whether the alert is *sent* is the config's business (``alerts:``), read
when the deadline is missed.
"""

from __future__ import annotations

import os
from datetime import timedelta

LATE_ENV = "NEWSMARKETS_LATE_SNAPSHOT_MINUTES"
DEFAULT_LATE_MINUTES = 10.0


def late_minutes() -> float:
    value = os.environ.get(LATE_ENV, "").strip()
    try:
        return float(value) if value else DEFAULT_LATE_MINUTES
    except ValueError:
        raise ValueError(f"{LATE_ENV}: expected minutes (a number, 0 for none), got {value!r}") from None


def late_snapshot_deadline(schedule_every: timedelta):
    """A deadline ``schedule_every`` + the grace after each run's logical date, or None if switched off.

    The reference is the logical date (the slot's start), not the queue time,
    so a run the scheduler creates or queues late is late too. Runs that have
    not *succeeded* by then (still running, queued, or failed) fire the
    callback; a run that succeeds in time drops its deadline.
    """
    from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference

    grace = late_minutes()
    if grace <= 0:
        return None
    late_after = schedule_every + timedelta(minutes=grace)
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
        interval=late_after,
        callback=AsyncCallback(
            "newsmarkets.alerts.notifier.late_snapshot",
            kwargs={"late_after": f"{late_after.total_seconds() / 60:g} min after the slot's start"},
        ),
        name="late_snapshot",
    )
