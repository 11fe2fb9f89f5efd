"""Four processes, one provider budget (issue 24), against the replay API enforcing it for all clients.

Each process runs the price client the DAGs' fetch tasks use, as four
concurrent backfill runs would. Sharing the budget (each at ``rate /
pool_slots``, as the Airflow pool arranges) keeps every window under the
provider's limit; each process keeping the whole budget for itself (what the
tasks did before the pool) is refused. The Airflow side, that the pool really
bounds the tasks, is proven end to end in tests/e2e/test_prices_dags.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from newsmarkets.replay.server import ReplayServer
from newsmarkets.replay.world import MarketWorld

INCLUDE = str(Path(__file__).resolve().parents[2] / "include")
PROCESSES = 4
ASSETS = ["bitcoin", "ethereum", "solana", "ripple", "cardano", "dogecoin", "chainlink", "polkadot"]
# The provider: 20 calls in any 5 s (240/min). The config's budget stays below it: 160/min.
LIMIT_CALLS, LIMIT_WINDOW_S, BUDGET_PER_MINUTE = 20, 5.0, 160

CHILD = """
import json, sys
from datetime import datetime, timedelta, timezone
from newsmarkets.config import load_config
from newsmarkets.prices.coingecko import CoinGeckoClient

cfg = load_config(sys.argv[1])
client = CoinGeckoClient(cfg.prices, cfg.http)
start = datetime(2026, 1, 6, tzinfo=timezone.utc)
points = 0
for asset in cfg.prices.assets:
    points += len(client.market_chart_range(asset, start, start + timedelta(days=1))["prices"])
client.close()
print(json.dumps({"points": points}))
"""


@pytest.fixture(scope="module")
def server():
    with ReplayServer(MarketWorld.generate("2026-01-05", 3, 20260105, n_assets=len(ASSETS))) as running:
        yield running


def _run_concurrently(server: ReplayServer, tmp_path: Path, pool_slots: int) -> dict:
    config = tmp_path / f"slots-{pool_slots}.yaml"
    config.write_text(yaml.safe_dump({
        "warehouse": str(tmp_path / "warehouse"),
        "http": {"allow_private_networks": True},
        "prices": {"provider": "coingecko", "base_url": server.base_url, "assets": ASSETS,
                   "rate_limit_per_minute": BUDGET_PER_MINUTE, "pool_slots": pool_slots,
                   "max_retries": 8, "backoff_base_s": 0.2, "max_backoff_s": 10.0},
    }))
    env = {**os.environ, "PYTHONPATH": INCLUDE, "NEWSMARKETS_CONFIG": str(config)}
    server.set_budget(LIMIT_CALLS, LIMIT_WINDOW_S)
    children = [subprocess.Popen([sys.executable, "-c", CHILD, str(config)], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
                for _ in range(PROCESSES)]
    outputs = [child.communicate(timeout=300) for child in children]
    for child, (out, err) in zip(children, outputs):
        assert child.returncode == 0, err[-2000:]
        assert json.loads(out.strip().splitlines()[-1])["points"] > 0
    stats = server.budget.stats()
    server.set_budget(None)
    return stats


def test_processes_sharing_the_budget_are_never_refused(server, tmp_path):
    stats = _run_concurrently(server, tmp_path, pool_slots=PROCESSES)
    assert stats.refused == 0, stats
    assert stats.admitted == PROCESSES * len(ASSETS)
    assert stats.max_in_window <= LIMIT_CALLS


def test_processes_each_keeping_the_whole_budget_exceed_it(server, tmp_path):
    stats = _run_concurrently(server, tmp_path, pool_slots=1)
    # Four times 160/min asks for ~43 calls in a 5 s window: the provider refuses some, the clients retry.
    assert stats.refused > 0, stats
    assert stats.admitted == PROCESSES * len(ASSETS)
    assert stats.max_in_window == LIMIT_CALLS
