"""Alerts delivered for real: a local webhook receiver and a local SMTP server get each message.

The notifier and the deadline callback are called the way Airflow 3.3 calls
them (a task context whose ``exception`` is what the task raised; the
deadline's ``{"dag_run": ..., "deadline": ...}``), with the config read from
``$NEWSMARKETS_CONFIG`` and the webhook URL and SMTP server from Airflow
connections given as ``AIRFLOW_CONN_*`` environment variables. The
quarantine alert comes from the real quality gate quarantining a bad batch.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml
from alertkit import LocalSmtp, LocalWebhook

from newsmarkets.alerts.notifier import AlertNotifier, late_snapshot
from newsmarkets.config import BUNDLED_CONFIG
from newsmarkets.intervals import Interval

SLOT = Interval(datetime(2026, 1, 5, 10, 0, tzinfo=timezone.utc), datetime(2026, 1, 5, 10, 5, tzinfo=timezone.utc))
RUN_ID = "scheduled__2026-01-05T10:00:00+00:00"
LOG_URL = "http://airflow.test:8080/dags/prices_snapshot/runs/scheduled__2026-01-05T10%3A00%3A00%2B00%3A00/tasks/publish?try_number=3"
SECRET_PATH = "/services/T000/B000/s3cr3tT0ken"


@pytest.fixture
def receivers(tmp_path, monkeypatch):
    """Webhook + SMTP receivers, and a config whose ``alerts:`` points at them through connections."""
    with LocalWebhook() as hook, LocalSmtp() as smtp:
        monkeypatch.setenv("AIRFLOW_CONN_NM_ALERT_HOOK", hook.url(SECRET_PATH))
        monkeypatch.setenv("AIRFLOW_CONN_NM_ALERT_SMTP", smtp.connection_uri_env())
        write_config(tmp_path, monkeypatch, {
            "webhook_conn_id": "nm_alert_hook",
            "email_to": ["oncall@example.org", "data@example.org"],
            "email_from": "newsmarkets@example.org",
            "smtp_conn_id": "nm_alert_smtp",
        })
        yield hook, smtp


def write_config(tmp_path: Path, monkeypatch, alerts: dict | None) -> None:
    raw = yaml.safe_load(BUNDLED_CONFIG.read_text())
    raw["warehouse"] = str(tmp_path / "warehouse")
    if alerts is not None:
        raw["alerts"] = alerts
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("NEWSMARKETS_CONFIG", str(path))


def task_context(exception: BaseException, task_id: str = "publish") -> dict:
    ti = SimpleNamespace(dag_id="prices_snapshot", task_id=task_id, run_id=RUN_ID, try_number=3,
                         log_url=LOG_URL)
    return {"ti": ti, "task_instance": ti, "run_id": RUN_ID, "exception": exception,
            "data_interval_start": SLOT.start, "data_interval_end": SLOT.end,
            "dag_run": SimpleNamespace(dag_id="prices_snapshot", run_id=RUN_ID)}


def quarantined_batch(tmp_path: Path):
    """A real QualityGateError: the gate quarantines a price batch with a negative price."""
    from newsmarkets.quality.gate import QualityGateError, publish_if_valid
    from newsmarkets.quality.suites import price_snapshots_suite
    from newsmarkets.warehouse.writer import Warehouse

    ts = lambda values: pd.Series(pd.to_datetime(values, utc=True)).astype("datetime64[us, UTC]")  # noqa: E731
    assets = ["bitcoin", "ethereum"]
    batch = pd.DataFrame({
        "asset_id": pd.array(assets, dtype="string"),
        "symbol": pd.array(["btc", "eth"], dtype="string"),
        "name": pd.array(["Bitcoin", "Ethereum"], dtype="string"),
        "price_usd": pd.array([-4.0, 3000.0], dtype="Float64"),
        "market_cap_usd": pd.array([1e9, 1e9], dtype="Float64"),
        "volume_24h_usd": pd.array([1e6, 1e6], dtype="Float64"),
        "change_24h_pct": pd.array([2.5, 2.5], dtype="Float64"),
        "observed_at": ts([SLOT.start, SLOT.start + timedelta(seconds=7)]),
        "snapshot_at": ts([SLOT.end] * 2),
        "source": pd.array(["markets"] * 2, dtype="string"),
        "ingested_at": ts([SLOT.end + timedelta(seconds=3)] * 2),
    })
    suite = price_snapshots_suite(interval=SLOT, expected_assets=2, tolerance=timedelta(minutes=15), source="markets")
    with pytest.raises(QualityGateError) as caught:
        publish_if_valid(Warehouse(str(tmp_path / "warehouse")), "price_snapshots", batch, SLOT, RUN_ID, suite)
    return caught.value


def test_task_failure_reaches_webhook_and_mailbox(receivers):
    hook, smtp = receivers
    AlertNotifier("task_failure")(task_context(ConnectionError("provider unreachable"), task_id="fetch"))

    (payload,) = hook.wait_for(1)
    assert hook.paths == [SECRET_PATH]  # the URL came from the connection, path and all
    assert payload["kind"] == "task_failed"
    assert (payload["dag_id"], payload["run_id"], payload["task_id"]) == ("prices_snapshot", RUN_ID, "fetch")
    assert payload["interval"] == {"start": SLOT.start.isoformat(), "end": SLOT.end.isoformat()}
    assert payload["error"] == "ConnectionError: provider unreachable"
    assert payload["log_url"] == LOG_URL
    assert payload["text"].startswith("[newsmarkets] Task prices_snapshot.fetch failed")

    (mail,) = smtp.wait_for(1)
    assert mail.mail_from == "newsmarkets@example.org"
    assert mail.recipients == ["oncall@example.org", "data@example.org"]
    assert "Task prices_snapshot.fetch failed" in mail.subject
    assert "provider unreachable" in mail.html and LOG_URL.replace("&", "&amp;") in mail.html


def test_quarantined_batch_alert_names_table_interval_expectations_path_and_log(receivers, tmp_path):
    from airflow.sdk.exceptions import AirflowFailException

    hook, smtp = receivers
    gate_error = quarantined_batch(tmp_path)
    try:  # a task may wrap the gate's error; the alert still finds it
        raise AirflowFailException(str(gate_error)) from gate_error
    except AirflowFailException as wrapped:
        raised = wrapped
    AlertNotifier("task_retry")(task_context(raised))  # every quarantined try is reported

    (payload,) = hook.wait_for(1)
    assert payload["kind"] == "quarantine"
    assert payload["table"] == "price_snapshots"
    assert payload["interval"] == {"start": SLOT.start.isoformat(), "end": SLOT.end.isoformat()}
    assert payload["quarantine_path"] == gate_error.quarantine_path and "_quarantine" in payload["quarantine_path"]
    assert payload["log_url"] == LOG_URL
    failed = {e["expectation"]: e for e in payload["failed_expectations"]}
    assert "expect_column_values_to_be_between(price_usd)" in failed
    assert "[-4.0]" in failed["expect_column_values_to_be_between(price_usd)"]["description"]
    assert payload["will_retry"] is True
    assert "Quarantined batch of price_snapshots" in payload["text"] and gate_error.quarantine_path in payload["text"]

    (mail,) = smtp.wait_for(1)
    assert "Quarantined batch of price_snapshots" in mail.subject
    assert gate_error.quarantine_path in mail.html
    assert "expect_column_values_to_be_between(price_usd)" in mail.html


def test_retry_of_an_ordinary_error_is_not_reported(receivers):
    hook, smtp = receivers
    AlertNotifier("task_retry")(task_context(TimeoutError("slow")))
    AlertNotifier("task_failure")(task_context(TimeoutError("slow")))  # the final failure is
    assert [p["kind"] for p in hook.wait_for(1)] == ["task_failed"]
    assert len(smtp.wait_for(1)) == 1


def test_dag_run_failure_reaches_both(receivers):
    hook, smtp = receivers
    from airflow.sdk import DAG

    dag = DAG("news_ingest", schedule=None)  # the DAG processor passes the parsed DAG
    AlertNotifier("dag_run_failure")({"dag": dag, "run_id": RUN_ID, "reason": "task_failure"})

    (payload,) = hook.wait_for(1)
    assert (payload["kind"], payload["dag_id"], payload["run_id"], payload["reason"]) == (
        "dag_run_failed", "news_ingest", RUN_ID, "task_failure")
    assert "DAG run news_ingest failed" in smtp.wait_for(1)[0].subject


def test_late_snapshot_deadline_callback_reaches_both(receivers):
    """Called as the triggerer's CallbackTrigger calls it: kwargs plus Airflow's simple context."""
    hook, smtp = receivers
    context = {
        "dag_run": {"dag_id": "prices_snapshot", "dag_run_id": RUN_ID, "state": "running",
                    "logical_date": SLOT.start.isoformat(), "data_interval_start": SLOT.start.isoformat(),
                    "data_interval_end": SLOT.end.isoformat()},
        "deadline": {"id": "0199", "deadline_time": SLOT.start + timedelta(minutes=15)},
    }
    # None: Airflow stores the return value in callback.output, where a dict crashes the triggerer.
    assert asyncio.run(late_snapshot(context=context, late_after="15 min after the slot's start")) is None

    (payload,) = hook.wait_for(1)
    assert payload["kind"] == "late_snapshot"
    assert (payload["dag_id"], payload["run_id"], payload["state"]) == ("prices_snapshot", RUN_ID, "running")
    assert payload["deadline_time"] == (SLOT.start + timedelta(minutes=15)).isoformat()
    assert payload["interval"]["start"] == SLOT.start.isoformat()
    assert payload["late_after"] == "15 min after the slot's start"
    (mail,) = smtp.wait_for(1)
    assert mail.subject.startswith("[newsmarkets] Late: prices_snapshot")


def test_alerts_are_off_without_a_destination(tmp_path, monkeypatch):
    with LocalWebhook() as hook:
        write_config(tmp_path, monkeypatch, None)  # the demo's config: no alerts section
        AlertNotifier("task_failure")(task_context(RuntimeError("boom")))
        assert asyncio.run(late_snapshot(context={"dag_run": {}, "deadline": {}})) is None
        with pytest.raises(AssertionError):
            hook.wait_for(1, timeout_s=0.3)


def test_a_failing_webhook_is_logged_without_its_secret_and_never_raises(tmp_path, monkeypatch, caplog):
    with LocalWebhook(status=500) as hook:
        write_config(tmp_path, monkeypatch, {"webhook_url": hook.url(SECRET_PATH)})
        with caplog.at_level(logging.INFO, logger="newsmarkets.alerts"):
            AlertNotifier("task_failure")(task_context(RuntimeError("boom")))
        assert len(hook.wait_for(1)) == 1
    assert "HTTP 500" in caplog.text and "webhook FAILED" in caplog.text
    assert "s3cr3tT0ken" not in caplog.text and "/services/" not in caplog.text


def test_an_unreachable_smtp_server_never_raises(tmp_path, monkeypatch, caplog):
    with LocalSmtp() as smtp:
        port = smtp.port
    monkeypatch.setenv("AIRFLOW_CONN_NM_DEAD_SMTP", f'{{"conn_type": "smtp", "host": "127.0.0.1", "port": {port}, '
                                                   '"extra": {"disable_ssl": true, "disable_tls": true, "timeout": 2, "retry_limit": 0}}')
    write_config(tmp_path, monkeypatch, {"email_to": ["oncall@example.org"], "email_from": "nm@example.org",
                                         "smtp_conn_id": "nm_dead_smtp"})
    with caplog.at_level(logging.INFO, logger="newsmarkets.alerts"):
        AlertNotifier("task_failure")(task_context(RuntimeError("boom")))
    assert "email FAILED" in caplog.text
