"""The CoinGecko API key reaches the provider and nothing else: not logs, rendered fields, XCom or tables.

The session's environment gives every Airflow process ``COINGECKO_API_KEY``
(as ``.env`` does on the compose stack). After a real price backfill the test
checks the replay server received the key header, then looks for the key's
value everywhere Airflow and the pipeline keep things: every row of every
table in the metadata database (XCom, rendered task fields, run conf, logs
table…), every file under the environment (task and component logs, config,
staging, Data Docs), and every string cell of every Parquet file.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import API_KEY, run_backfill

pytestmark = pytest.mark.slow


def _metadata_rows_holding(env, needle: str) -> dict[str, int]:
    tables = [t for (t,) in env.airflow.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'")]
    assert {"xcom", "rendered_task_instance_fields", "dag_run", "task_instance"} <= set(tables), tables
    found = {}
    for table in tables:
        # A whole row as text: every column, JSON and bytea (as hex, where a plain key cannot hide) included.
        ((count,),) = env.airflow.query(f'SELECT count(*) FROM "{table}" AS t WHERE t::text LIKE %s', (f"%{needle}%",))
        if count:
            found[table] = count
    return found


def _parquet_holds(path: Path, needle: str) -> bool:
    table = pq.read_table(path)
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            if any(needle in value for value in column.to_pylist() if value):
                return True
    return False


def _files_holding(root: Path, needle: str) -> list[str]:
    raw = needle.encode()
    hits = []
    for path in root.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        try:
            # Parquet pages are compressed: read their cells, not their bytes.
            holds = _parquet_holds(path, needle) if path.suffix == ".parquet" else raw in path.read_bytes()
        except (OSError, pa.ArrowInvalid):
            continue  # a server's socket or a file removed meanwhile
        if holds:
            hits.append(str(path.relative_to(root)))
    return hits


def test_api_key_is_sent_to_the_provider_and_kept_nowhere(env, warehouse):
    day = env.window.start.isoformat()
    states = run_backfill(env, "prices_history", day, day, 1)
    assert set(states.values()) == {"success"}, states

    # Every CoinGecko call this environment's tasks made carried the key (the log keeps the recent ones).
    sent = [r for r in env.replay.request_log() if r["path"].startswith("/api/v3/coins/")]
    assert sent, "the backfill made no CoinGecko request"
    assert {r["api_key_header"] for r in sent} == {"x-cg-demo-api-key"}, sent[:3]

    assert _metadata_rows_holding(env, API_KEY) == {}
    assert _files_holding(env.base_dir, API_KEY) == []
