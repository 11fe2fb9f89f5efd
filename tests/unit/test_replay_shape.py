"""World knobs (newsmarkets.replay.shape): dense, realistic worlds on demand; the demo's world unchanged."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta

import numpy as np
import pytest

from newsmarkets.cli import main
from newsmarkets.replay.news_world import NewsWorld
from newsmarkets.replay.shape import ShapeError, WorldShape, scaled
from newsmarkets.replay.world import MarketWorld


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def dense():
    world = MarketWorld.generate("2026-01-05", 3, 7, n_assets=60, shape=scaled(337, events_per_day=20))
    return world, NewsWorld.generate(world, seed=world.seed)


def test_the_default_shape_is_the_demo_world():
    plain, shaped = MarketWorld.generate("2026-01-05", 3, 20260105), MarketWorld.generate(
        "2026-01-05", 3, 20260105, shape=WorldShape())
    assert plain.truth() == shaped.truth() and plain.truth()["shape"] == WorldShape().to_dict()
    assert [a.to_dict() for a in NewsWorld.generate(plain, 1).articles] == [
        a.to_dict() for a in NewsWorld.generate(shaped, 1).articles]


def test_events_per_day_effect_sizes_and_all_assets(dense):
    world, _ = dense
    per_day = {}
    for e in world.events:
        per_day[e["at"][:10]] = per_day.get(e["at"][:10], 0) + 1
        if e["kind"] == "asset":
            assert 1.0 <= abs(e["effect_pct"]) <= 3.0
        else:
            assert 2.0 <= abs(e["effect_pct"]) <= 4.0
    assert sorted(per_day.values()) == [20, 20, 20]
    # synthetic coins get events too, not only the named ones
    assert any(a.startswith("replay-coin-") for e in world.events if e["kind"] == "asset" for a in e["asset_ids"])


def test_a_reaction_spreads_over_its_minutes(dense):
    world, _ = dense
    e = next(e for e in world.events if e["kind"] == "asset" and abs(e["effect_pct"]) > 2.5)
    aid, at = e["asset_ids"][0], _at(e["at"])
    steps = [math.log(world.price_at(aid, at + timedelta(minutes=m)) / world.price_at(aid, at + timedelta(minutes=m - 5)))
             for m in (0, 5, 10)]
    whole = math.log(world.price_at(aid, at + timedelta(minutes=10)) / world.price_at(aid, at - timedelta(minutes=5)))
    assert whole == pytest.approx(e["effect_pct"] / 100, abs=0.012)
    # three 5-minute steps share the jump: none of them carries it alone
    assert all(abs(s) < abs(e["effect_pct"]) / 100 * 0.75 for s in steps), steps


def test_volatile_days_are_noisier():
    shape = WorldShape(events_per_day=(0, 0), volatility_by_day=(1.0, 3.0))
    world = MarketWorld.generate("2026-01-05", 2, 3, n_assets=25, shape=shape, gaps=False)
    start = world.start_at.timestamp()
    day_sd = []
    for day in range(2):
        rets = [np.diff(np.log(world.arrays(a, start + day * 86400, start + (day + 1) * 86400)[1]))
                for a in world.asset_ids]
        day_sd.append(float(np.std(np.concatenate(rets))))
    assert 2.4 < day_sd[1] / day_sd[0] < 3.6


def test_reports_lead_or_follow_the_move_and_bursts_follow(dense):
    world, news = dense
    events = {e["event_id"]: _at(e["at"]) for e in world.events}
    offsets = [(a.published_at - events[a.event_id]).total_seconds() / 60
               for a in news.articles if a.kind == "event" and a.is_original]
    assert min(offsets) >= -5 and max(offsets) <= 10 and max(offsets) > 0  # some moves start before the report
    firsts = {a.event_id: a.published_at for a in news.articles if a.kind == "event" and a.is_original}
    follow = [a for a in news.articles if a.kind == "follow_up"]
    assert follow and all(timedelta(minutes=5) <= a.published_at - firsts[a.event_id] <= timedelta(minutes=60)
                          for a in follow)
    notes = [a for a in news.articles if a.kind == "asset"]
    assert len(notes) == 3 * world.shape.notes_per_day
    originals_per_day = sum(a.is_original for a in news.articles) / 3
    assert 300 <= originals_per_day <= 380


@pytest.mark.parametrize("knobs, message", [
    ({"events_per_day": (5, 1)}, "events_per_day"),
    ({"asset_effect_pct": (0, 2)}, "asset_effect_pct"),
    ({"reaction_minutes": -1}, "reaction_minutes"),
    ({"volatility_by_day": (1.0, 0)}, "volatility_by_day"),
    ({"market_event_share": 2}, "market_event_share"),
])
def test_bad_knobs_are_named(knobs, message):
    with pytest.raises(ShapeError, match=message):
        WorldShape(**knobs)


def test_unknown_knob_is_named():
    with pytest.raises(ShapeError, match="unknown world knob.*colour"):
        WorldShape.from_dict({"colour": 1})


def test_replay_truth_takes_the_knobs(tmp_path, capsys):
    out = tmp_path / "truth.json"
    assert main(["replay", "truth", "--days", "2", "--assets", "40", "--stories-per-day", "200",
                 "--knob", "events_per_day=[12,12]", "--knob", "reaction_minutes=0", "--out", str(out)]) == 0
    truth = json.loads(out.read_text())
    assert truth["shape"]["events_per_day"] == [12, 12] and truth["shape"]["reaction_minutes"] == 0
    assert len(truth["events"]) == 24 and len(truth["assets"]) == 40
    assert main(["replay", "truth", "--knob", "asset_effect_pct=[3,1]", "--out", str(out)]) == 2
    assert "asset_effect_pct" in capsys.readouterr().err
