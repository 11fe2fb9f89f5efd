"""One alert as a flat, JSON-safe dict, built from an Airflow callback context.

Pure functions (no config, network or Airflow imports), so every field can be
tested on inline contexts. Three callers, three context shapes:

* task failure / retry (``on_failure_callback`` / ``on_retry_callback``, in
  the worker): the full template context, ``context["exception"]`` holding
  the exception the task raised (Airflow 3.3 sets it before the callbacks);
* DAG-run failure (``@dag(on_failure_callback=...)``, in the DAG processor):
  ``dag``, ``run_id``, ``reason`` and, when known, the last task's context;
* a missed deadline (in the triggerer): ``{"dag_run": <DAGRunResponse JSON>,
  "deadline": {"id", "deadline_time"}}``.

Kinds: ``task_failed``, ``quarantine`` (a batch failed a critical expectation
and went to ``_quarantine/``), ``dag_run_failed``, ``late_snapshot``.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

TASK_FAILED = "task_failed"
QUARANTINE = "quarantine"
DAG_RUN_FAILED = "dag_run_failed"
LATE_SNAPSHOT = "late_snapshot"

_MAX_ERROR_CHARS = 2000  # a traceback-sized message would drown the chat channel


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _get(obj: Any, name: str) -> Any:
    """``obj.name`` or ``obj[name]``: Airflow hands out both objects and JSON dicts."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _exception_chain(exc: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def quality_gate_error_in(exc: BaseException | None) -> Any:
    """The :class:`~newsmarkets.quality.gate.QualityGateError` behind ``exc``, if any.

    Matched by name and attributes rather than imported, so building a
    message never imports pandas/GX; walks ``raise ... from`` chains because
    a task may wrap the gate's error (``fail_without_retry``).
    """
    for link in _exception_chain(exc):
        if type(link).__name__ == "QualityGateError" and hasattr(link, "quarantine_path"):
            return link
    return None


def _interval(context: Mapping[str, Any], dag_run: Any) -> dict[str, str | None]:
    start = context.get("data_interval_start") or _get(dag_run, "data_interval_start")
    end = context.get("data_interval_end") or _get(dag_run, "data_interval_end")
    return {"start": _iso(start), "end": _iso(end)}


def _dag_id(context: Mapping[str, Any], ti: Any, dag_run: Any) -> str | None:
    return _get(ti, "dag_id") or _get(context.get("dag"), "dag_id") or _get(dag_run, "dag_id")


def _run_id(context: Mapping[str, Any], ti: Any, dag_run: Any) -> str | None:
    return (
        _get(ti, "run_id") or context.get("run_id") or _get(dag_run, "run_id") or _get(dag_run, "dag_run_id")
    )


def run_url(base_url: str | None, dag_id: str | None, run_id: str | None) -> str | None:
    """The Airflow UI page of a DAG run (the same shape as ``ti.log_url`` without the task)."""
    if not base_url or not dag_id or not run_id:
        return None
    return f"{base_url.rstrip('/')}/dags/{dag_id}/runs/{quote(run_id)}"


def _error_text(exc: BaseException | None) -> str | None:
    if exc is None:
        return None
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text if len(text) <= _MAX_ERROR_CHARS else text[: _MAX_ERROR_CHARS - 1] + "…"


def task_failure_alert(context: Mapping[str, Any], *, retrying: bool = False) -> dict[str, Any]:
    """The alert for a failed (or, ``retrying``, a retried) task; a quarantine if the gate raised."""
    ti, dag_run = context.get("ti"), context.get("dag_run")
    exc = context.get("exception")
    dag_id, run_id = _dag_id(context, ti, dag_run), _run_id(context, ti, dag_run)
    alert: dict[str, Any] = {
        "kind": TASK_FAILED,
        "dag_id": dag_id,
        "run_id": run_id,
        "task_id": _get(ti, "task_id") or _get(context.get("task"), "task_id"),
        "try_number": _get(ti, "try_number"),
        "will_retry": retrying,
        "interval": _interval(context, dag_run),
        "error": _error_text(exc if isinstance(exc, BaseException) else None),
        "log_url": _get(ti, "log_url"),
    }
    gate_error = quality_gate_error_in(exc if isinstance(exc, BaseException) else None)
    if gate_error is not None:
        alert.update(quarantine_fields(gate_error))
        alert["kind"] = QUARANTINE
    return alert


def quarantine_fields(gate_error: Any) -> dict[str, Any]:
    """Table, interval, failed critical expectations and quarantine path of a gate's error."""
    outcome = getattr(gate_error, "outcome", None)
    fields: dict[str, Any] = {"quarantine_path": getattr(gate_error, "quarantine_path", None)}
    if outcome is not None:
        fields["table"] = outcome.table
        fields["suite"] = outcome.suite
        fields["row_count"] = outcome.row_count
        fields["failed_expectations"] = [
            {"expectation": r.expectation, "column": r.column, "description": r.describe()}
            for r in outcome.failed_critical
        ]
        if outcome.interval is not None:  # the batch's own interval, the truth for a quarantine
            fields["interval"] = {"start": _iso(outcome.interval.start), "end": _iso(outcome.interval.end)}
    return fields


