"""Task defaults shared by every DAG (retries, owner), from the environment only.

Read at parse time, so nothing here may touch files or the network; the
environment variables exist so tests and the demo can shorten retry delays.
"""

import os
from datetime import datetime, timedelta


def default_args() -> dict:
    return {
        "owner": "newsmarkets",
        "retries": int(os.environ.get("NEWSMARKETS_TASK_RETRIES", "2")),
        "retry_delay": timedelta(seconds=float(os.environ.get("NEWSMARKETS_RETRY_DELAY_S", "60"))),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
        "execution_timeout": timedelta(minutes=30),
    }


def schedule_end() -> datetime | None:
    """Last time the DAGs' own schedules may reach (``NEWSMARKETS_SCHEDULE_END``, ISO).

    The replay world ends at its clock; without this, unpausing a DAG for a
    backfill would also start today's scheduled run against a world with no
    data for today. Unset in production.
    """
    value = os.environ.get("NEWSMARKETS_SCHEDULE_END")
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
