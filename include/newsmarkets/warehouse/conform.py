"""Make a batch match its table's schema exactly, or say precisely why not.

Pure transforms (DataFrame/Arrow in, Arrow/DataFrame out, no I/O) used by the
writer: schema enforcement, the ``dt`` partition value, key checks, and the
typed pandas frames that ``Warehouse.read`` returns.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from newsmarkets.warehouse.schemas import TableSpec

Batch = pd.DataFrame | pa.Table

# Nullable integer/bool columns keep their dtype when they hold nulls (numpy
# would turn them into float/object), so a frame's dtypes depend on the schema only.
_NULLABLE_PANDAS = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}


def _nullable_dtype(arrow_type: pa.DataType):
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        # Passing any types_mapper turns off pandas' default ``str`` dtype; keep it.
        return pd.StringDtype(na_value=float("nan"))
    return _NULLABLE_PANDAS.get(arrow_type)


class SchemaError(ValueError):
    """A batch does not fit its table's schema; the message names table and column."""


def _fail(spec: TableSpec, column: str, problem: str) -> SchemaError:
    return SchemaError(f"table {spec.name!r}, column {column!r}: {problem}")


def relaxed_schema(spec: TableSpec) -> pa.Schema:
    """The table's types with every field nullable (staged and quarantined batches)."""
    return pa.schema([f.with_nullable(True) for f in spec.schema], metadata=spec.schema.metadata)


def file_schema(spec: TableSpec, **extra_metadata: str) -> pa.Schema:
    """What a published Parquet file holds: no partition column (it is in the path) plus table metadata."""
    metadata = {
        "newsmarkets.table": spec.name,
        "newsmarkets.layer": spec.layer,
        "newsmarkets.key": ",".join(spec.key),
        "newsmarkets.description": spec.description,
        **{f"newsmarkets.{k}": v for k, v in extra_metadata.items()},
    }
    fields = [f for f in spec.schema if f.name != spec.partition_by]
    return pa.schema(fields, metadata=metadata)


