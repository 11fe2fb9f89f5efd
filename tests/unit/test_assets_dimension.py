"""The ``assets`` dimension: the provider's coin list as a table, and the linker vocabulary built from it.

Pure frame building on tiny inputs; publishing and reading back through a
real warehouse in tmp_path (Great Expectations runs for real).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from newsmarkets.intervals import Interval, IntervalNotServable
from newsmarkets.news.link import link_article
from newsmarkets.news.vocabulary import STALE_AFTER, load_vocabulary, vocabulary_dictionary
from newsmarkets.prices.coin_list import CoinListError, coin_list_frame
from newsmarkets.prices.coin_list_pipeline import check_listing_interval
from newsmarkets.quality.gate import QualityGateError, publish_if_valid
from newsmarkets.quality.suites import assets_suite
from newsmarkets.warehouse.writer import Warehouse

DAY = Interval(datetime(2026, 3, 1, tzinfo=timezone.utc), datetime(2026, 3, 2, tzinfo=timezone.utc))
NEXT = Interval(DAY.end, DAY.end + timedelta(days=1))
COINS = [
    {"id": "bitcoin", "symbol": "btc", "name": "Bitcoin"},
    {"id": "render-token", "symbol": "render", "name": "Render"},
    {"id": "kaspa", "symbol": "kas", "name": "Kaspa"},
    {"id": "wrapped-bitcoin", "symbol": "wbtc", "name": "Wrapped Bitcoin"},
    {"id": "ethereum", "symbol": "eth", "name": "Ethereum"},
]
RANKS = {"bitcoin": 1, "ethereum": 2, "wrapped-bitcoin": 15, "render-token": 40, "kaspa": 38}


def frame(coins=COINS, ranks=RANKS, previous=None, interval=DAY, tracked=("bitcoin", "kaspa", "render-token")):
    return coin_list_frame(coins, ranks, previous, tracked=list(tracked), listed_at=interval.end, source="coingecko",
                           ingested_at=interval.end + timedelta(minutes=3))


def test_one_row_per_coin_with_ranks_and_tracking():
    f = frame()
    assert list(f["asset_id"]) == sorted(c["id"] for c in COINS)
    row = f.set_index("asset_id").loc["kaspa"]
    assert (row["symbol"], row["name"], row["market_cap_rank"], bool(row["is_tracked"]), bool(row["is_listed"])) == (
        "kas", "Kaspa", 38, True, True)
    assert not f.set_index("asset_id").loc["ethereum", "is_tracked"]
    assert set(f["dt"]) == {"2026-03-02"} and (f["first_seen_at"] == f["last_seen_at"]).all()


def test_a_coin_the_provider_stops_listing_is_kept_as_delisted():
    first = frame()
    second = frame(coins=[c for c in COINS if c["id"] != "kaspa"], previous=first, interval=NEXT)
    kaspa = second.set_index("asset_id").loc["kaspa"]
    assert not kaspa["is_listed"] and pd.isna(kaspa["market_cap_rank"])
    assert kaspa["last_seen_at"] == pd.Timestamp(DAY.end) and kaspa["name"] == "Kaspa"
    btc = second.set_index("asset_id").loc["bitcoin"]
    assert btc["first_seen_at"] == pd.Timestamp(DAY.end) and btc["last_seen_at"] == pd.Timestamp(NEXT.end)


def test_unusable_records_are_skipped_and_an_empty_list_is_an_error():
    f = frame(coins=[*COINS, {"id": "", "symbol": "x", "name": "X"}, {"id": "nameless"}, "junk"])
    assert len(f) == len(COINS)
    with pytest.raises(CoinListError, match="no usable coin"):
        frame(coins=[{"id": "nameless"}])


def test_the_list_describes_now_so_a_past_day_is_refused():
    check_listing_interval(DAY, DAY.end + timedelta(minutes=20), "coingecko")
    with pytest.raises(IntervalNotServable, match="cannot be backfilled"):
        check_listing_interval(DAY, DAY.end + timedelta(days=30), "coingecko")


@pytest.fixture
def wh(tmp_path):
    return Warehouse(str(tmp_path / "warehouse"))


def test_published_copy_is_the_vocabulary_and_says_how_old_it_is(wh):
    builtin = load_vocabulary(wh, ["bitcoin", "kaspa"])
    assert builtin.source == "built-in" and builtin.unnamed == ("kaspa",)
    assert builtin.metadata(DAY.end)["vocabulary_is_stale"]

    publish_if_valid(wh, "assets", frame(), DAY, "refresh", assets_suite())
    vocab = load_vocabulary(wh, ["bitcoin", "kaspa"])
    assert vocab.source == "assets" and vocab.unnamed == () and vocab.listed_at == DAY.end
    fresh, stale = vocab.metadata(DAY.end + timedelta(hours=5)), vocab.metadata(DAY.end + STALE_AFTER + timedelta(hours=1))
    assert fresh["vocabulary"] == "assets" and not fresh["vocabulary_is_stale"]
    assert fresh["vocabulary_listed_at"] == "2026-03-02T00:00:00+00:00" and stale["vocabulary_is_stale"]
    linked = link_article("Kaspa miners brace for hashrate shock", "Kaspa fell 4% on Tuesday.", vocab.dictionary)
    assert [m.asset_id for m in linked] == ["kaspa"]


def test_a_bad_copy_is_quarantined_and_the_last_good_one_stays(wh):
    publish_if_valid(wh, "assets", frame(), DAY, "refresh", assets_suite())
    bad = frame(interval=NEXT)
    bad.loc[0, "market_cap_rank"] = 0
    with pytest.raises(QualityGateError):
        publish_if_valid(wh, "assets", bad, NEXT, "refresh", assets_suite())
    assert wh.partitions("assets") == ["2026-03-02"]
    assert load_vocabulary(wh, ["kaspa"]).listed_at == DAY.end


def test_untracked_coin_names_block_the_tracked_name_inside_them():
    dictionary, _ = vocabulary_dictionary(frame(), ["bitcoin"])
    wrapped = link_article("", "Wrapped Bitcoin supply on Ethereum fell 3% this week.", dictionary)
    assert "bitcoin" not in {m.asset_id for m in wrapped}
    assert [m.asset_id for m in link_article("", "Bitcoin rose 2% to $97,000.", dictionary)] == ["bitcoin"]


def test_everyday_names_need_evidence_distinctive_ones_a_context():
    dictionary, _ = vocabulary_dictionary(frame(), ["render-token", "kaspa"])
    assert link_article("", "Render the image at full resolution before you export it.", dictionary) == []
    assert [m.asset_id for m in link_article("", "Render jumped 14% as AI tokens rallied.", dictionary)] == [
        "render-token"]
    assert [m.asset_id for m in link_article("", "Kaspa developers shipped a new client.", dictionary)] == ["kaspa"]
