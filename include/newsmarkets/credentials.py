"""Secrets from Airflow connections, with environment variables as the documented fallback.

The provider key and the S3 credentials are looked up as Airflow connections
first, so ``AIRFLOW_CONN_<ID>`` variables, any configured secrets backend
(Vault, AWS Secrets Manager…) and, inside a task, connections stored in
Airflow's database all serve them; Airflow also masks a connection's password
in task logs. When no connection of that id exists, the environment variables
the project always read (``COINGECKO_API_KEY``, ``AWS_*``,
``NEWSMARKETS_S3_ENDPOINT_URL``) still work.

Connections (ids are configurable; these are the defaults):

* ``newsmarkets_prices``: the provider key is the connection's password (or
  its extra ``api_key``); any conn type, e.g.
  ``AIRFLOW_CONN_NEWSMARKETS_PRICES='{"conn_type": "http", "password": "<key>"}'``.
* ``newsmarkets_s3``: conn type ``aws`` as Airflow's Amazon provider reads it:
  login = access key id, password = secret access key, extra ``endpoint_url``
  (or ``service_config.s3.endpoint_url``), ``region_name``, ``aws_session_token``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

PRICES_CONN_ID = "newsmarkets_prices"
S3_CONN_ID = "newsmarkets_s3"
S3_ENDPOINT_ENV = "NEWSMARKETS_S3_ENDPOINT_URL"


class CredentialsError(RuntimeError):
    """A connection exists but cannot be used; the message names it (never its secret)."""


def airflow_connection(conn_id: str | None) -> Any | None:
    """The Airflow connection ``conn_id``; None when it is not defined anywhere Airflow looks."""
    if not conn_id:
        return None
    try:
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowNotFoundException
    except ImportError:  # the package used without Airflow (e.g. a BI machine): environment only
        return None
    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None


def _extra(conn: Any, conn_id: str) -> dict:
    extra = conn.extra_dejson if conn.extra else {}
    if not isinstance(extra, dict):
        raise CredentialsError(f"Airflow connection {conn_id!r}: extra must be a JSON object")
    return extra


def provider_api_key(conn_id: str | None, env_var: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """The price provider's key: connection ``conn_id``'s password (or extra ``api_key``), else ``$env_var``."""
    conn = airflow_connection(conn_id)
    if conn is not None:
        key = conn.password or _extra(conn, conn_id).get("api_key")
        if key:
            return str(key)
    env = os.environ if env is None else env
    return (env.get(env_var) or None) if env_var else None


def s3_storage_options(conn_id: str | None = S3_CONN_ID, env: Mapping[str, str] | None = None) -> dict:
    """fsspec/s3fs options: connection ``conn_id`` where it says something, the ``AWS_*`` environment otherwise."""
    env = os.environ if env is None else env
    conn = airflow_connection(conn_id)
    extra = _extra(conn, conn_id) if conn is not None else {}
    if conn is not None and bool(conn.login) != bool(conn.password):
        raise CredentialsError(f"Airflow connection {conn_id!r} needs both login (access key id) and password (secret key)")
    options: dict = {}
    endpoint = (extra.get("endpoint_url") or (extra.get("service_config") or {}).get("s3", {}).get("endpoint_url")
                or env.get(S3_ENDPOINT_ENV))
    if endpoint:
        options["endpoint_url"] = endpoint
    if conn is not None and conn.login:
        options["key"], options["secret"] = conn.login, conn.password
        token = extra.get("aws_session_token")
    else:
        if env.get("AWS_ACCESS_KEY_ID"):
            options["key"] = env["AWS_ACCESS_KEY_ID"]
        if env.get("AWS_SECRET_ACCESS_KEY"):
            options["secret"] = env["AWS_SECRET_ACCESS_KEY"]
        token = env.get("AWS_SESSION_TOKEN")
    if token:
        options["token"] = token
    if extra.get("region_name"):
        options["client_kwargs"] = {"region_name": extra["region_name"]}
    return options