def _columns(spec: TableSpec, data: Batch) -> dict[str, pa.Array | pa.ChunkedArray]:
    if isinstance(data, pa.Table):
        names = data.column_names
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise _fail(spec, dup, "appears more than once in the batch")
        return {name: data.column(name) for name in names}
    if not isinstance(data, pd.DataFrame):
        raise SchemaError(f"table {spec.name!r}: expected a pandas DataFrame or pyarrow Table, got {type(data).__name__}")
    if data.columns.has_duplicates:
        dup = data.columns[data.columns.duplicated()][0]
        raise _fail(spec, str(dup), "appears more than once in the batch")
    out = {}
    for name in data.columns:
        try:
            out[str(name)] = pa.array(data[name], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise _fail(spec, str(name), f"values cannot be converted to Arrow ({exc})") from None
    return out


def _cast(spec: TableSpec, field: pa.Field, values: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    values = values if isinstance(values, pa.ChunkedArray) else pa.chunked_array([values])
    source = values.type
    if pa.types.is_timestamp(field.type):
        if pa.types.is_timestamp(source) and source.tz is None:
            raise _fail(spec, field.name, f"naive timestamps are refused; expected {field.type} (localize to UTC first)")
        if not (pa.types.is_timestamp(source) or pa.types.is_string(source)
                or pa.types.is_large_string(source) or pa.types.is_null(source)):
            raise _fail(spec, field.name, f"cannot cast {source} to {field.type}; expected aware timestamps")
    try:
        cast = values.cast(field.type, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise _fail(spec, field.name, f"cannot cast {source} to {field.type}: {exc}") from None
    if pa.types.is_floating(field.type) and cast.null_count < len(cast):
        # NaN means "missing" in pandas; store it as null so every engine agrees.
        cast = pc.if_else(pc.is_nan(cast), pa.scalar(None, field.type), cast)
    return cast


def _partition_values(spec: TableSpec, columns: dict[str, pa.ChunkedArray]) -> pa.ChunkedArray:
    source = columns[spec.dt_from]
    if not pa.types.is_timestamp(source.type):
        raise _fail(spec, spec.dt_from, f"dt_from must be a timestamp column, schema says {source.type}")
    in_utc = source.cast(pa.timestamp(source.type.unit, tz="UTC"))
    return in_utc.cast(pa.date32()).cast(pa.string())


def _check_given_dt(spec: TableSpec, given: pa.ChunkedArray, computed: pa.ChunkedArray) -> None:
    try:
        given = given.cast(pa.string()) if not pa.types.is_date(given.type) else given.cast(pa.date32()).cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise _fail(spec, spec.partition_by, f"cannot read the given partition values: {exc}") from None
    same = pc.fill_null(pc.equal(given, computed), False)
    both_null = pc.and_(pc.is_null(given), pc.is_null(computed))
    bad = pc.invert(pc.or_(same, both_null))
    if pc.any(bad).as_py():
        index = pc.index(bad, True).as_py()
        raise _fail(
            spec, spec.partition_by,
            f"row {index} says {given[index].as_py()!r} but the UTC date of {spec.dt_from} is "
            f"{computed[index].as_py()!r} (the writer computes {spec.partition_by}; drop the column or fix it)",
        )


def duplicate_keys(table: pa.Table, key: tuple[str, ...]) -> pa.Table:
    """Key values that occur more than once, with their ``count_all``."""
    counts = table.group_by(list(key)).aggregate([([], "count_all")])
    return counts.filter(pc.greater(counts["count_all"], 1))


def conform(spec: TableSpec, data: Batch, *, strict: bool = True) -> pa.Table:
    """Cast ``data`` to ``spec.schema`` (column order, types, UTC ``us`` timestamps) and add ``dt``.

    ``strict`` (publishing) also refuses nulls in non-nullable fields and
    duplicate keys; staging passes ``strict=False`` so the quality gate can see
    and report those problems itself. Raises :class:`SchemaError`.
    """
    given = _columns(spec, data)
    if not given and (len(data) if isinstance(data, pd.DataFrame) else data.num_rows) == 0:
        # ``pd.DataFrame()`` is how "nothing this interval" usually looks.
        return spec.schema.empty_table() if strict else relaxed_schema(spec).empty_table()
    expected = set(spec.data_columns)
    missing = [c for c in spec.data_columns if c not in given]
    if missing:
        raise _fail(spec, missing[0], "is missing" + (f" (also missing: {', '.join(missing[1:])})" if missing[1:] else ""))
    unknown = [c for c in given if c not in expected and c != spec.partition_by]
    if unknown:
        raise _fail(spec, unknown[0], f"is not in the schema (known: {', '.join(spec.schema.names)})")

    columns = {f.name: _cast(spec, f, given[f.name]) for f in spec.schema if f.name != spec.partition_by}
    dt = _partition_values(spec, columns)
    if spec.partition_by in given:
        _check_given_dt(spec, given[spec.partition_by], dt)
    columns[spec.partition_by] = dt

    if strict:
        for f in spec.schema:
            nulls = columns[f.name].null_count
            if not f.nullable and nulls:
                first = pc.index(pc.is_null(columns[f.name]), True).as_py()
                why = f" (its {spec.dt_from} is null)" if f.name == spec.partition_by else ""
                raise _fail(spec, f.name, f"{nulls} null value(s) in a non-nullable column, first at row {first}{why}")
    schema = spec.schema if strict else relaxed_schema(spec)
    table = pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)
    if strict and table.num_rows:
        dups = duplicate_keys(table, spec.key)
        if dups.num_rows:
            example = {k: dups[k][0].as_py() for k in spec.key}
            raise SchemaError(
                f"table {spec.name!r}, key ({', '.join(spec.key)}): {dups.num_rows} key value(s) occur more than "
                f"once in the batch, e.g. {example} x{dups['count_all'][0].as_py()}"
            )
    return table


def drop_existing_keys(table: pa.Table, existing: pa.Table, key: tuple[str, ...]) -> tuple[pa.Table, int]:
    """Rows of ``table`` whose key is not in ``existing``, and how many were dropped."""
    if existing.num_rows == 0 or table.num_rows == 0:
        return table, 0
    # Join on the key plus a row number only: Acero refuses list columns as join payload.
    rows = table.select(list(key)).append_column("__row", pa.array(range(table.num_rows), pa.int64()))
    survivors = rows.join(existing.select(list(key)), keys=list(key), join_type="left anti").column("__row")
    kept = table.take(pc.take(survivors, pc.sort_indices(survivors)))
    return kept, table.num_rows - kept.num_rows


def sort_by_key(table: pa.Table, key: tuple[str, ...]) -> pa.Table:
    return table.sort_by([(k, "ascending") for k in key])


def to_pandas(schema: pa.Schema, table: pa.Table) -> pd.DataFrame:
    """A frame whose dtypes follow ``schema`` alone, whether or not ``table`` has rows or nulls."""
    frame = {}
    for f in schema:
        column = table.column(f.name) if f.name in table.column_names else pa.chunked_array([], type=f.type)
        frame[f.name] = column.to_pandas(types_mapper=_nullable_dtype if f.nullable else None)
    return pd.DataFrame(frame, columns=schema.names)
