"""The quality gate: validate a batch in memory, then publish it or quarantine it.

Great Expectations runs entirely in memory against one ephemeral context per
process (built on first use and cached: importing GX takes ~15 s, a warm
validation well under a second). Every expectation's outcome is recorded in
``dq_results``, whether the batch is published or not.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from newsmarkets.intervals import Interval
from newsmarkets.quality.results import (
    ExpectationOutcome,
    ValidationOutcome,
    dq_rows,
    expectation_label,
    order_like,
    outcome_from_gx,
    to_jsonable,
)
from newsmarkets.warehouse.schemas import DQ_RESULTS

__all__ = [
    "ExpectationOutcome", "PublishResult", "QualityGateError", "ValidationOutcome",
    "gx_context", "load_gx", "publish_if_valid", "validate_frame",
]

log = logging.getLogger("newsmarkets.quality")

# GX's result_format: counts plus a sample of unexpected values, no full row lists.
RESULT_FORMAT = "SUMMARY"

_lock = threading.RLock()
_cached: tuple[Any, Any] | None = None


class QualityGateError(RuntimeError):
    """A batch failed a critical expectation: it was quarantined and nothing was published.

    ``outcome`` and ``quarantine_path`` say what failed and where the batch is;
    the message alone carries the same facts for task logs.
    """

    def __init__(self, message: str, *, outcome: ValidationOutcome | None = None, quarantine_path: str | None = None) -> None:
        # Plain (message,) args keep the exception picklable across process boundaries.
        super().__init__(message)
        self.outcome = outcome
        self.quarantine_path = quarantine_path

    @classmethod
    def for_outcome(cls, outcome: ValidationOutcome, quarantine_path: str) -> "QualityGateError":
        failed = outcome.failed_critical
        lines = "\n".join(f"  - {r.describe()}" for r in failed)
        return cls(
            f"table {outcome.table!r}, interval {outcome.interval}, run {outcome.run_id}: "
            f"{len(failed)} critical expectation(s) of suite {outcome.suite!r} failed on {outcome.row_count} row(s); "
            f"nothing was published, the batch is quarantined at {quarantine_path}\n{lines}",
            outcome=outcome,
            quarantine_path=quarantine_path,
        )


@dataclass
class PublishResult:
    table: str
    interval_key: str
    rows_written: int
    table_version: int | None  # the table's version holding this batch
    warnings: list[str]  # one line per failed warning expectation (JSON-safe for XCom)
    duplicates_dropped: int = 0
    outcome: ValidationOutcome | None = field(default=None, repr=False)
    rows_kept: int = 0  # published rows the run did not refresh, kept (see Warehouse.write's ``refreshed``)
    rows_removed: int = 0  # refreshed rows the source no longer has


def load_gx() -> Any:
    """Import Great Expectations with its loggers turned down to warnings (slow the first time)."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx

    # Some GX modules pin their own logger to INFO on import, bypassing the parent's level.
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if name.startswith("great_expectations.") and isinstance(logger, logging.Logger):
            if logging.NOTSET < logger.level < logging.WARNING:
                logger.setLevel(logging.WARNING)
    return gx


def gx_context() -> Any:
    """The process's one ephemeral GX context, created on first use (suites need it to exist)."""
    return _memory_batches()[0]


def _memory_batches() -> tuple[Any, Any]:
    """(context, whole-dataframe batch definition), built once per process."""
    global _cached
    with _lock:
        if _cached is None:
            gx = load_gx()
            from great_expectations.data_context.types.base import (
                DataContextConfig,
                InMemoryStoreBackendDefaults,
                ProgressBarsConfig,
            )

            config = DataContextConfig(
                # No data docs: the default ephemeral context makes a temp dir per process for them.
                store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
                # tqdm bars would flood task logs with one line per metric batch.
                progress_bars=ProgressBarsConfig(globally=False),
                analytics_enabled=False,
            )
            context = gx.get_context(mode="ephemeral", project_config=config)
            asset = context.data_sources.add_pandas("newsmarkets_memory").add_dataframe_asset("batch")
            _cached = (context, asset.add_batch_definition_whole_dataframe("whole_batch"))
        return _cached


