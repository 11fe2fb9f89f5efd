"""Batches waiting for the quality gate, and batches it rejected: plain Parquet files beside the tables.

A staged batch (``_staging/<table>/<interval>/<run>.parquet``) keeps the
table's types but lets nulls and duplicate keys through, so the gate reports
them instead of the stage failing. A quarantined batch
(``_quarantine/<table>/<interval>/<run>/``: ``data.parquet`` and
``validation.json``) keeps the evidence even when it does not fit the types.
Neither is a table: no reader of the warehouse sees them. :class:`Warehouse`
exposes these as methods; this module does the file work.
"""

from __future__ import annotations

import json
import math
import posixpath
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from newsmarkets.intervals import Interval
from newsmarkets.warehouse.conform import Batch, SchemaError, conform, file_schema, relaxed_schema, to_pandas
from newsmarkets.warehouse.rawstore import STAGING_DIR
from newsmarkets.warehouse.schemas import TableSpec, table_spec
from newsmarkets.warehouse.storage import Storage, safe_name

QUARANTINE_DIR = "_quarantine"


def write_parquet(storage: Storage, path: str, table: pa.Table, schema: pa.Schema) -> None:
    """``table`` in ``schema`` as one zstd Parquet file at ``path``, replaced atomically."""
    table = table.select(schema.names).cast(schema)

    def write(sink: pa.NativeFile) -> None:
        with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
            writer.write_table(table)

    storage.write_atomic(path, write)


def stage(storage: Storage, table: str, data: Batch, interval: Interval, run_id: str) -> str:
    spec = table_spec(table)
    batch = conform(spec, data, strict=False)
    path = storage.path(STAGING_DIR, spec.name, interval.key, f"{safe_name(run_id)}.parquet")
    write_parquet(storage, path, batch,
                  relaxed_schema(spec).with_metadata(file_schema(spec, interval=interval.key).metadata))
    return storage.url(path)


def load_staged(storage: Storage, table: str, path: str) -> pd.DataFrame:
    spec = table_spec(table)
    if not storage.is_under(path, STAGING_DIR, spec.name):
        raise ValueError(f"{path!r} is not a staged batch of table {spec.name!r} under {storage.url(storage.root)}")
    schema = relaxed_schema(spec)
    with storage.fs.open(storage.to_path(path), "rb") as handle:
        staged = pq.read_table(handle, schema=schema)
    return to_pandas(schema, staged)


def is_staged(storage: Storage, path: str) -> bool:
    return storage.is_under(path, STAGING_DIR) and storage.fs.exists(storage.to_path(path))


def discard_staged(storage: Storage, paths: Iterable[str]) -> int:
    removed = 0
    for path in paths:
        if not storage.is_under(path, STAGING_DIR):
            raise ValueError(f"{path!r} is not a staged batch under {storage.url(storage.root)}")
        local = storage.to_path(path)
        if storage.fs.exists(local):
            storage.remove(local)
            removed += 1
        storage.remove_empty_folder(posixpath.dirname(local))
    return removed


def quarantine(storage: Storage, table: str, data: Batch, interval: Interval, run_id: str, report: dict) -> str:
    spec = table_spec(table)
    folder = storage.path(QUARANTINE_DIR, spec.name, interval.key, safe_name(run_id))
    evidence, conformed = _as_evidence(spec, data)
    metadata = {**file_schema(spec, interval=interval.key).metadata, b"newsmarkets.conformed": str(conformed).lower()}
    write_parquet(storage, posixpath.join(folder, "data.parquet"), evidence, evidence.schema.with_metadata(metadata))
    text = json.dumps(_jsonable(report), default=_json_default, indent=2, sort_keys=True, allow_nan=False)
    storage.write_atomic(posixpath.join(folder, "validation.json"), lambda sink: sink.write(text.encode("utf-8")))
    return storage.url(folder)


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date, pd.Timestamp)):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def _jsonable(value: Any) -> Any:
    # NaN is not JSON; a report saying "observed NaN" must stay parseable.
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _as_evidence(spec: TableSpec, data: Batch) -> tuple[pa.Table, bool]:
    """Quarantined data in the table's types when possible, else as close to raw as Arrow allows."""
    try:
        return conform(spec, data, strict=False), True
    except SchemaError:
        pass
    if isinstance(data, pa.Table):
        return data, False
    try:
        return pa.Table.from_pandas(data, preserve_index=False), False
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Mixed-type object columns: keep every value's text rather than lose the batch.
        text = data.copy()
        for name in text.columns[text.dtypes == object]:
            text[name] = text[name].map(lambda v: None if v is None else str(v))
        return pa.Table.from_pandas(text, preserve_index=False), False
