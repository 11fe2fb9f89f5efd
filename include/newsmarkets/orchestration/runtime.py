"""What a running task needs from Airflow: the config, its data interval and run id."""

from __future__ import annotations

from contextlib import contextmanager

from newsmarkets.config import Config, load_config
from newsmarkets.intervals import Interval


def run_context() -> tuple[Config, Interval, str]:
    """Config, data interval and run id of the task instance calling this."""
    from airflow.sdk import get_current_context

    ctx = get_current_context()
    start, end = ctx["data_interval_start"], ctx["data_interval_end"]
    if start is None or end is None or end <= start:
        raise ValueError(
            f"run {ctx['run_id']} has no usable data interval ({start} to {end}); "
            "trigger it with a logical date on the DAG's schedule or use `airflow backfill create`"
        )
    return load_config(), Interval(start, end), ctx["run_id"]


@contextmanager
def fail_without_retry(*errors: type[BaseException]):
    """Turn ``errors`` into ``AirflowFailException``: the task fails at once, its message kept.

    For failures a retry cannot fix (an interval the DAG cannot serve, a batch
    whose fetches mostly failed when a retry would re-read the same failures).
    """
    from airflow.sdk.exceptions import AirflowFailException

    try:
        yield
    except errors as exc:
        raise AirflowFailException(str(exc)) from exc
