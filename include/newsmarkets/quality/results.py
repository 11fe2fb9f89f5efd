"""What a validation found, in our terms: outcomes, ``dq_results`` rows and the quarantine report.

Pure transforms (GX result objects or plain values in, dataclasses/frames/dicts
out, no I/O, no Great Expectations import) so the gate stays a thin layer of
I/O around them. An expectation is named by its *label*, e.g.
``expect_column_values_to_not_be_null(price_usd)``: the GX type plus its
domain (column, column list or column pair), or the ``meta["check"]`` name for
table-level expectations that would otherwise share a label.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Iterable

import pandas as pd

from newsmarkets.intervals import Interval
from newsmarkets.warehouse.schemas import DQ_RESULTS

SEVERITIES = ("critical", "warning")
# How many unexpected values an error message quotes; the report keeps GX's full sample.
SAMPLE_IN_MESSAGE = 5
# Row positions say nothing once the batch is gone and can be long; drop them from summaries.
_NOISY_RESULT_KEYS = ("partial_unexpected_index_list", "unexpected_index_list", "unexpected_index_query")


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON types: missing values (NaN, NA, NaT) become null, times ISO text."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return value.isoformat()
    if isinstance(value, (pd.Timedelta, timedelta)):
        return str(value)
    if isinstance(value, Decimal):
        return to_jsonable(float(value))
    if hasattr(value, "item"):  # numpy scalars
        return to_jsonable(value.item())
    if hasattr(value, "value"):  # enums (GX's FailureSeverity, ResultFormat)
        return to_jsonable(value.value)
    return str(value)


def domain_of(kwargs: dict) -> str | None:
    """The column(s) an expectation looks at, as text; ``None`` for table-level ones."""
    if kwargs.get("column") is not None:
        return str(kwargs["column"])
    if kwargs.get("column_list"):
        return ",".join(str(c) for c in kwargs["column_list"])
    if kwargs.get("column_A") is not None:
        return f"{kwargs['column_A']},{kwargs['column_B']}"
    return None


def expectation_label(expectation_type: str, kwargs: dict, meta: dict | None) -> str:
    """``<gx type>(<domain or meta check>)``, stable across runs (no parameter values in it)."""
    check = (meta or {}).get("check")
    inside = check if check else domain_of(kwargs)
    return f"{expectation_type}({inside})" if inside else expectation_type


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str  # label, e.g. expect_column_values_to_be_between(price_usd)
    column: str | None
    severity: str  # critical | warning
    success: bool
    observed_value: Any  # aggregate value, or a sample of unexpected values for per-row expectations
    unexpected_count: int | None
    details: dict = field(default_factory=dict)  # GX's result summary (JSON-safe), plus "error" if it raised
    why: str = ""

    def describe(self) -> str:
        """One line for logs and error messages."""
        where = f" on {self.column}" if self.column else ""
        if "error" in self.details:
            return f"{self.expectation}{where}: could not be evaluated: {self.details['error']}"
        if self.unexpected_count is not None:
            sample = self.observed_value[:SAMPLE_IN_MESSAGE] if isinstance(self.observed_value, list) else self.observed_value
            return f"{self.expectation}{where}: {self.unexpected_count} unexpected value(s), e.g. {json.dumps(sample)}"
        return f"{self.expectation}{where}: observed {json.dumps(self.observed_value)}"


@dataclass
class ValidationOutcome:
    table: str
    suite: str
    interval: Interval | None
    run_id: str | None
    row_count: int
    results: list[ExpectationOutcome]
    validated_at: datetime
    gx_result: dict = field(default_factory=dict, repr=False)  # GX's own JSON, kept for the quarantine report

    @property
    def failed_critical(self) -> list[ExpectationOutcome]:
        return [r for r in self.results if not r.success and r.severity == "critical"]

    @property
    def failed_warnings(self) -> list[ExpectationOutcome]:
        return [r for r in self.results if not r.success and r.severity != "critical"]

    @property
    def success(self) -> bool:
        """No critical expectation failed (warnings never block)."""
        return not self.failed_critical

    def report(self) -> dict:
        """JSON-safe summary saved beside a quarantined batch (``validation.json``)."""
        return to_jsonable(
            {
                "table": self.table,
                "suite": self.suite,
                "interval": None if self.interval is None else {
                    "start": self.interval.start, "end": self.interval.end, "key": self.interval.key,
                },
                "run_id": self.run_id,
                "validated_at": self.validated_at,
                "success": self.success,
                "row_count": self.row_count,
                "failed_critical": [r.expectation for r in self.failed_critical],
                "failed_warnings": [r.expectation for r in self.failed_warnings],
                "results": [
                    {
                        "expectation": r.expectation, "column": r.column, "severity": r.severity,
                        "success": r.success, "observed_value": r.observed_value,
                        "unexpected_count": r.unexpected_count, "why": r.why, "details": r.details,
                    }
                    for r in self.results
                ],
                "great_expectations": self.gx_result,
            }
        )


def _error_message(exception_info: Any) -> str | None:
    """GX puts one dict per failed metric (or one flat dict) here; return the first message."""
    if not isinstance(exception_info, dict) or not exception_info:
        return None
    infos = [exception_info] if "raised_exception" in exception_info else list(exception_info.values())
    for info in infos:
        if isinstance(info, dict) and info.get("raised_exception"):
            return str(info.get("exception_message") or "unknown error")
    return None


def outcome_from_gx(gx_result: Any) -> ExpectationOutcome:
    """One GX ``ExpectationValidationResult`` as an :class:`ExpectationOutcome`."""
    config = gx_result.expectation_config
    kwargs = dict(config.kwargs)
    meta = dict(config.meta or {})
    severity = meta.get("severity") or to_jsonable(getattr(config, "severity", None)) or "critical"
    result = to_jsonable(dict(gx_result.result or {}))
    for key in _NOISY_RESULT_KEYS:
        result.pop(key, None)
    error = _error_message(gx_result.exception_info)
    if error is not None:
        result["error"] = error
    if "observed_value" in result:
        observed = result["observed_value"]
    elif "unexpected_count" in result:
        observed = result.get("partial_unexpected_list", [])
    else:
        observed = {"error": error} if error else None
    unexpected = result.get("unexpected_count")
    return ExpectationOutcome(
        expectation=expectation_label(config.type, kwargs, meta),
        column=domain_of(kwargs),
        severity=str(severity),
        success=bool(gx_result.success) and error is None,
        observed_value=observed,
        unexpected_count=None if unexpected is None else int(unexpected),
        details=result,
        why=str(meta.get("why", "")),
    )


def order_like(outcomes: Iterable[ExpectationOutcome], labels: list[str]) -> list[ExpectationOutcome]:
    """Outcomes in suite order (GX returns them grouped by metric, not as declared)."""
    position = {label: i for i, label in enumerate(labels)}
    return sorted(outcomes, key=lambda o: (position.get(o.expectation, len(position)), o.expectation))


def dq_rows(outcome: ValidationOutcome, *, is_published: bool, table_version: int | None = None) -> pd.DataFrame:
    """``dq_results`` rows (one per expectation) for a validated batch; ``dt`` is left to the writer."""
    if outcome.interval is None or not outcome.run_id:
        raise ValueError(f"table {outcome.table!r}: dq_results rows need the batch's interval and run_id")
    n = len(outcome.results)
    ts = "datetime64[us, UTC]"
    frame = pd.DataFrame(
        {
            "table_name": pd.array([outcome.table] * n, dtype="string"),
            "interval_start_at": pd.Series([outcome.interval.start] * n, dtype=ts),
            "interval_end_at": pd.Series([outcome.interval.end] * n, dtype=ts),
            "suite": pd.array([outcome.suite] * n, dtype="string"),
            "expectation": pd.array([r.expectation for r in outcome.results], dtype="string"),
            "severity": pd.array([r.severity for r in outcome.results], dtype="string"),
            "success": pd.array([r.success for r in outcome.results], dtype="bool"),
            "observed_value": pd.array(
                [json.dumps(r.details, sort_keys=True, allow_nan=False) for r in outcome.results], dtype="string"
            ),
            "unexpected_count": pd.array([r.unexpected_count for r in outcome.results], dtype="Int64"),
            "row_count": pd.array([outcome.row_count] * n, dtype="int64"),
            "is_published": pd.array([is_published] * n, dtype="bool"),
            "run_id": pd.array([outcome.run_id] * n, dtype="string"),
            "validated_at": pd.Series([outcome.validated_at] * n, dtype=ts),
            "table_version": pd.array([table_version] * n, dtype="Int64"),
        }
    )
    return frame[[c for c in DQ_RESULTS.data_columns]]
