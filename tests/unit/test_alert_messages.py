"""Alert messages built from inline Airflow contexts (pure: no network, no config file)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from newsmarkets.alerts import message
from newsmarkets.alerts.notifier import alert_for
from newsmarkets.alerts.webhook import redacted, url_from_connection
from newsmarkets.config import AlertsConfig, ConfigError, parse_config
from newsmarkets.intervals import Interval
from newsmarkets.quality.gate import QualityGateError
from newsmarkets.quality.results import ExpectationOutcome, ValidationOutcome

HOUR = Interval(datetime(2026, 1, 5, 10, tzinfo=timezone.utc), datetime(2026, 1, 5, 11, tzinfo=timezone.utc))
TI = SimpleNamespace(dag_id="news_ingest", task_id="validate", run_id="manual__1", try_number=2,
                     log_url="http://af/dags/news_ingest/runs/manual__1/tasks/validate?try_number=2")


def gate_error() -> QualityGateError:
    failed = ExpectationOutcome("expect_column_values_to_not_be_null(url)", "url", "critical", False, ["x"], 3)
    passed = ExpectationOutcome("expect_table_row_count_to_be_between", None, "critical", True, 5, None)
    warned = ExpectationOutcome("expect_column_values_to_match_regex(title)", "title", "warning", False, [], 1)
    outcome = ValidationOutcome("articles", "articles_suite", HOUR, "manual__1", 5, [failed, passed, warned],
                                datetime(2026, 1, 5, 11, 1, tzinfo=timezone.utc))
    return QualityGateError.for_outcome(outcome, "/wh/_quarantine/articles/dt=2026-01-05/manual__1")


def context(exc: BaseException | None) -> dict:
    return {"ti": TI, "exception": exc, "data_interval_start": HOUR.start, "data_interval_end": HOUR.end}


def test_task_failure_alert_carries_where_when_and_why():
    alert = message.task_failure_alert(context(ValueError("bad html")))
    assert alert == {
        "kind": "task_failed", "dag_id": "news_ingest", "run_id": "manual__1", "task_id": "validate",
        "try_number": 2, "will_retry": False,
        "interval": {"start": "2026-01-05T10:00:00+00:00", "end": "2026-01-05T11:00:00+00:00"},
        "error": "ValueError: bad html", "log_url": TI.log_url,
    }
    assert message.summary(alert) == (
        "Task news_ingest.validate failed (2026-01-05T10:00:00+00:00 to 2026-01-05T11:00:00+00:00), run manual__1")


def test_a_quality_gate_error_makes_a_quarantine_alert_even_when_wrapped():
    error = gate_error()
    try:
        raise RuntimeError("publish failed") from error
    except RuntimeError as wrapped:
        alert = message.task_failure_alert(context(wrapped))
    assert alert["kind"] == "quarantine"
    assert alert["table"] == "articles" and alert["suite"] == "articles_suite" and alert["row_count"] == 5
    assert alert["quarantine_path"] == "/wh/_quarantine/articles/dt=2026-01-05/manual__1"
    assert alert["failed_expectations"] == [{  # critical failures only, not the warning
        "expectation": "expect_column_values_to_not_be_null(url)", "column": "url",
        "description": 'expect_column_values_to_not_be_null(url) on url: 3 unexpected value(s), e.g. ["x"]',
    }]
    assert alert["log_url"] == TI.log_url
    assert message.summary(alert).startswith("Quarantined batch of articles (2026-01-05T10:00:00+00:00 to")


def test_dag_run_failure_alert_links_the_run():
    alert = message.dag_run_failure_alert(
        {"dag": SimpleNamespace(dag_id="prices_history"), "run_id": "backfill__2024-10-15T00:00:00+00:00",
         "reason": "task_failure"}, base_url="http://af:8080/")
    assert alert["kind"] == "dag_run_failed" and alert["reason"] == "task_failure"
    assert alert["log_url"] == "http://af:8080/dags/prices_history/runs/backfill__2024-10-15T00%3A00%3A00%2B00%3A00"


def test_late_snapshot_alert_from_the_deadline_context():
    alert = message.late_snapshot_alert({
        "dag_run": {"dag_id": "prices_snapshot", "dag_run_id": "scheduled__x", "state": "queued",
                    "data_interval_start": "2026-01-05T10:00:00Z", "data_interval_end": "2026-01-05T10:05:00Z"},
        "deadline": {"id": "d1", "deadline_time": datetime(2026, 1, 5, 10, 15, tzinfo=timezone.utc)},
    }, late_after="15 min after the slot's start")
    assert alert["deadline_time"] == "2026-01-05T10:15:00+00:00"
    assert alert["interval"] == {"start": "2026-01-05T10:00:00Z", "end": "2026-01-05T10:05:00Z"}
    assert (alert["dag_id"], alert["run_id"], alert["state"]) == ("prices_snapshot", "scheduled__x", "queued")
    assert message.summary(alert).startswith("Late: prices_snapshot run scheduled__x")


def test_webhook_payload_is_slack_text_plus_json_safe_fields():
    payload = message.webhook_payload(message.task_failure_alert(context(gate_error())))
    assert payload["text"].startswith("[newsmarkets] Quarantined batch of articles")
    assert "• expect_column_values_to_not_be_null(url) on url" in payload["text"]
    assert "quarantine path: /wh/_quarantine/articles" in payload["text"]
    assert json.loads(json.dumps(payload)) == payload


def test_email_body_escapes_what_it_shows():
    alert = message.task_failure_alert(context(ValueError("<script>{{ boom }}</script>")))
    body = message.email_html(alert)
    assert "<script>" not in body and "&lt;script&gt;{{ boom }}&lt;/script&gt;" in body
    assert f'<a href="{TI.log_url}">' in body


@pytest.mark.parametrize(("event", "exc", "kind"), [
    ("task_failure", ValueError("x"), "task_failed"),
    ("task_retry", ValueError("x"), None),  # an ordinary error is reported once, when final
    ("task_retry", gate_error(), "quarantine"),  # every quarantined batch is
    ("task_failure", gate_error(), "quarantine"),
])
def test_which_events_alert(event, exc, kind):
    alert = alert_for(event, context(exc), AlertsConfig(webhook_url="http://127.0.0.1/x"))
    assert (alert or {}).get("kind") == kind


def test_switches_silence_their_kind():
    cfg = AlertsConfig(webhook_url="http://127.0.0.1/x", on_quarantine=False, on_dag_run_failure=False)
    assert alert_for("task_failure", context(gate_error()), cfg) is None
    assert alert_for("dag_run_failure", {"run_id": "r"}, cfg) is None


def test_webhook_url_from_a_connection_and_its_redaction():
    conn = lambda **k: SimpleNamespace(**{"extra_dejson": {}, "host": None, "port": None, "schema": None,  # noqa: E731
                                          "conn_type": "https", **k})
    assert url_from_connection(conn(extra_dejson={"webhook_url": "https://h/x"})) == "https://h/x"
    assert url_from_connection(conn(host="https://hooks.slack.com/services/T/B/X")) == "https://hooks.slack.com/services/T/B/X"
    assert url_from_connection(conn(conn_type="http", host="127.0.0.1", port=8080, schema="hook/a")) == "http://127.0.0.1:8080/hook/a"
    assert url_from_connection(conn()) is None
    assert redacted("https://hooks.slack.com/services/T/B/s3cret") == "https://hooks.slack.com"


def _cfg(alerts):
    return parse_config({"warehouse": "w", "prices": {"provider": "coingecko", "base_url": "http://x/api",
                                                      "assets": ["bitcoin"]}, "alerts": alerts})


def test_alerts_config_is_off_by_default_and_validated():
    assert not _cfg(None).alerts.enabled
    cfg = _cfg({"webhook_conn_id": "slack_alerts", "email_to": ["a@b.org"]}).alerts
    assert cfg.enabled and cfg.email_to == ("a@b.org",) and cfg.smtp_conn_id == "smtp_default"
    with pytest.raises(ConfigError, match=r"alerts: .*not both"):
        _cfg({"webhook_conn_id": "c", "webhook_url": "https://h/x"})
    with pytest.raises(ConfigError, match=r"alerts.email_to\[0\]: expected an e-mail address"):
        _cfg({"email_to": ["nobody"]})
    with pytest.raises(ConfigError, match=r"alerts.webhook: unknown key"):
        _cfg({"webhook": "https://h/x"})
