"""What DAGs wire in: a notifier for task and DAG-run failures, and the late-snapshot callback.

Both are cheap to build at parse time (no config, no I/O); the config's
``alerts:`` section is read when they fire, so alerts stay off until it names
a destination, with no DAG change.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, Literal

from airflow.sdk import BaseNotifier

from newsmarkets.alerts import message

log = logging.getLogger("newsmarkets.alerts")

Event = Literal["task_failure", "task_retry", "dag_run_failure"]


def _base_url() -> str | None:
    """The Airflow UI's base URL (``[api] base_url``), for links to DAG runs."""
    try:
        from airflow.sdk.configuration import conf

        return conf.get("api", "base_url", fallback=None)
    except Exception:  # noqa: BLE001
        return None


def alert_for(event: Event, context: Mapping[str, Any], cfg: Any) -> dict[str, Any] | None:
    """The alert ``event`` calls for under ``cfg`` (an ``AlertsConfig``), or None.

    A retried try is reported only when it quarantined a batch: each try of a
    failing publish quarantines its own batch, and each one is news; other
    errors are reported once, when the task has failed for good.
    """
    if event == "dag_run_failure":
        return message.dag_run_failure_alert(context, base_url=_base_url()) if cfg.on_dag_run_failure else None
    alert = message.task_failure_alert(context, retrying=event == "task_retry")
    if alert["kind"] == message.QUARANTINE:
        return alert if cfg.on_quarantine else None
    return alert if event == "task_failure" and cfg.on_task_failure else None


class AlertNotifier(BaseNotifier):
    """``on_failure_callback`` / ``on_retry_callback`` of tasks and DAG runs: send the alert, if configured."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event

    def notify(self, context: Any) -> None:
        from newsmarkets.alerts.deliver import alerts_config, send_alert

        cfg = alerts_config()
        if cfg is None or not cfg.enabled:
            return
        try:
            alert = alert_for(self.event, context, cfg)
        except Exception:  # noqa: BLE001 - a malformed context must not mask the task's own error
            log.exception("alerts: could not build the %s alert", self.event)
            return
        if alert is not None:
            send_alert(alert, cfg, context)


async def late_snapshot(context: dict[str, Any] | None = None, late_after: str | None = None, **_: Any) -> None:
    """Deadline-alert callback (runs in the triggerer): a DAG run has not succeeded in time.

    Airflow passes ``context`` (the run as JSON and the deadline); delivery is
    blocking I/O, so it runs in a thread to keep the triggerer's loop free.
    Returns None: Airflow 3.3 stores a callback's return value in
    ``callback.output``, and a dict there crashes the triggerer
    ("can't adapt type 'dict'", measured on the distributed stack).
    """
    sent = await asyncio.to_thread(send_late_snapshot, context or {}, late_after)
    log.info("late-snapshot alert: %s", sent or "alerts off")


def send_late_snapshot(context: Mapping[str, Any], late_after: str | None = None) -> dict:
    from newsmarkets.alerts.deliver import alerts_config, send_alert

    cfg = alerts_config()
    if cfg is None or not cfg.enabled or not cfg.on_late_snapshot:
        return {}
    alert = message.late_snapshot_alert(context, late_after=late_after, base_url=_base_url())
    return send_alert(alert, cfg, context)
