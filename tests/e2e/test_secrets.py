"""The CoinGecko API key reaches the provider and nothing else: not logs, rendered fields, XCom or tables.

The session's environment gives the key to Airflow only as the
``newsmarkets_prices`` connection (``AIRFLOW_CONN_NEWSMARKETS_PRICES``, as the
compose stack does): no ``COINGECKO_API_KEY`` variable exists. After a real
price backfill the test checks the replay server received the key header, then looks for the key's
value everywhere Airflow and the pipeline keep things: every row of every
table in the metadata database (XCom, rendered task fields, run conf, logs
table…), every file under the environment (task and component logs, config,
staging, Data Docs), and every string cell of every Parquet file.
"""

from __future__ import annotations

import pytest

from conftest import API_KEY, run_backfill
from secrecy import files_holding, metadata_rows_holding

pytestmark = pytest.mark.slow


def test_api_key_is_sent_to_the_provider_and_kept_nowhere(env, warehouse):
    day = env.window.start.isoformat()
    states = run_backfill(env, "prices_history", day, day, 1)
    assert set(states.values()) == {"success"}, states

    # Every CoinGecko call this environment's tasks made carried the key (the log keeps the recent ones).
    sent = [r for r in env.replay.request_log() if r["path"].startswith("/api/v3/coins/")]
    assert sent, "the backfill made no CoinGecko request"
    assert {r["api_key_header"] for r in sent} == {"x-cg-demo-api-key"}, sent[:3]

    assert metadata_rows_holding(env, API_KEY) == {}
    assert files_holding(env.base_dir, API_KEY) == []