def validate_frame(
    table: str,
    df: pd.DataFrame,
    suite: Any,
    *,
    interval: Interval | None = None,
    run_id: str | None = None,
) -> ValidationOutcome:
    """Run ``suite`` on ``df`` in memory; no files are read or written."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"table {table!r}: expected a pandas DataFrame to validate, got {type(df).__name__}")
    labels = [expectation_label(e.expectation_type, e.configuration.kwargs, e.meta) for e in suite.expectations]
    _, batch_definition = _memory_batches()
    with _lock:  # the cached context is shared; GX gives no thread-safety promise
        batch = batch_definition.get_batch(batch_parameters={"dataframe": df})
        result = batch.validate(suite, result_format=RESULT_FORMAT)
    outcomes = order_like((outcome_from_gx(r) for r in result.results), labels)
    return ValidationOutcome(
        table=table,
        suite=suite.name,
        interval=interval,
        run_id=run_id,
        row_count=len(df),
        results=outcomes,
        validated_at=datetime.now(timezone.utc),
        gx_result=to_jsonable(result.to_json_dict()),
    )


def _record(warehouse: Any, outcome: ValidationOutcome, *, is_published: bool, table_version: int | None = None) -> int:
    """Write this batch's rows to ``dq_results``, one file per (interval, table, run).

    The file tag keeps other tables' and runs' results for the same interval
    untouched, while a retry of the same run replaces its own earlier rows.
    """
    ours = dq_rows(outcome, is_published=is_published, table_version=table_version)
    warehouse.write(DQ_RESULTS.name, ours, outcome.interval, file_tag=f"{outcome.table}-{outcome.run_id}")
    return len(ours)


def _refresh_catalog(warehouse: Any, catalog_path: str | None) -> None:
    if catalog_path:
        from newsmarkets.warehouse.catalog import refresh_catalog

        refresh_catalog(warehouse, catalog_path)


def publish_if_valid(
    warehouse: Any,
    table: str,
    df: pd.DataFrame,
    interval: Interval,
    run_id: str,
    suite: Any,
    *,
    catalog_path: str | None = None,
    refreshed: Any = None,
) -> PublishResult:
    """Validate ``df``; publish it to ``table`` if no critical expectation failed.

    Otherwise the batch goes to quarantine with its report, ``table`` is left
    untouched and :class:`QualityGateError` is raised. Either way every
    expectation's outcome lands in ``dq_results``; ``catalog_path`` (optional)
    refreshes the DuckDB catalog afterwards. ``refreshed`` (a
    :class:`~newsmarkets.warehouse.writer.Refreshed`) says which part of the
    interval the batch re-fetched; the rest of what was published is kept.
    """
    outcome = validate_frame(table, df, suite, interval=interval, run_id=run_id)
    warnings = [r.describe() for r in outcome.failed_warnings]
    for line in warnings:
        log.warning("%s %s (run %s): %s", table, interval, run_id, line)

    if not outcome.success:
        path = warehouse.quarantine(table, df, interval, run_id, outcome.report())
        _record(warehouse, outcome, is_published=False)
        _refresh_catalog(warehouse, catalog_path)
        error = QualityGateError.for_outcome(outcome, path)
        log.error("%s", error)
        raise error

    try:
        written = warehouse.write(table, df, interval, refreshed=refreshed)
    except Exception:
        # The gate passed but the writer refused (e.g. a type GX does not check): say so in dq_results.
        _record(warehouse, outcome, is_published=False)
        raise
    _record(warehouse, outcome, is_published=True, table_version=written.table_version)
    _refresh_catalog(warehouse, catalog_path)
    log.info(
        "%s %s (run %s): %d expectation(s) passed%s; published %d row(s) as table version %s",
        table, interval, run_id, len(outcome.results) - len(outcome.failed_warnings),
        f", {len(warnings)} warning(s)" if warnings else "", written.rows_written, written.table_version,
    )
    return PublishResult(
        table=table,
        interval_key=interval.key,
        rows_written=written.rows_written,
        table_version=written.table_version,
        warnings=warnings,
        duplicates_dropped=written.duplicates_dropped,
        outcome=outcome,
        rows_kept=written.rows_kept,
        rows_removed=written.rows_removed,
    )
