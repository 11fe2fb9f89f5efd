"""POST an alert as JSON to a (Slack-compatible) webhook; never raise, never log the URL.

A webhook URL is a credential (Slack's carries its token in the path), so
logs name only the destination's host.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("newsmarkets.alerts")


def redacted(url: str) -> str:
    """``scheme://host`` of ``url``: enough to say where, nothing secret."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}"


def post_json(url: str, payload: dict[str, Any], *, timeout_s: float) -> bool:
    """POST ``payload``; True on a 2xx answer. Failures are logged (without the URL's secret part)."""
    body = json.dumps(payload, default=str).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "newsmarkets-alerts"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 (http(s) only, validated)
            ok = 200 <= response.status < 300
            if not ok:
                log.warning("alert webhook %s answered HTTP %s", redacted(url), response.status)
            return ok
    except urllib.error.HTTPError as exc:
        log.warning("alert webhook %s answered HTTP %s", redacted(url), exc.code)
    except Exception as exc:  # noqa: BLE001 - an alert must never fail the task it reports on
        log.warning("alert webhook %s unreachable: %s", redacted(url), type(exc).__name__)
    return False


def url_from_connection(conn: Any) -> str | None:
    """The webhook URL an Airflow connection holds.

    ``extra.webhook_url`` if set; else a full URL pasted into ``host`` (as
    Slack's own provider accepts); else ``<conn_type>://host[:port]/<schema>``
    for a connection given as a URI (``AIRFLOW_CONN_X='https://hooks.slack.com/services/T/B/X'``:
    conn_type https, host, schema the path).
    """
    extra = getattr(conn, "extra_dejson", None) or {}
    if extra.get("webhook_url"):
        return str(extra["webhook_url"])
    host = getattr(conn, "host", None) or ""
    if host.startswith(("http://", "https://")):
        return host
    if not host:
        return None
    scheme = "http" if getattr(conn, "conn_type", None) == "http" else "https"
    port = f":{conn.port}" if getattr(conn, "port", None) else ""
    path = getattr(conn, "schema", None) or ""
    return f"{scheme}://{host}{port}/{path.lstrip('/')}"
