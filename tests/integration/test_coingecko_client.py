"""CoinGeckoClient against the real replay server on 127.0.0.1 (faults switched on per test)."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from urllib.parse import urlencode

import pandas as pd
import pytest

from newsmarkets.config import HttpConfig, PricesConfig
from newsmarkets.intervals import Interval
from newsmarkets.prices.coingecko import MAX_URL_CHARS, CoinGeckoClient, _key_header
from newsmarkets.prices.provider import (
    ProviderError,
    ProviderHTTPError,
    ProviderPayloadError,
    RateLimitedError,
    make_provider,
)
from newsmarkets.prices.transform import find_gaps, market_chart_to_frame, markets_to_frame
from newsmarkets.replay.server import ReplayServer
from newsmarkets.replay.world import MarketWorld

DAY = Interval.for_day("2026-01-05")
SECRET = "CG-test-secret-5f1e9a"
KEY_ENV = "NEWSMARKETS_TEST_CG_KEY"


@pytest.fixture(scope="module")
def world() -> MarketWorld:
    return MarketWorld.generate("2026-01-05", 1, 20260105, n_assets=20)


@pytest.fixture(scope="module")
def running(world):
    with ReplayServer(world) as srv:
        yield srv


@pytest.fixture
def server(running):
    running.clear_faults()
    running.clear_log()
    yield running
    running.clear_faults()


def prices_cfg(server, **overrides) -> PricesConfig:
    values = dict(
        provider="coingecko",
        base_url=server.base_url,
        vs_currency="usd",
        assets=("bitcoin", "ethereum"),
        rate_limit_per_minute=60_000,  # the limiter has its own unit test; don't slow these down
        timeout_s=2.0,
        max_retries=3,
        backoff_base_s=0.02,
        max_backoff_s=2.0,
    )
    values.update(overrides)
    return PricesConfig(**values)


def client(server, **overrides) -> CoinGeckoClient:
    return CoinGeckoClient(prices_cfg(server, **overrides), HttpConfig(user_agent="newsmarkets-tests/1"))


def api_log(server, path_suffix=""):
    return [r for r in server.request_log if r.path.endswith(path_suffix)]


def retry_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "newsmarkets.prices"]


# -- happy paths -----------------------------------------------------------------


def test_make_provider_and_list_assets(server, world):
    provider = make_provider(prices_cfg(server), HttpConfig())
    assert isinstance(provider, CoinGeckoClient) and provider.name == "coingecko"
    assets = provider.list_assets()
    assert sorted(a["id"] for a in assets) == sorted(world.asset_ids)
    assert all(set(a) == {"id", "symbol", "name"} for a in assets)


@pytest.mark.parametrize("per_page, pages", [(3, 3), (4, 3), (250, 1)])
def test_markets_paginates_until_a_short_page(server, world, per_page, pages):
    ids = world.asset_ids[:8]
    records = client(server, per_page=per_page).markets(ids)
    assert sorted(r["id"] for r in records) == sorted(ids)
    calls = api_log(server, "/coins/markets")
    assert [int(r.query["page"]) for r in calls] == list(range(1, pages + 1))
    assert {r.query["per_page"] for r in calls} == {str(per_page)}
    assert all(r.query["vs_currency"] == "usd" for r in calls)


def test_markets_chunks_ids_to_keep_urls_short(server, world):
    # 150 made-up (valid-looking) ids plus two real ones: far more than one URL can carry.
    padding = [f"not-a-real-coin-{i:04d}" for i in range(150)]
    records = client(server).markets(padding + ["bitcoin", "solana"])
    assert sorted(r["id"] for r in records) == ["bitcoin", "solana"]
    calls = api_log(server, "/coins/markets")
    assert len(calls) >= 2
    for call in calls:
        url = server.root_url + call.path + "?" + urlencode(call.query)
        assert len(url) < MAX_URL_CHARS
    asked = [i for call in calls for i in call.query["ids"].split(",")]
    assert sorted(asked) == sorted(padding + ["bitcoin", "solana"])


def test_markets_records_become_snapshot_rows(server, world):
    records = client(server).markets(world.asset_ids)
    frame = markets_to_frame(records, snapshot_at=DAY.end, ingested_at=DAY.end)
    assert len(frame) == 20 and frame["asset_id"].is_unique
    assert (frame["observed_at"] <= pd.Timestamp(server.now)).all()
    assert (frame["price_usd"] > 0).all()
    # Some replay assets have no market cap; nulls must survive as nulls.
    no_cap = [a for a in world.asset_ids if not world.has_market_cap(a)]
    assert no_cap and frame.set_index("asset_id").loc[no_cap, "market_cap_usd"].isna().all()


def test_market_chart_range_and_gaps_match_the_world(server, world):
    cg = client(server)
    assets = {a["id"]: a for a in cg.list_assets()}
    frames = []
    for asset_id in ("bitcoin", "cardano", "dogecoin"):
        payload = cg.market_chart_range(asset_id, DAY.start, DAY.end)
        frames.append(market_chart_to_frame(assets[asset_id], payload, interval=DAY, snapshot_at=DAY.end, ingested_at=DAY.end))
    call = api_log(server, "/coins/bitcoin/market_chart/range")[0]
    assert call.query == {"vs_currency": "usd", "from": str(int(DAY.start.timestamp())), "to": str(int(DAY.end.timestamp()))}
    points = pd.concat(frames, ignore_index=True)
    assert (points.groupby("asset_id").size()["bitcoin"]) == 288  # 5-minutely over one day
    gaps = find_gaps(points, ["bitcoin", "cardano", "dogecoin", "solana"], DAY, expected_step=timedelta(minutes=5))
    got = {(g.asset_id, g.gap_start_at, g.gap_end_at, g.reason) for g in gaps.itertuples()}
    expected = {
        (g["asset_id"], pd.Timestamp(g["start_at"]), pd.Timestamp(g["end_at"]), "missing_hours") for g in world.gaps
    }
    expected.add(("solana", pd.Timestamp(DAY.start), pd.Timestamp(DAY.end), "no_data"))
    assert got == expected


def test_damaged_prices_pass_through_for_the_quality_gate(server):
    server.set_faults({"kind": "null_prices", "asset_ids": ["ethereum"]}, {"kind": "negative_prices", "asset_ids": ["bitcoin"]})
    records = client(server).markets(["bitcoin", "ethereum"])
    frame = markets_to_frame(records, snapshot_at=DAY.end, ingested_at=DAY.end).set_index("asset_id")
    assert pd.isna(frame.loc["ethereum", "price_usd"])
    # Only one data fault is consumed per request; the other waits for the next one.
    records = client(server).markets(["bitcoin", "ethereum"])
    frame = markets_to_frame(records, snapshot_at=DAY.end, ingested_at=DAY.end).set_index("asset_id")
    assert frame.loc["bitcoin", "price_usd"] < 0


# -- faults and retries --------------------------------------------------------------


def test_429_with_retry_after_is_honoured_then_recovers(server, caplog):
    server.set_faults({"kind": "rate_limit", "count": 1, "retry_after_s": 1})
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="newsmarkets.prices"):
        records = client(server).markets(["bitcoin"])
    elapsed = time.monotonic() - started
    assert [r["id"] for r in records] == ["bitcoin"]
    assert [r.status for r in api_log(server)] == [429, 200]
    assert elapsed >= 1.0  # the backoff alone (0.02 s) would have been far shorter
    (line,) = retry_lines(caplog)
    assert "HTTP 429, Retry-After 1s" in line and "retrying in 1.00s" in line


def test_persistent_429_raises_rate_limited(server):
    server.set_faults({"kind": "rate_limit", "count": 5, "retry_after_s": 0})
    with pytest.raises(RateLimitedError) as info:
        client(server, max_retries=2).markets(["bitcoin"])
    assert info.value.status == 429 and "/coins/markets" in str(info.value)
    assert len(api_log(server)) == 3


def test_5xx_then_recovery(server, caplog):
    server.set_faults({"kind": "server_error", "count": 1, "status": 500}, {"kind": "server_error", "count": 1, "status": 502})
    with caplog.at_level(logging.WARNING, logger="newsmarkets.prices"):
        payload = client(server).market_chart_range("ethereum", DAY.start, DAY.end)
    assert len(payload["prices"]) == 288
    assert [r.status for r in api_log(server)] == [500, 502, 200]
    first, second = retry_lines(caplog)
    assert "HTTP 500" in first and "HTTP 502" in second


def test_503_retry_after_is_honoured(server):
    server.set_faults({"kind": "server_error", "count": 1, "status": 503, "retry_after_s": 1})
    started = time.monotonic()
    assert client(server).markets(["solana"])[0]["id"] == "solana"
    assert time.monotonic() - started >= 1.0


def test_timeout_then_recovery(server, caplog):
    server.set_faults({"kind": "slow", "count": 1, "delay_s": 1.5})
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="newsmarkets.prices"):
        records = client(server, timeout_s=0.4).markets(["bitcoin"])
    assert [r["id"] for r in records] == ["bitcoin"]
    assert time.monotonic() - started < 1.4  # gave up on the slow answer instead of waiting it out
    (line,) = retry_lines(caplog)
    assert "timed out" in line


@pytest.mark.parametrize("kind", ["truncated", "malformed"])
def test_bad_json_is_retried_then_recovers(server, caplog, kind):
    server.set_faults({"kind": kind, "count": 2})
    with caplog.at_level(logging.WARNING, logger="newsmarkets.prices"):
        payload = client(server).market_chart_range("bitcoin", DAY.start, DAY.end)
    assert len(payload["prices"]) == 288
    assert len(api_log(server)) == 3
    assert all("not valid JSON" in line for line in retry_lines(caplog))


@pytest.mark.parametrize("kind", ["truncated", "malformed"])
def test_persistent_bad_json_raises_payload_error(server, kind):
    server.set_faults({"kind": kind, "count": 10})
    with pytest.raises(ProviderPayloadError) as info:
        client(server, max_retries=2).market_chart_range("bitcoin", DAY.start, DAY.end)
    message = str(info.value)
    assert "/coins/bitcoin/market_chart/range" in message and "not valid JSON" in message
    assert "after 3 attempt(s)" in message
    assert len(api_log(server)) == 3


def test_unknown_coin_fails_at_once_with_a_clear_error(server, caplog):
    with caplog.at_level(logging.WARNING, logger="newsmarkets.prices"):
        with pytest.raises(ProviderHTTPError) as info:
            client(server).market_chart_range("no-such-coin", DAY.start, DAY.end)
    assert info.value.status == 404
    assert "/coins/no-such-coin/market_chart/range" in str(info.value) and "coin not found" in str(info.value)
    assert "/coins/no-such-coin/market_chart/range" in info.value.url
    assert len(api_log(server)) == 1 and retry_lines(caplog) == []


def test_ids_that_could_change_the_path_are_refused_before_any_request(server):
    with pytest.raises(ProviderError, match="not a CoinGecko id"):
        client(server).market_chart_range("../ping", DAY.start, DAY.end)
    assert api_log(server) == []


def test_non_http_base_url_is_refused(server):
    with pytest.raises(ProviderError, match="must be an http"):
        client(server, base_url="file:///etc/passwd")


# -- the API key -------------------------------------------------------------------------


def test_api_key_is_sent_but_never_logged_or_shown(server, caplog, monkeypatch):
    monkeypatch.setenv(KEY_ENV, SECRET)
    server.set_faults({"kind": "rate_limit", "count": 1, "retry_after_s": 0})
    cg = client(server, api_key_env=KEY_ENV)
    with caplog.at_level(logging.DEBUG):  # every logger, urllib3's included
        cg.markets(["bitcoin"])
        with pytest.raises(ProviderHTTPError) as info:
            cg.market_chart_range("no-such-coin", DAY.start, DAY.end)
    assert server.key_header_log == ["x-cg-demo-api-key"] * 3
    assert retry_lines(caplog)  # the retry was logged...
    assert SECRET not in caplog.text  # ...without the key
    assert SECRET not in str(info.value) and SECRET not in repr(info.value) and SECRET not in info.value.url
    assert SECRET not in repr(cg) and SECRET not in str(cg) and "api_key=set" in repr(cg)


def test_no_key_header_without_a_key(server, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    cg = client(server, api_key_env=KEY_ENV)
    cg.markets(["bitcoin"])
    assert server.key_header_log == [None] and "api_key=none" in repr(cg)


def test_pro_host_gets_the_pro_header():
    assert _key_header("https://pro-api.coingecko.com/api/v3") == "x-cg-pro-api-key"
    assert _key_header("https://api.coingecko.com/api/v3") == "x-cg-demo-api-key"
    assert _key_header("http://127.0.0.1:8765/api/v3") == "x-cg-demo-api-key"
