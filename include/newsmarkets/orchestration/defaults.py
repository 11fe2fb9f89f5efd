"""Task defaults shared by every DAG (retries, owner), from the environment only.

Read at parse time, so nothing here may touch files or the network; the
environment variables exist so tests and the demo can shorten retry delays.
"""

import os
from datetime import timedelta


def default_args() -> dict:
    return {
        "owner": "newsmarkets",
        "retries": int(os.environ.get("NEWSMARKETS_TASK_RETRIES", "2")),
        "retry_delay": timedelta(seconds=float(os.environ.get("NEWSMARKETS_RETRY_DELAY_S", "60"))),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
        "execution_timeout": timedelta(minutes=30),
    }
