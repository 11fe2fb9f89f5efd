"""Send an alert by e-mail through Airflow's SMTP provider (its ``SmtpNotifier``).

Server, port, TLS and credentials are the Airflow connection's
(``alerts.smtp_conn_id``, default ``smtp_default``); recipients and sender
are the config's. Subject and body are given in full, so the notifier sends
them as they are (no Jinja rendering of error text that may contain braces).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from newsmarkets.alerts.message import email_html, email_subject

log = logging.getLogger("newsmarkets.alerts")


def send_email(alert: Mapping[str, Any], *, to: tuple[str, ...], from_email: str | None,
               smtp_conn_id: str, context: Mapping[str, Any] | None = None) -> bool:
    """True when the SMTP server accepted the message; failures are logged, never raised."""
    try:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        notifier = SmtpNotifier(
            to=list(to), from_email=from_email, smtp_conn_id=smtp_conn_id,
            subject=email_subject(alert), html_content=email_html(alert),
        )
        notifier.notify(dict(context or {}))  # notify(), not __call__: no template rendering
        return True
    except Exception as exc:  # noqa: BLE001 - an alert must never fail the task it reports on
        log.warning("alert e-mail via connection %r failed: %s: %s", smtp_conn_id, type(exc).__name__, exc)
        return False
