"""The generated market: deterministic, on its grid, with visible jumps, tiny prices, null caps and gaps."""

from __future__ import annotations

import json
import math
import time
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest

from newsmarkets.replay.world import STEP_S, MarketWorld, UnknownAssetError, WorldError

START = datetime(2026, 1, 5, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def world() -> MarketWorld:
    return MarketWorld.generate("2026-01-05", 3, 20260105)


def _all_series(w: MarketWorld) -> bytes:
    parts = []
    for aid in w.asset_ids:
        ts, p, c, v = w.arrays(aid, 0, 4e9)
        parts += [ts.tobytes(), p.tobytes(), c.tobytes(), v.tobytes()]
    return b"".join(parts)


def test_same_arguments_give_byte_identical_output(world):
    again = MarketWorld.generate(date(2026, 1, 5), 3, 20260105)
    assert json.dumps(again.truth(), sort_keys=True) == json.dumps(world.truth(), sort_keys=True)
    assert _all_series(again) == _all_series(world)
    other = MarketWorld.generate("2026-01-05", 3, 20260106)
    assert _all_series(other) != _all_series(world)
    assert other.events != world.events


def test_named_assets_have_real_coingecko_ids(world):
    by_id = {a["id"]: a for a in world.assets}
    assert len(by_id) == 20
    assert by_id["bitcoin"] == {"id": "bitcoin", "symbol": "btc", "name": "Bitcoin"}
    assert by_id["near"]["name"] == "NEAR Protocol"
    assert by_id["the-open-network"]["symbol"] == "ton"
    assert by_id["avalanche-2"]["symbol"] == "avax"
    # The bundled config's assets all exist in the default world.
    for aid in ("bitcoin", "ethereum", "solana", "ripple", "cardano", "dogecoin", "chainlink", "polkadot", "near", "uniswap"):
        assert aid in by_id


def test_large_worlds_add_synthetic_assets_quickly():
    t0 = time.perf_counter()
    small = MarketWorld.generate("2026-01-05", 3, 7)
    assert time.perf_counter() - t0 < 1.0
    t0 = time.perf_counter()
    big = MarketWorld.generate("2026-01-05", 3, 7, n_assets=250)
    assert time.perf_counter() - t0 < 3.0
    ids = big.asset_ids
    assert len(ids) == len(set(ids)) == 250
    assert ids[:20] == small.asset_ids
    assert "replay-coin-042" in ids and ids[-1] == "replay-coin-249"
    assert all(big.price_at(aid, big.last_at) > 0 for aid in ids)


def test_grid_is_hourly_lead_in_then_five_minutes(world):
    assert world.first_at == START - timedelta(days=30)
    assert world.last_at == START + timedelta(days=3) - timedelta(seconds=STEP_S)
    ts, *_ = world.arrays("bitcoin", 0, 4e9)
    lead = ts[ts < START.timestamp()]
    rng = ts[ts >= START.timestamp()]
    assert len(lead) == 30 * 24 and set(np.diff(lead)) == {3600}
    assert len(rng) == 3 * 288 and set(np.diff(rng)) == {STEP_S}
    pts = world.points("bitcoin", START, START + timedelta(hours=1))
    assert [p[0] for p in pts] == [START + timedelta(minutes=5 * i) for i in range(12)]
    assert pts[0][1] == pytest.approx(94_500.0)  # the start price is the spec's level


def test_price_at_is_the_last_point_at_or_before(world):
    t = START + timedelta(hours=5)
    exact = world.points("ethereum", t, t + timedelta(minutes=5))[0][1]
    assert world.price_at("ethereum", t) == exact
    assert world.price_at("ethereum", t + timedelta(minutes=4, seconds=59)) == exact
    assert world.price_at("ethereum", t.timestamp() + 300) != exact
    with pytest.raises(WorldError, match="before the world's first point"):
        world.price_at("ethereum", world.first_at - timedelta(seconds=1))
    with pytest.raises(WorldError, match="no timezone"):
        world.price_at("ethereum", datetime(2026, 1, 6))
    with pytest.raises(UnknownAssetError, match="'not-a-coin'"):
        world.price_at("not-a-coin", t)


def test_events_are_a_handful_per_day_inside_the_range(world):
    events = world.events
    assert 3 * 3 <= len(events) <= 3 * 5
    assert any(e["kind"] == "market" for e in events)
    assert len({e["event_id"] for e in events}) == len(events)
    times = sorted(datetime.fromisoformat(e["at"].replace("Z", "+00:00")) for e in events)
    assert START <= times[0] and times[-1] < world.end_at
    assert all(b - a >= timedelta(hours=3) for a, b in zip(times, times[1:]))
    for e in events:
        assert 3.0 <= abs(e["effect_pct"]) <= 8.0
        assert e["sentiment"] == ("positive" if e["effect_pct"] > 0 else "negative")
        assert e["headline_hint"] and isinstance(e["headline_hint"], str)
        if e["kind"] == "market":
            assert e["asset_ids"] == world.asset_ids
        else:
            assert 1 <= len(e["asset_ids"]) <= 2


def test_event_jumps_are_visible_in_the_series(world):
    # The 5-minute noise has sd ~0.3 %; a 3-8 % jump stands far out of it.
    for e in world.events:
        at = datetime.fromisoformat(e["at"].replace("Z", "+00:00"))
        effects = e.get("asset_effects_pct") or {aid: e["effect_pct"] for aid in e["asset_ids"]}
        for aid in e["asset_ids"][:5]:
            jump = math.log(world.price_at(aid, at) / world.price_at(aid, at - timedelta(minutes=5)))
            assert jump == pytest.approx(effects[aid] / 100, abs=0.015), (e["event_id"], aid)
    # ...and absent where nothing happened: an unaffected asset moves like noise.
    e = next(e for e in world.events if e["kind"] == "asset")
    at = datetime.fromisoformat(e["at"].replace("Z", "+00:00"))
    quiet = next(a for a in world.asset_ids if a not in e["asset_ids"] and a not in {"cardano", "dogecoin"})
    assert abs(math.log(world.price_at(quiet, at) / world.price_at(quiet, at - timedelta(minutes=5)))) < 0.015


def test_tiny_prices_survive(world):
    pepe = world.points("pepe-classic", START, world.end_at)
    assert all(1e-9 < p[1] < 1e-6 for p in pepe)
    shib = world.price_at("shiba-inu", world.last_at)
    assert 1e-6 < shib < 1e-4
    roundtrip = json.loads(json.dumps({"p": pepe[0][1]}))["p"]
    assert roundtrip == pepe[0][1]


def test_market_caps_follow_price_and_one_asset_has_none(world):
    assert world.has_market_cap("bitcoin") and not world.has_market_cap("leo-token")
    for _, price, cap, volume in world.points("leo-token", START, START + timedelta(hours=2)):
        assert cap is None and price > 0 and volume > 0
    pts = world.points("solana", START, START + timedelta(hours=2))
    ratios = {round(cap / price, 3) for _, price, cap, _ in pts}
    assert len(ratios) == 1  # fixed supply: cap moves with price exactly
    assert all(v > 0 for *_, v in pts)


def test_gaps_remove_whole_asset_hours(world):
    assert world.gaps, "gaps=True must leave at least one asset-hour without points"
    for gap in world.gaps:
        lo = datetime.fromisoformat(gap["start_at"].replace("Z", "+00:00"))
        hi = datetime.fromisoformat(gap["end_at"].replace("Z", "+00:00"))
        assert START <= lo < hi <= world.end_at and (hi - lo) % timedelta(hours=1) == timedelta(0)
        assert world.points(gap["asset_id"], lo, hi) == []
        assert gap["missing_points"] == (hi - lo) // timedelta(seconds=STEP_S)
        before = world.points(gap["asset_id"], lo - timedelta(minutes=5), lo)[0][1]
        assert world.price_at(gap["asset_id"], lo + timedelta(minutes=30)) == before
        other = next(a for a in world.asset_ids if a != gap["asset_id"])
        assert len(world.points(other, lo, hi)) == gap["missing_points"]
        # No event sits in or right next to a hole: its jump would be invisible.
        for e in world.events:
            at = datetime.fromisoformat(e["at"].replace("Z", "+00:00"))
            assert not (lo - timedelta(hours=2) <= at < hi + timedelta(hours=2))
    clean = MarketWorld.generate("2026-01-05", 3, 20260105, gaps=False)
    assert clean.gaps == []
    assert len(clean.points("cardano", START, clean.end_at)) == 3 * 288


def test_truth_is_json_and_saved(world, tmp_path):
    truth = world.truth()
    assert truth["seed"] == 20260105
    assert truth["start_at"] == "2026-01-05T00:00:00Z" and truth["end_at"] == "2026-01-08T00:00:00Z"
    assert [a["id"] for a in truth["assets"]] == world.asset_ids
    assert truth["events"] == world.events and truth["gaps"] == world.gaps
    path = world.save_truth(tmp_path / "sub" / "truth.json")
    assert json.loads(path.read_text()) == json.loads(json.dumps(truth))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(start="05/01/2026", days=3, seed=1), "start: expected an ISO date"),
        (dict(start="2026-01-05", days=0, seed=1), "days"),
        (dict(start="2026-01-05", days=3, seed=-1), "seed"),
        (dict(start="2026-01-05", days=3, seed=1, n_assets=401), "n_assets"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(WorldError, match=message):
        MarketWorld.generate(**kwargs)
