"""Exponential retry backoff that starts again with every rerun of a task.

Airflow's own backoff (``retry_exponential_backoff``) raises the delay with
the task instance's ``try_number``, which keeps counting across reruns: after
a few clears of an interval, the first retry of a healthy rerun already
waits the 10-minute maximum. Clearing sets ``max_tries = try_number +
retries``, so ``retries - (max_tries - try_number)`` is the try's place
within the current run of the task (1 for its first try); this policy
backs off on that instead. Airflow 3.3 evaluates a ``retry_policy`` in the
worker for every failure except ``AirflowFailException`` (which never retries).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from airflow.sdk import RetryDecision, RetryPolicy


def try_within_rerun(try_number: int, max_tries: int, retries: int) -> int:
    """The try's place within the current run of a task: 1 for its first try, 2 for its first retry...

    ``max_tries`` is what Airflow keeps on the task instance (``retries`` at
    first, ``try_number + retries`` after each clear); values that do not fit
    (a task whose ``retries`` changed since) fall back to ``try_number``.
    """
    place = retries - (max_tries - try_number)
    return place if 1 <= place <= try_number else try_number


def backoff_delay(base: timedelta, retry: int, max_delay: timedelta, salt: str = "") -> timedelta:
    """Delay before retry number ``retry`` (1 = first retry): between ``base·2^(retry-1)`` and twice that, capped.

    The spread inside that range is a hash of ``salt`` (as Airflow's own
    backoff), so reruns of many intervals do not retry in lockstep and the
    same try always waits the same.
    """
    low = base.total_seconds() * 2 ** max(0, min(retry - 1, 30))
    spread = int(hashlib.sha1(salt.encode("utf-8"), usedforsecurity=False).hexdigest(), 16) % 1000 / 1000
    return min(max_delay, timedelta(seconds=low * (1 + spread)))


class RerunBackoff(RetryPolicy):
    """Back off exponentially from ``base`` within each run of a task, never past ``max_delay``."""

    def __init__(self, base: timedelta, max_delay: timedelta) -> None:
        self.base, self.max_delay = base, max_delay

    def evaluate(self, exception: BaseException, try_number: int, max_tries: int,
                 context: Any = None) -> RetryDecision:
        task = (context or {}).get("task")
        retries = getattr(task, "retries", None)
        if retries is None:  # no context: behave as Airflow would
            return RetryDecision.default()
        retry = try_within_rerun(try_number, max_tries, int(retries))
        ti = (context or {}).get("ti")
        salt = f"{getattr(ti, 'dag_id', '')}#{getattr(ti, 'task_id', '')}#{getattr(ti, 'run_id', '')}#{try_number}"
        delay = backoff_delay(self.base, retry, self.max_delay, salt)
        return RetryDecision.retry(delay, reason=f"try {retry} of this run; retrying in {delay.total_seconds():.0f} s")

    def serialize(self) -> dict[str, Any]:
        return {"base_s": self.base.total_seconds(), "max_delay_s": self.max_delay.total_seconds()}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> "RerunBackoff":
        return cls(timedelta(seconds=data["base_s"]), timedelta(seconds=data["max_delay_s"]))
