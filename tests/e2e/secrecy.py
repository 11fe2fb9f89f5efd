"""Where a secret must not be: helpers the secrecy tests share, plus the connection a key travels in."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from newsmarkets.credentials import PRICES_CONN_ID


def prices_connection_env(api_key: str) -> dict[str, str]:
    """The provider key as the ``newsmarkets_prices`` Airflow connection, and nothing else."""
    return {f"AIRFLOW_CONN_{PRICES_CONN_ID.upper()}": json.dumps({"conn_type": "http", "password": api_key})}


def metadata_rows_holding(env, needle: str) -> dict[str, int]:
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


def parquet_holds(path: Path, needle: str) -> bool:
    table = pq.read_table(path)
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            if any(needle in value for value in column.to_pylist() if value):
                return True
    return False


def files_holding(root: Path, needle: str) -> list[str]:
    raw = needle.encode()
    hits = []
    for path in root.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        try:
            # Parquet pages are compressed: read their cells, not their bytes.
            holds = parquet_holds(path, needle) if path.suffix == ".parquet" else raw in path.read_bytes()
        except (OSError, pa.ArrowInvalid):
            continue  # a server's socket or a file removed meanwhile
        if holds:
            hits.append(str(path.relative_to(root)))
    return hits
