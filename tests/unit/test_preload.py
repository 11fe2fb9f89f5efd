import pytest

from newsmarkets.orchestration.preload import forks_task_runners, preload


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["airflow", "scheduler"], True),
        (["/venv/bin/airflow", "celery", "worker", "-H", "w1"], True),
        (["python", "--verbose", "scheduler"], True),
        (["airflow", "api-server"], False),
        (["airflow", "dag-processor"], False),
        (["airflow", "celery", "flower"], False),
        (["airflow", "tasks", "test", "scheduler"], False),
        (["airflow"], False),
    ],
)
def test_only_processes_that_fork_task_runners_preload(argv, expected):
    assert forks_task_runners(argv) is expected


def test_preload_can_be_switched_off(monkeypatch):
    monkeypatch.setenv("NEWSMARKETS_PRELOAD", "0")
    assert preload(["airflow", "scheduler"]) is False
    monkeypatch.delenv("NEWSMARKETS_PRELOAD")
    assert preload(["airflow", "api-server"]) is False
