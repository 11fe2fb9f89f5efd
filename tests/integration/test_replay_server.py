"""The replay server over real HTTP on 127.0.0.1: CoinGecko shapes, clock, errors and every fault switch."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from newsmarkets.replay.faults import Fault, FaultError
from newsmarkets.replay.server import ReplayServer, ReplayServerError
from newsmarkets.replay.world import MarketWorld

START = datetime(2026, 1, 5, tzinfo=timezone.utc)
ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
MARKET_FIELDS = {
    "id", "symbol", "name", "image", "current_price", "market_cap", "market_cap_rank",
    "fully_diluted_valuation", "total_volume", "high_24h", "low_24h", "price_change_24h",
    "price_change_percentage_24h", "market_cap_change_24h", "market_cap_change_percentage_24h",
    "circulating_supply", "total_supply", "max_supply", "ath", "ath_change_percentage", "ath_date",
    "atl", "atl_change_percentage", "atl_date", "roi", "last_updated",
}


@pytest.fixture(scope="module")
def world() -> MarketWorld:
    return MarketWorld.generate("2026-01-05", 3, 20260105)


@pytest.fixture(scope="module")
def running(world):
    with ReplayServer(world) as server:
        yield server


@pytest.fixture
def server(running):
    running.clear_faults()
    running.set_now(None)
    running.clear_log()
    yield running
    running.clear_faults()
    running.set_now(None)


@pytest.fixture
def http():
    with requests.Session() as s:
        yield s


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def chart(http, server, asset="bitcoin", **params):
    return http.get(f"{server.base_url}/coins/{asset}/market_chart/range", params={"vs_currency": "usd", **params}, timeout=5)


def markets(http, server, **params):
    return http.get(f"{server.base_url}/coins/markets", params={"vs_currency": "usd", **params}, timeout=5)


# ------------------------------------------------------------------ endpoints
def test_ping_and_coins_list(server, http, world):
    assert server.base_url == f"http://127.0.0.1:{server.port}/api/v3"
    r = http.get(server.base_url + "/ping", timeout=5)
    assert r.status_code == 200 and r.json() == {"gecko_says": "(V3) To the Moon!"}
    coins = http.get(server.base_url + "/coins/list", timeout=5).json()
    assert coins == sorted(world.assets, key=lambda a: a["id"])
    assert {"id": "near", "symbol": "near", "name": "NEAR Protocol"} in coins


def test_markets_shape_and_values_at_now(server, http, world):
    rows = markets(http, server).json()
    assert len(rows) == 20
    for row in rows:
        assert set(row) == MARKET_FIELDS
        assert ISO_MS.match(row["last_updated"]) and ISO_MS.match(row["ath_date"])
        assert row["current_price"] == world.price_at(row["id"], server.now)
        assert row["low_24h"] <= row["current_price"] <= row["high_24h"]
    caps = [r["market_cap"] for r in rows]
    assert caps[-1] is None and rows[-1]["id"] == "leo-token" and rows[-1]["market_cap_rank"] is None
    assert caps[:-1] == sorted(caps[:-1], reverse=True)
    assert [r["market_cap_rank"] for r in rows[:-1]] == list(range(1, 20))
    pepe = next(r for r in rows if r["id"] == "pepe-classic")
    assert 1e-9 < pepe["current_price"] < 1e-6


def test_markets_ids_and_pagination(server, http):
    r = markets(http, server, ids="solana,bitcoin,not-a-coin", order="id_asc")
    assert [x["id"] for x in r.json()] == ["bitcoin", "solana"]
    pages = [markets(http, server, per_page=7, page=p).json() for p in (1, 2, 3, 4)]
    assert [len(p) for p in pages] == [7, 7, 6, 0]
    ids = [x["id"] for p in pages for x in p]
    assert len(set(ids)) == 20
    assert [x["id"] for x in markets(http, server, per_page=20).json()] == ids


def test_markets_caps_per_page_at_250():
    big = MarketWorld.generate("2026-01-05", 1, 3, n_assets=260, gaps=False)
    with ReplayServer(big) as srv, requests.Session() as http:
        first = markets(http, srv, per_page=300).json()
        second = markets(http, srv, per_page=250, page=2).json()
    assert len(first) == 250 and len(second) == 10
    assert {r["id"] for r in first} | {r["id"] for r in second} == set(big.asset_ids)


@pytest.mark.parametrize(
    "params, status, message",
    [
        ({"vs_currency": "eur"}, 400, "invalid vs_currency"),
        ({"vs_currency": ""}, 400, "Missing parameter vs_currency"),
        ({"per_page": "0"}, 400, "per_page"),
        ({"page": "two"}, 400, "page"),
        ({"order": "price_desc"}, 400, "order"),
    ],
)
def test_markets_bad_params_are_400_json(server, http, params, status, message):
    r = markets(http, server, **params)
    assert r.status_code == status and message in r.json()["error"]


def test_last_updated_is_the_grid_point_plus_a_small_lag(server, http):
    server.set_now(START + timedelta(hours=10, minutes=7, seconds=30))
    for row in markets(http, server).json():
        updated = datetime.fromisoformat(row["last_updated"].replace("Z", "+00:00"))
        assert START + timedelta(hours=10, minutes=5) <= updated <= server.now, row["id"]


def test_chart_granularity_follows_range_length(server, http, world):
    now = server.now
    five = chart(http, server, **{"from": int((now - timedelta(days=1)).timestamp()), "to": int(now.timestamp())}).json()
    steps = {b[0] - a[0] for a, b in zip(five["prices"], five["prices"][1:])}
    assert steps == {300_000} and len(five["prices"]) == 289
    assert five["prices"][-1] == [ms(now), world.price_at("bitcoin", now)]
    assert len(five["market_caps"]) == len(five["total_volumes"]) == 289
    # One day long but more than a day before now: hourly, as CoinGecko does.
    old_day = chart(http, server, **{"from": int((now - timedelta(days=2)).timestamp()), "to": int((now - timedelta(days=1)).timestamp())}).json()
    assert {b[0] - a[0] for a, b in zip(old_day["prices"], old_day["prices"][1:])} == {3_600_000}
    hourly = chart(http, server, **{"from": int((now - timedelta(days=2)).timestamp()), "to": int(now.timestamp())}).json()
    assert {p[0] % 3_600_000 for p in hourly["prices"]} == {0}
    assert {b[0] - a[0] for a, b in zip(hourly["prices"], hourly["prices"][1:])} == {3_600_000}
    daily = chart(http, server, **{"from": int((now - timedelta(days=120)).timestamp()), "to": int(now.timestamp())}).json()
    assert {p[0] % 86_400_000 for p in daily["prices"]} == {0}
    assert len(daily["prices"]) == 33  # the 30-day lead-in plus 3 days
    forced = chart(http, server, interval="daily", **{"from": int((now - timedelta(hours=30)).timestamp()), "to": int(now.timestamp())})
    assert [p[0] for p in forced.json()["prices"]] == [ms(START + timedelta(days=2))]


def test_chart_only_has_points_up_to_now(server, http):
    server.set_now(START + timedelta(hours=12, minutes=2))
    body = chart(http, server, **{"from": int(START.timestamp()), "to": int((START + timedelta(days=1)).timestamp())}).json()
    assert body["prices"][-1][0] == ms(START + timedelta(hours=12))
    assert len(body["prices"]) == 12 * 12 + 1


def test_chart_values_tiny_prices_null_caps_and_gaps(server, http, world):
    lo, hi = START + timedelta(hours=1), START + timedelta(hours=2)
    server.set_now(hi + timedelta(hours=1))  # 5-minute points only come within a day of now
    q = {"from": int(lo.timestamp()), "to": int(hi.timestamp())}
    pepe = chart(http, server, "pepe-classic", **q).json()["prices"]
    assert [p for _, p in pepe] == [p for _, p, _, _ in world.points("pepe-classic", lo, hi + timedelta(seconds=1))]
    leo = chart(http, server, "leo-token", **q).json()
    assert leo["market_caps"] and all(c is None for _, c in leo["market_caps"])
    gap = world.gaps[0]
    g_lo = datetime.fromisoformat(gap["start_at"].replace("Z", "+00:00"))
    server.set_now(g_lo + timedelta(hours=3))
    around = chart(http, server, gap["asset_id"], **{"from": int((g_lo - timedelta(hours=3)).timestamp()), "to": int((g_lo + timedelta(hours=3)).timestamp())}).json()
    stamps = [p[0] for p in around["prices"]]
    assert not [t for t in stamps if ms(g_lo) <= t < ms(g_lo) + 3_600_000]
    assert len(stamps) == 6 * 12 + 1 - 12


@pytest.mark.parametrize(
    "asset, params, status, message",
    [
        ("not-a-coin", {"from": "1767571200", "to": "1767600000"}, 404, "coin not found"),
        ("bitcoin", {"to": "1767600000"}, 400, "Missing parameter from"),
        ("bitcoin", {"from": "yesterday", "to": "1767600000"}, 400, "invalid from"),
        ("bitcoin", {"from": "1767600000", "to": "1767571200"}, 400, "invalid range"),
        ("bitcoin", {"from": "1767571200", "to": "1767600000", "vs_currency": "btc"}, 400, "invalid vs_currency"),
        ("bitcoin", {"from": "1767571200", "to": "1767600000", "interval": "5m"}, 400, "Enterprise"),
    ],
)
def test_chart_errors(server, http, asset, params, status, message):
    r = chart(http, server, asset, **params)
    assert r.status_code == status and message in r.json()["error"]


def test_iso_dates_and_market_chart_days(server, http):
    server.set_now("2026-01-06T02:00:00Z")
    r = chart(http, server, **{"from": "2026-01-06", "to": "2026-01-06T01:00:00Z"})
    assert len(r.json()["prices"]) == 13
    server.set_now(None)
    r = http.get(server.base_url + "/coins/bitcoin/market_chart", params={"vs_currency": "usd", "days": "1"}, timeout=5)
    assert len(r.json()["prices"]) == 289


def test_simple_price(server, http, world):
    r = http.get(server.base_url + "/simple/price", params={
        "ids": "bitcoin,leo-token", "vs_currencies": "usd", "include_market_cap": "true", "include_last_updated_at": "true"}, timeout=5)
    body = r.json()
    assert body["bitcoin"]["usd"] == world.price_at("bitcoin", server.now)
    assert body["leo-token"]["usd_market_cap"] is None and isinstance(body["bitcoin"]["last_updated_at"], int)


def test_keep_alive_requests_are_fast(server, http):
    # Guards against the ~40 ms Nagle/delayed-ACK stall per request on a reused connection.
    t0 = time.perf_counter()
    for _ in range(60):
        assert chart(http, server, **{"from": "1767571200", "to": "1767600000"}).status_code == 200
    assert time.perf_counter() - t0 < 1.5


def test_unknown_path_is_404_json(server, http):
    r = http.get(server.base_url + "/coins/bitcoin/tickers", timeout=5)
    assert r.status_code == 404 and "Incorrect path" in r.json()["error"]


# ---------------------------------------------------------------------- clock
def test_clock_is_clamped_and_settable_over_http(server, http, world):
    assert server.now == world.last_at
    assert server.set_now(datetime(2020, 1, 1, tzinfo=timezone.utc)) == world.first_at
    assert server.set_now("2030-01-01T00:00:00Z") == world.last_at
    with pytest.raises(ReplayServerError, match="no timezone"):
        server.set_now(datetime(2026, 1, 6))
    r = http.post(server.root_url + "/_replay/clock", json={"now": "2026-01-06T12:00:00Z"}, timeout=5)
    assert r.json()["now"] == "2026-01-06T12:00:00Z"
    assert server.now == datetime(2026, 1, 6, 12, tzinfo=timezone.utc)
    btc = markets(http, server, ids="bitcoin").json()[0]
    assert btc["current_price"] == world.price_at("bitcoin", server.now)
    assert http.post(server.root_url + "/_replay/clock", json={"now": "noon"}, timeout=5).status_code == 400
    assert http.post(server.root_url + "/_replay/clock", json={"now": None}, timeout=5).json()["now"] == "2026-01-07T23:55:00Z"


# --------------------------------------------------------------------- faults
def test_rate_limit_has_retry_after_and_expires(server, http):
    server.set_faults(Fault("rate_limit", count=2, retry_after_s=3))
    for _ in range(2):
        r = http.get(server.base_url + "/ping", timeout=5)
        assert r.status_code == 429 and r.headers["Retry-After"] == "3"
        assert r.json()["status"]["error_code"] == 429
    assert http.get(server.base_url + "/ping", timeout=5).status_code == 200
    assert server.faults == []
    assert [e.status for e in server.request_log] == [429, 429, 200]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors(server, http, status):
    server.set_faults(Fault("server_error", status=status))
    r = markets(http, server)
    assert r.status_code == status
    if status == 500:
        assert r.json() == {"error": "Internal Server Error"}
    else:
        assert r.headers["Content-Type"].startswith("text/html") and str(status) in r.text
    assert markets(http, server).status_code == 200


def test_slow_delays_the_answer(server, http):
    server.set_faults(Fault("slow", delay_s=0.6, count=2))
    t0 = time.perf_counter()
    assert http.get(server.base_url + "/ping", timeout=5).status_code == 200
    assert time.perf_counter() - t0 >= 0.6
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(server.base_url + "/ping", timeout=0.2)
    t0 = time.perf_counter()
    assert http.get(server.base_url + "/ping", timeout=5).status_code == 200
    assert time.perf_counter() - t0 < 0.5


def test_malformed_and_truncated_bodies(server, http):
    server.set_faults(Fault("malformed"), Fault("truncated"))
    r = markets(http, server)
    assert r.status_code == 200
    with pytest.raises(ValueError):
        json.loads(r.text)
    r = markets(http, server)
    assert r.status_code == 200
    full = markets(http, server).text
    assert r.text == full[: len(full) // 2]
    with pytest.raises(ValueError):
        json.loads(r.text)


def test_null_and_negative_prices_hit_only_listed_assets(server, http, world):
    server.set_faults(Fault("null_prices", asset_ids=("solana",)), Fault("negative_prices", asset_ids=("bitcoin",)))
    # A chart for another asset carries neither: the faults wait for their assets.
    assert all(p is not None and p > 0 for _, p in chart(http, server, "ethereum", **{"from": "1767571200", "to": "1767600000"}).json()["prices"])
    rows = {r["id"]: r for r in markets(http, server).json()}
    assert rows["solana"]["current_price"] is None
    assert rows["bitcoin"]["current_price"] > 0  # one fault per request: the negative one is still queued
    assert rows["ethereum"]["current_price"] > 0
    prices = chart(http, server, "bitcoin", **{"from": "1767571200", "to": "1767600000"}).json()["prices"]
    assert [i for i, (_, p) in enumerate(prices) if p < 0] == list(range(0, len(prices), 4))
    assert server.faults == []
    assert markets(http, server, ids="solana").json()[0]["current_price"] > 0


def test_path_prefix_restricts_a_fault(server, http):
    server.set_faults(Fault("server_error", path_prefix="/coins/markets", status=503))
    assert server.faults[0].path_prefix == "/api/v3/coins/markets"
    assert http.get(server.base_url + "/ping", timeout=5).status_code == 200
    assert markets(http, server).status_code == 503
    assert markets(http, server).status_code == 200


def test_news_pages_take_only_faults_aimed_at_them(server, http):
    feed = f"http://127.0.0.1:{server.port}/outlets/coinwire/feed.xml"
    server.set_faults(Fault("server_error", status=502))  # no prefix: the API's fault
    assert http.get(feed, timeout=5).status_code == 200
    assert http.get(server.base_url + "/ping", timeout=5).status_code == 502
    server.set_faults({"kind": "rate_limit", "count": 1, "path_prefix": "/outlets/coinwire/"})
    assert http.get(server.base_url + "/ping", timeout=5).status_code == 200
    answer = http.get(feed, timeout=5)
    assert answer.status_code == 429 and answer.headers["Retry-After"]
    assert http.get(feed, timeout=5).status_code == 200
    # a 200 page with broken bytes is still a page: only status and slow faults make sense there
    with pytest.raises(FaultError, match="news page"):
        Fault("malformed", path_prefix="/outlets/coinwire/")


def test_faults_queue_in_order(server, http):
    server.set_faults({"kind": "rate_limit", "count": 2}, {"kind": "server_error", "status": 502})
    assert [http.get(server.base_url + "/ping", timeout=5).status_code for _ in range(4)] == [429, 429, 502, 200]


def test_faults_over_the_http_control_endpoint(server, http):
    control = server.root_url + "/_replay/faults"
    r = http.post(control, json={"faults": [{"kind": "rate_limit", "count": 1, "retry_after_s": 2}, {"kind": "truncated"}]}, timeout=5)
    assert r.status_code == 200 and [f["kind"] for f in r.json()["faults"]] == ["rate_limit", "truncated"]
    assert http.get(server.base_url + "/ping", timeout=5).status_code == 429
    assert [f["kind"] for f in http.get(control, timeout=5).json()["faults"]] == ["truncated"]
    http.get(server.base_url + "/ping", timeout=5)
    assert http.get(control, timeout=5).json() == {"faults": []}
    bad = http.post(control, json=[{"kind": "gremlins"}], timeout=5)
    assert bad.status_code == 400 and "gremlins" in bad.json()["error"]
    http.post(control, json=[{"kind": "slow", "count": 9}], timeout=5)
    assert http.delete(control, timeout=5).json() == {"faults": []}
    log = http.get(server.root_url + "/_replay/requests", timeout=5).json()["requests"]
    assert [e["status"] for e in log] == [429, 200]


def test_faults_as_a_kind_mapping_with_short_names(server, http):
    # The form the CLI's --fault NAME=JSON and the local stack post.
    body = {"rate_limit": {"count": 1, "retry_after": 4}, "server_error": {"count": 1, "status": 503, "path": "/api/v3/coins/markets"}}
    r = http.post(server.root_url + "/_replay/faults", json=body, timeout=5)
    assert r.status_code == 200
    assert [(f["kind"], f["retry_after_s"], f["path_prefix"]) for f in r.json()["faults"]] == [
        ("rate_limit", 4, None), ("server_error", 1, "/api/v3/coins/markets")]
    assert http.get(server.base_url + "/ping", timeout=5).headers["Retry-After"] == "4"
    assert http.get(server.base_url + "/ping", timeout=5).status_code == 200
    assert markets(http, server).status_code == 503
    server.set_faults({"malformed": 2})
    assert server.faults == [Fault("malformed", count=2)]
    bad = http.post(server.root_url + "/_replay/faults", json={"count": 2}, timeout=5)
    assert bad.status_code == 400 and "unknown fault 'count'" in bad.json()["error"]


def test_fault_specs_are_validated_and_parse_from_cli_form():
    assert Fault.parse("null_prices:count=3,asset_ids=bitcoin+solana") == Fault("null_prices", count=3, asset_ids=("bitcoin", "solana"))
    assert Fault.parse("slow:delay_s=1.5").delay_s == 1.5
    for bad, message in [("rate_limit:count=0", "count"), ("server_error:status=404", "status"), ("boom", "unknown fault"), ("slow:delay_s=x", "delay_s")]:
        with pytest.raises(FaultError, match=message):
            Fault.parse(bad)


# ---------------------------------------------------------------- api keys
def test_api_key_presence_is_recorded_never_its_value(server, http):
    secret = "CG-sEcReT-123"
    http.get(server.base_url + "/ping", headers={"x-cg-demo-api-key": secret}, timeout=5)
    http.get(server.base_url + "/ping", params={"x_cg_pro_api_key": secret}, timeout=5)
    http.get(server.base_url + "/ping", timeout=5)
    assert server.key_header_log == ["x-cg-demo-api-key", "x_cg_pro_api_key", None]
    assert secret not in repr(server.request_log)
    assert secret not in http.get(server.root_url + "/_replay/requests", timeout=5).text


def test_wall_clock_follows_real_time_clamped_into_the_world():
    today = datetime.now(timezone.utc).date()
    around_today = MarketWorld.generate(today - timedelta(days=1), 2, 5, n_assets=3)
    with ReplayServer(around_today, wall_clock=True) as srv:
        assert abs(datetime.now(timezone.utc) - srv.now) < timedelta(seconds=5)
        srv.set_now(around_today.start_at)
        assert srv.now == around_today.start_at
        srv.set_now(None)
        assert abs(datetime.now(timezone.utc) - srv.now) < timedelta(seconds=5)
        clock = requests.get(srv.root_url + "/_replay/clock", timeout=5).json()
        assert clock["wall_clock"] is True and clock["is_fixed"] is False
    past = MarketWorld.generate("2026-01-05", 1, 5, n_assets=3)
    with ReplayServer(past, wall_clock=True) as srv:
        assert srv.now == past.last_at  # clamped: the world has no points after its range


# ------------------------------------------------------------- serve_forever
def test_serve_forever_prints_its_url_and_stops_on_sigterm():
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "newsmarkets.replay.server", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        line = proc.stdout.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+/api/v3)", line).group(1)
        assert requests.get(url + "/ping", timeout=5).status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_call_budget_refuses_over_the_limit_for_all_clients_and_reports_counts(server, http):
    control = server.root_url + "/_replay/budget"
    assert http.get(control, timeout=5).json() == {"budget": None}
    bad = http.post(control, json={"calls": 0}, timeout=5)
    assert bad.status_code == 400 and "calls" in bad.json()["error"]
    r = http.post(control, json={"calls": 2, "window_s": 30}, timeout=5)
    assert r.status_code == 200 and r.json()["budget"]["calls"] == 2
    try:
        with requests.Session() as other:  # a second client shares the same budget
            answers = [markets(http, server).status_code, markets(other, server).status_code]
            refused = markets(http, server)
        assert answers == [200, 200]
        assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 30
        assert refused.json() == {"status": {"error_code": 429, "error_message": refused.json()["status"]["error_message"]}}
        # news pages are not the API: not counted
        assert http.get(server.root_url + "/outlets/coinwire/feed.xml", timeout=5).status_code == 200
        counts = http.get(control, timeout=5).json()["budget"]
        assert counts == {"calls": 2, "window_s": 30.0, "admitted": 2, "refused": 1, "max_in_window": 2}
        assert [e.status for e in server.request_log if e.path.endswith("/coins/markets")] == [200, 200, 429]
    finally:
        assert http.delete(control, timeout=5).json() == {"budget": None}
    assert markets(http, server).status_code == 200
