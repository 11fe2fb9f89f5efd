"""Send one alert to every destination the config's ``alerts:`` section names.

The config is read here, when an alert fires (in the worker, DAG processor
or triggerer), never at DAG parse time. Nothing raises: a broken alert
channel is logged and the task's own outcome stands.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from newsmarkets.alerts.message import webhook_payload
from newsmarkets.alerts.webhook import post_json, url_from_connection
from newsmarkets.config import AlertsConfig

log = logging.getLogger("newsmarkets.alerts")


def alerts_config() -> AlertsConfig | None:
    """The ``alerts:`` section of ``$NEWSMARKETS_CONFIG``; None (logged) if the config cannot be read."""
    from newsmarkets.config import load_config

    try:
        return load_config().alerts
    except Exception as exc:  # noqa: BLE001
        log.warning("alerts: config unreadable, nothing sent: %s", exc)
        return None


def webhook_url(cfg: AlertsConfig) -> str | None:
    if cfg.webhook_url:
        return cfg.webhook_url
    if not cfg.webhook_conn_id:
        return None
    try:
        from airflow.sdk import BaseHook

        url = url_from_connection(BaseHook.get_connection(cfg.webhook_conn_id))
    except Exception as exc:  # noqa: BLE001
        log.warning("alerts: webhook connection %r unusable: %s", cfg.webhook_conn_id, type(exc).__name__)
        return None
    if not url:
        log.warning("alerts: webhook connection %r has no host or extra webhook_url", cfg.webhook_conn_id)
    return url


def send_alert(alert: Mapping[str, Any], cfg: AlertsConfig, context: Mapping[str, Any] | None = None) -> dict[str, bool]:
    """Deliver ``alert``; returns ``{"webhook": ok, "email": ok}`` for the channels configured."""
    sent: dict[str, bool] = {}
    if cfg.webhook_url or cfg.webhook_conn_id:
        url = webhook_url(cfg)
        sent["webhook"] = bool(url) and post_json(url, webhook_payload(alert), timeout_s=cfg.timeout_s)
    if cfg.email_to:
        from newsmarkets.alerts.mail import send_email

        sent["email"] = send_email(alert, to=cfg.email_to, from_email=cfg.email_from,
                                   smtp_conn_id=cfg.smtp_conn_id, context=context)
    log.info("alert %s for %s run %s: %s", alert.get("kind"), alert.get("dag_id"), alert.get("run_id"),
             ", ".join(f"{k} {'sent' if ok else 'FAILED'}" for k, ok in sent.items()) or "no destination")
    return sent