def dag_run_failure_alert(context: Mapping[str, Any], *, base_url: str | None = None) -> dict[str, Any]:
    """The alert for a failed DAG run (``reason`` is Airflow's, e.g. ``task_failure``)."""
    ti, dag_run = context.get("ti"), context.get("dag_run")
    dag_id, run_id = _dag_id(context, ti, dag_run), _run_id(context, ti, dag_run)
    return {
        "kind": DAG_RUN_FAILED,
        "dag_id": dag_id,
        "run_id": run_id,
        "reason": context.get("reason"),
        "last_task_id": _get(ti, "task_id"),
        "interval": _interval(context, dag_run),
        "log_url": run_url(base_url, dag_id, run_id),
    }


def late_snapshot_alert(context: Mapping[str, Any], *, late_after: str | None = None,
                        base_url: str | None = None) -> dict[str, Any]:
    """The alert for a DAG run that missed its deadline (a live snapshot that has not arrived)."""
    dag_run = context.get("dag_run") or {}
    deadline = context.get("deadline") or {}
    dag_id = _get(dag_run, "dag_id")
    run_id = _get(dag_run, "dag_run_id") or _get(dag_run, "run_id")
    return {
        "kind": LATE_SNAPSHOT,
        "dag_id": dag_id,
        "run_id": run_id,
        "state": _get(dag_run, "state"),
        "interval": _interval({}, dag_run),
        "deadline_time": _iso(_get(deadline, "deadline_time")),
        "late_after": late_after,
        "log_url": run_url(base_url, dag_id, run_id),
    }


# ---------------------------------------------------------------- renderings


def summary(alert: Mapping[str, Any]) -> str:
    """One human line: what broke, where, for which interval."""
    kind, dag_id, run_id = alert.get("kind"), alert.get("dag_id"), alert.get("run_id")
    interval = alert.get("interval") or {}
    span = f"{interval.get('start')} to {interval.get('end')}" if interval.get("start") else "no interval"
    if kind == QUARANTINE:
        failed = alert.get("failed_expectations") or []
        return (f"Quarantined batch of {alert.get('table')} ({span}): {len(failed)} critical expectation(s) "
                f"failed in {dag_id}.{alert.get('task_id')}, run {run_id}")
    if kind == TASK_FAILED:
        verb = "failed, will retry" if alert.get("will_retry") else "failed"
        return f"Task {dag_id}.{alert.get('task_id')} {verb} ({span}), run {run_id}"
    if kind == DAG_RUN_FAILED:
        return f"DAG run {dag_id} failed ({span}), run {run_id}: {alert.get('reason')}"
    if kind == LATE_SNAPSHOT:
        return (f"Late: {dag_id} run {run_id} ({span}) has not succeeded by its deadline "
                f"{alert.get('deadline_time')} (state {alert.get('state')})")
    return f"{kind}: {dag_id} run {run_id}"


def _detail_lines(alert: Mapping[str, Any]) -> list[str]:
    lines = []
    for expectation in alert.get("failed_expectations") or []:
        lines.append(f"• {expectation['description']}")
    for key in ("quarantine_path", "error", "log_url"):
        if alert.get(key):
            lines.append(f"{key.replace('_', ' ')}: {alert[key]}")
    return lines


def webhook_payload(alert: Mapping[str, Any]) -> dict[str, Any]:
    """Slack-compatible body: a top-level ``text`` Slack shows, plus every structured field."""
    text = "\n".join([f"[newsmarkets] {summary(alert)}", *_detail_lines(alert)])
    return {"text": text, **alert}


def email_subject(alert: Mapping[str, Any]) -> str:
    return f"[newsmarkets] {summary(alert)}"[:250]


def email_html(alert: Mapping[str, Any]) -> str:
    """A small HTML table of the alert's fields, every value escaped."""

    def cell(value: Any) -> str:
        if isinstance(value, list):
            items = (v.get("description", v) if isinstance(v, Mapping) else v for v in value)
            return "<ul>" + "".join(f"<li>{html.escape(str(i))}</li>" for i in items) + "</ul>"
        if isinstance(value, Mapping):
            return html.escape(", ".join(f"{k}: {v}" for k, v in value.items()))
        text = html.escape(str(value))
        return f'<a href="{text}">{text}</a>' if isinstance(value, str) and value.startswith("http") else text

    rows = "".join(
        f"<tr><th align='left'>{html.escape(key)}</th><td>{cell(value)}</td></tr>"
        for key, value in alert.items() if value not in (None, "", [])
    )
    return f"<p>{html.escape(summary(alert))}</p><table>{rows}</table>"
