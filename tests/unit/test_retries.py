"""Retry backoff restarts with every rerun of a task (pure parts and the policy Airflow calls)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from newsmarkets.orchestration.retries import RerunBackoff, backoff_delay, try_within_rerun

BASE, CAP = timedelta(seconds=60), timedelta(minutes=10)


def test_the_try_counts_from_the_start_of_each_rerun():
    # retries=2: the first run's tries are 1..3 with max_tries 2; each clear sets max_tries = try_number + retries
    assert [try_within_rerun(t, 2, 2) for t in (1, 2, 3)] == [1, 2, 3]
    assert [try_within_rerun(t, 5, 2) for t in (4, 5, 6)] == [1, 2, 3]  # cleared after try 3
    assert try_within_rerun(13, 14, 2) == 1  # the fifth rerun's first try (cleared after try 12)
    # a cleared task that never failed before: try 2 with max_tries 1 + 2
    assert try_within_rerun(2, 3, 2) == 1


def test_numbers_that_do_not_fit_fall_back_to_the_try_number():
    assert try_within_rerun(4, 3, 5) == 4  # retries raised since: would give a place past the try number
    assert try_within_rerun(4, 20, 2) == 4  # would be negative


def test_delays_double_from_the_base_and_stop_at_the_cap():
    for retry, low in ((1, 60), (2, 120), (3, 240)):
        delay = backoff_delay(BASE, retry, CAP, salt="dag#task#run#1").total_seconds()
        assert low <= delay < 2 * low
    assert backoff_delay(BASE, 9, CAP, salt="x") == CAP
    assert backoff_delay(BASE, 1, CAP, salt="a") == backoff_delay(BASE, 1, CAP, salt="a")  # same try, same wait
    assert len({backoff_delay(BASE, 1, CAP, salt=str(i)) for i in range(20)}) > 10  # reruns spread out
    assert backoff_delay(BASE, 10_000, CAP) == CAP  # no overflow


def _context(retries: int) -> dict:
    return {"task": SimpleNamespace(retries=retries),
            "ti": SimpleNamespace(dag_id="prices_history", task_id="fetch", run_id="backfill__2026-01-05")}


def test_the_policy_waits_the_first_retry_delay_in_a_fifth_rerun():
    decision = RerunBackoff(BASE, CAP).evaluate(RuntimeError("503"), try_number=13, max_tries=14,
                                                context=_context(2))
    assert decision.action.value == "retry"
    assert BASE <= decision.retry_delay < 2 * BASE
    assert decision.reason.startswith("try 1 of this run")


def test_without_a_context_airflow_decides():
    assert RerunBackoff(BASE, CAP).evaluate(RuntimeError("x"), 1, 2, None).action.value == "default"


def test_the_policy_round_trips_through_its_serialized_form():
    policy = RerunBackoff(BASE, CAP)
    again = RerunBackoff.deserialize(policy.serialize())
    assert (again.base, again.max_delay) == (BASE, CAP)
