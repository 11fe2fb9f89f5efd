"""Import the heavy libraries once in the processes that fork task runners.

Airflow runs each task in a process forked from the scheduler's LocalExecutor
workers or from a Celery worker. Great Expectations takes ~10 s to import on
this class of machine (scipy, sqlalchemy, its expectation registry), and every
validating task would pay it again. Imported in the parent before it forks,
the modules are shared copy-on-write and a task's ``import`` is free — the
same idea as gunicorn's ``--preload``. The task modules themselves (pandas,
pyarrow, trafilatura, DuckDB behind them) are preloaded for the same reason:
an hourly news run is a dozen task instances, each paying its imports.

Imports only: nothing here may start a thread or open a connection, both of
which a fork would copy into every task.

Only the forking parents preload: the api-server, dag-processor, triggerer
and every ``airflow`` CLI call must stay fast, and DAG parsing must never
import GX (the DAG-integrity tests check that).
"""

from __future__ import annotations

import os
import sys
from typing import Sequence

PRELOAD_ENV = "NEWSMARKETS_PRELOAD"  # "0" turns it off
TASK_MODULES = (
    "newsmarkets.prices.pipeline",
    "newsmarkets.news.ingest.discover",
    "newsmarkets.news.ingest.fetch",
    "newsmarkets.news.ingest.extract",
    "newsmarkets.news.ingest.deduplicate",
    "newsmarkets.news.ingest.link",
    "newsmarkets.news.ingest.validate",
    "newsmarkets.news.ingest.publish",
    "newsmarkets.news.ingest.originals",
    "newsmarkets.news.extract",
    "newsmarkets.news.dedup",
    "newsmarkets.news.link",
    "newsmarkets.quality.suites",
    "newsmarkets.moves.pipeline",
    "newsmarkets.warehouse.catalog",
)


def forks_task_runners(argv: Sequence[str]) -> bool:
    """True for ``airflow scheduler`` and ``airflow celery worker`` command lines."""
    words = [a for a in argv[1:] if not a.startswith("-")]
    return words[:1] == ["scheduler"] or words[:2] == ["celery", "worker"]


def preload(argv: Sequence[str] | None = None) -> bool:
    """Import Great Expectations now if this process forks task runners; returns whether it did."""
    if os.environ.get(PRELOAD_ENV, "1") == "0" or not forks_task_runners(sys.argv if argv is None else argv):
        return False
    import importlib
    import logging

    from newsmarkets.quality.gate import load_gx

    load_gx()
    for name in TASK_MODULES:
        try:
            importlib.import_module(name)
        except Exception as exc:  # the task importing it will raise the real error; the scheduler must start
            logging.getLogger(__name__).warning("preload of %s failed: %s", name, exc)
    return True
