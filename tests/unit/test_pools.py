"""One budget across processes (issue 24): pool sizes, each process's share, the replay budget."""

from __future__ import annotations

import time

import pytest

from newsmarkets.config import ConfigError, load_config, parse_config
from newsmarkets.news.politeness import HostGate
from newsmarkets.orchestration.pools import NEWS_POOL, PRICES_POOL, pool_specs, pools_document
from newsmarkets.prices.http import RateLimiter
from newsmarkets.replay.budget import CallBudget, retry_after_header

BASE = {"warehouse": "/tmp/wh", "prices": {"provider": "coingecko", "base_url": "https://api.coingecko.com/api/v3", "assets": ["bitcoin"]}}


def _cfg(prices: dict | None = None, news: dict | None = None):
    raw = {"warehouse": BASE["warehouse"], "prices": {**BASE["prices"], **(prices or {})}}
    if news:
        raw["news"] = news
    return parse_config(raw)


def test_pools_are_sized_from_the_config_and_each_task_gets_its_share():
    cfg = _cfg({"rate_limit_per_minute": 30, "pool_slots": 6}, {"per_domain_rps": 2.0, "pool_slots": 2})
    specs = {s.name: s for s in pool_specs(cfg)}
    assert set(specs) == {PRICES_POOL, NEWS_POOL}
    assert specs[PRICES_POOL].slots == 6 and specs[NEWS_POOL].slots == 2
    assert cfg.prices.task_rate_per_minute == 5.0
    assert "30 calls/min" in specs[PRICES_POOL].description and "5/min" in specs[PRICES_POOL].description
    doc = pools_document(list(specs.values()))
    assert doc[PRICES_POOL] == {"slots": 6, "description": specs[PRICES_POOL].description, "include_deferred": False}


def test_defaults_cover_the_dags_concurrent_runs():
    cfg = _cfg()
    # prices_history's 4 runs + the live snapshot; news_ingest's 4 runs
    assert (cfg.prices.pool_slots, cfg.news.pool_slots) == (5, 4)
    assert load_config().prices.pool_slots >= 1


@pytest.mark.parametrize("section,value", [("prices", 0), ("prices", 1.5), ("news", 0), ("news", "2")])
def test_pool_slots_must_be_a_positive_integer(section, value):
    with pytest.raises(ConfigError, match=rf"{section}\.pool_slots"):
        _cfg(**{section: {"pool_slots": value}})


def test_a_host_gate_shared_by_n_processes_keeps_its_share():
    gate = HostGate("example.org", interval_s=0.5, max_concurrency=4, shared_by=2)
    assert (gate.interval_s, gate.max_concurrency) == (1.0, 2)
    gate.apply_crawl_delay(3.0)  # robots.txt's delay is for all of us together
    assert (gate.crawl_delay_s, gate.interval_s, gate.max_concurrency) == (3.0, 6.0, 1)
    narrow = HostGate("example.org", interval_s=1.0, max_concurrency=2, shared_by=4)
    assert narrow.max_concurrency == 1  # never zero
    # The first request waits its share's interval: another process may have just used the slot.
    handed_over = HostGate("example.org", interval_s=0.05, max_concurrency=1, shared_by=2)
    with handed_over.slot() as waited:
        assert waited >= 0.05
    with HostGate("example.org", interval_s=0.05, max_concurrency=1).slot() as waited:
        assert waited < 0.05  # alone, the first request goes at once
    with pytest.raises(ValueError, match="shared_by"):
        HostGate("example.org", interval_s=1.0, max_concurrency=1, shared_by=0)


def test_a_limiter_that_starts_empty_spaces_its_first_call_too():
    full, empty = RateLimiter(600), RateLimiter(600, start_full=False)  # one start per 0.1 s
    assert full.acquire() == 0.0
    started = time.monotonic()
    assert empty.acquire() > 0.05
    assert time.monotonic() - started >= 0.09


def test_call_budget_is_a_sliding_window_over_all_callers():
    budget = CallBudget(3, window_s=10)
    answers = [budget.admit(t) for t in (0.0, 1.0, 2.0, 3.0, 10.0, 10.5, 11.0)]
    assert answers == [None, None, None, 7.0, None, 0.5, None]
    stats = budget.stats()
    assert (stats.admitted, stats.refused, stats.max_in_window) == (5, 2, 3)
    assert retry_after_header(0.2) == "1" and retry_after_header(7.0) == "7" and retry_after_header(7.1) == "8"
    for bad in (0, -1, True, 2.5):
        with pytest.raises(ValueError, match="calls"):
            CallBudget(bad)
    with pytest.raises(ValueError, match="window_s"):
        CallBudget(1, window_s=0)
