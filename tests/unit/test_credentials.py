"""Secrets come from Airflow connections first, environment variables second.

The connections are real Airflow lookups: ``AIRFLOW_CONN_<ID>`` variables in
this process, and (in a fresh interpreter, since Airflow reads its secrets
config once) a configured secrets backend: Airflow's own local-file backend.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from newsmarkets.config import load_config
from newsmarkets.credentials import CredentialsError, provider_api_key, s3_storage_options
from newsmarkets.warehouse.storage import storage_options, storage_options_from_env
from newsmarkets.warehouse.writer import Warehouse

S3_CONN = {"conn_type": "aws", "login": "AKIA-conn", "password": "secret-from-conn",
           "extra": {"endpoint_url": "http://127.0.0.1:9100", "region_name": "eu-west-1"}}
AWS_ENV = {"NEWSMARKETS_S3_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_ACCESS_KEY_ID": "AKIA-env",
           "AWS_SECRET_ACCESS_KEY": "secret-from-env", "AWS_SESSION_TOKEN": "tok-env"}


@pytest.fixture(autouse=True)
def no_ambient_connections(monkeypatch):
    for name in list(os.environ):
        if name.startswith("AIRFLOW_CONN_NEWSMARKETS") or name in AWS_ENV or name == "COINGECKO_API_KEY":
            monkeypatch.delenv(name)


def test_provider_key_from_connection_password(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_NEWSMARKETS_PRICES", json.dumps({"conn_type": "http", "password": "cg-conn-key"}))
    monkeypatch.setenv("COINGECKO_API_KEY", "cg-env-key")
    assert provider_api_key("newsmarkets_prices", "COINGECKO_API_KEY") == "cg-conn-key"


def test_provider_key_from_connection_extra(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_NEWSMARKETS_PRICES", json.dumps({"conn_type": "http", "extra": {"api_key": "cg-extra"}}))
    assert provider_api_key("newsmarkets_prices", None) == "cg-extra"


def test_provider_key_falls_back_to_the_environment(monkeypatch):
    monkeypatch.setenv("COINGECKO_API_KEY", "cg-env-key")
    assert provider_api_key("newsmarkets_prices", "COINGECKO_API_KEY") == "cg-env-key"
    # A connection without a key (compose with an empty COINGECKO_API_KEY) is not a key either.
    monkeypatch.setenv("AIRFLOW_CONN_NEWSMARKETS_PRICES", json.dumps({"conn_type": "http"}))
    assert provider_api_key("newsmarkets_prices", "COINGECKO_API_KEY") == "cg-env-key"
    monkeypatch.delenv("COINGECKO_API_KEY")
    assert provider_api_key("newsmarkets_prices", "COINGECKO_API_KEY") is None
    assert provider_api_key(None, None) is None


def test_config_reads_the_key_through_its_connection_id(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_MY_CG", json.dumps({"conn_type": "http", "password": "via-config"}))
    cfg = load_config()
    assert cfg.prices.api_key_conn_id == "newsmarkets_prices" and cfg.prices.api_key is None
    from dataclasses import replace

    assert replace(cfg.prices, api_key_conn_id="my_cg").api_key == "via-config"


def test_s3_options_from_connection_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_NEWSMARKETS_S3", json.dumps(S3_CONN))
    options = s3_storage_options("newsmarkets_s3", AWS_ENV)
    assert options == {"endpoint_url": "http://127.0.0.1:9100", "key": "AKIA-conn", "secret": "secret-from-conn",
                       "client_kwargs": {"region_name": "eu-west-1"}}
    assert storage_options("s3://bucket/wh", "newsmarkets_s3", AWS_ENV) == options
    assert storage_options("/tmp/local-wh", "newsmarkets_s3", AWS_ENV) == {}


def test_s3_connection_endpoint_in_service_config_and_env_fallback_per_part(monkeypatch):
    conn = {"conn_type": "aws", "login": "AK", "password": "SK-secret",
            "extra": {"service_config": {"s3": {"endpoint_url": "http://minio:9000"}}, "aws_session_token": "t"}}
    monkeypatch.setenv("AIRFLOW_CONN_NEWSMARKETS_S3", json.dumps(conn))
    assert s3_storage_options("newsmarkets_s3", {}) == {
        "endpoint_url": "http://minio:9000", "key": "AK", "secret": "SK-secret", "token": "t"}
    # Keys only in the connection, endpoint only in the environment: both are used.
    monkeypatch.setenv("AIRFLOW_CONN_NEWSMARKETS_S3", json.dumps({"conn_type": "aws", "login": "AK", "password": "SK-secret"}))
    assert s3_storage_options("newsmarkets_s3", AWS_ENV) == {
        "endpoint_url": "http://127.0.0.1:9000", "key": "AK", "secret": "SK-secret"}


def test_s3_without_connection_is_todays_environment():
    expected = {"endpoint_url": "http://127.0.0.1:9000", "key": "AKIA-env", "secret": "secret-from-env", "token": "tok-env"}
    assert s3_storage_options("newsmarkets_s3", AWS_ENV) == expected
    assert storage_options_from_env("s3://bucket/wh", AWS_ENV) == expected


def test_half_a_key_pair_in_a_connection_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_NEWSMARKETS_S3", json.dumps({"conn_type": "aws", "login": "AK"}))
    with pytest.raises(CredentialsError, match="'newsmarkets_s3' needs both login"):
        s3_storage_options("newsmarkets_s3", {})


def test_warehouse_from_config_uses_the_configured_connection(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_CONN_WH_S3", json.dumps(S3_CONN))
    from dataclasses import replace

    cfg = replace(load_config(), warehouse="s3://bucket/wh", warehouse_conn_id="wh_s3")
    wh = Warehouse.from_config(cfg)
    assert wh.storage.fs.key == "AKIA-conn" and wh.storage.fs.endpoint_url == "http://127.0.0.1:9100"


def test_a_secrets_backend_serves_both(tmp_path):
    """Airflow's local-file secrets backend stands in for Vault / Secrets Manager: no AIRFLOW_CONN_ variable at all."""
    conns = tmp_path / "connections.json"
    conns.write_text(json.dumps({
        "newsmarkets_prices": {"conn_type": "http", "password": "cg-from-backend"},
        "newsmarkets_s3": S3_CONN,
    }))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_") and k not in AWS_ENV}
    env.update({
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__SECRETS__BACKEND": "airflow.secrets.local_filesystem.LocalFilesystemBackend",
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps({"connections_file_path": str(conns)}),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "include"),
    })
    script = (
        "import json\n"
        "from newsmarkets.credentials import provider_api_key, s3_storage_options\n"
        "print(json.dumps([provider_api_key('newsmarkets_prices', 'COINGECKO_API_KEY'),"
        " s3_storage_options('newsmarkets_s3', {})]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    key, options = json.loads(done.stdout.strip().splitlines()[-1])
    assert key == "cg-from-backend"
    assert options["key"] == "AKIA-conn" and options["secret"] == "secret-from-conn"
