"""Every DAG and task alerts on failure; the live snapshot DAG has its late-snapshot deadline."""

from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dags():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(str(DAGS))
    assert not bag.import_errors
    return bag.dags


def _events(callbacks):
    return [c.event for c in (callbacks if isinstance(callbacks, list) else [callbacks])]


def test_every_dag_run_and_task_has_the_alert_notifier(dags):
    for dag in dags.values():
        assert _events(dag.on_failure_callback) == ["dag_run_failure"], dag.dag_id
        for task in dag.tasks:
            assert _events(task.on_failure_callback) == ["task_failure"], (dag.dag_id, task.task_id)
            assert _events(task.on_retry_callback) == ["task_retry"], (dag.dag_id, task.task_id)


def test_prices_snapshot_deadline_is_the_slot_plus_grace(dags):
    from datetime import timedelta

    from airflow.sdk import AsyncCallback, DeadlineReference

    (deadline,) = dags["prices_snapshot"].deadline
    assert deadline.reference == DeadlineReference.DAGRUN_LOGICAL_DATE
    assert deadline.interval == timedelta(minutes=15)  # 5-minute slot + default 10 minutes' grace
    assert isinstance(deadline.callback, AsyncCallback)
    assert deadline.callback.path == "newsmarkets.alerts.notifier.late_snapshot"
    assert not any(dags[d].deadline for d in dags if d != "prices_snapshot")


def test_the_grace_comes_from_the_environment(monkeypatch):
    from datetime import timedelta

    from newsmarkets.alerts.deadline import LATE_ENV, late_snapshot_deadline

    monkeypatch.setenv(LATE_ENV, "2.5")
    assert late_snapshot_deadline(timedelta(minutes=5)).interval == timedelta(minutes=7.5)
    monkeypatch.setenv(LATE_ENV, "0")
    assert late_snapshot_deadline(timedelta(minutes=5)) is None
    monkeypatch.setenv(LATE_ENV, "soon")
    with pytest.raises(ValueError, match="NEWSMARKETS_LATE_SNAPSHOT_MINUTES"):
        late_snapshot_deadline(timedelta(minutes=5))
