"""link_interval on a tiny real warehouse: publishes through the gate, settles later, reruns alike.

Real Parquet through the one writer, real Great Expectations suites (the
first validation imports GX: ~10 s).
"""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from newsmarkets.config import ConfigError, parse_config
from newsmarkets.intervals import Interval
from newsmarkets.moves import MARKET
from newsmarkets.moves.pipeline import input_partitions, link_interval, unsettled_days
from newsmarkets.warehouse.writer import Warehouse

DAY = "2026-01-10"
START = pd.Timestamp("2026-01-07T00:00:00Z")  # three days of history before DAY
JUMP_AT = pd.Timestamp("2026-01-10T09:00:00Z")  # coin-a jumps +6 % in the hour 09:00-10:00


def config(root, **linking) -> object:
    return parse_config({
        "warehouse": str(root),
        "prices": {"provider": "coingecko", "base_url": "http://127.0.0.1:9/api/v3", "assets": ["coin-a", "coin-m"]},
        "linking": {"horizons": ["1h", "24h"], "estimation_window_days": 2, "min_estimation_points": 24,
                    "staleness_minutes": {"1h": 65, "24h": 360}, **linking},
    })


def prices(until: pd.Timestamp) -> pd.DataFrame:
    """Hourly prices of coin-m (the market) and coin-a (beta ~1.5 plus noise and one jump) up to ``until``."""
    hours = pd.date_range(START, until, freq="1h", inclusive="left")
    rng = np.random.default_rng(3)
    r_m = rng.normal(0, 0.004, len(hours))
    r_a = 1.5 * r_m + rng.normal(0, 0.003, len(hours))
    r_a[hours == JUMP_AT + pd.Timedelta(hours=1)] += 0.06  # the return ending at 10:00
    rows = []
    for asset, returns, base in (("coin-m", r_m, 100.0), ("coin-a", r_a, 5.0)):
        level = base * np.cumprod(1 + returns)
        rows.append(pd.DataFrame({
            "asset_id": asset, "symbol": asset[-1], "name": asset, "price_usd": level, "market_cap_usd": level * 1e9,
            "volume_24h_usd": 1e6, "change_24h_pct": 0.0, "observed_at": hours, "snapshot_at": hours,
            "source": "market_chart", "ingested_at": hours,
        }))
    return pd.concat(rows, ignore_index=True)


def write_prices(wh: Warehouse, until: pd.Timestamp) -> None:
    frame = prices(until)
    for day, part in frame.groupby(frame["observed_at"].dt.strftime("%Y-%m-%d")):
        wh.write("price_snapshots", part, Interval.for_day(day))


def article(article_id: str, story_id: str, published: str, title: str) -> dict:
    at = pd.Timestamp(published)
    return {
        "article_id": article_id, "url": f"https://x.example/{article_id}", "canonical_url": f"https://x.example/{article_id}",
        "source": "x", "title": title, "authors": ["A"], "published_at": at, "published_at_source": "meta",
        "updated_at": None, "language": "en", "section": None, "body": "text " * 100, "word_count": 100,
        "content_hash": article_id, "story_id": story_id, "is_original": True, "fetched_at": at + pd.Timedelta(hours=1),
    }


def write_news(wh: Warehouse) -> None:
    articles = pd.DataFrame([
        # one story, three copies; the copy stored first claims to be the original
        article("wire-copy-2", "story-a", "2026-01-10T10:30:00Z", "Coin A soars"),
        article("wire-orig", "story-a", "2026-01-10T09:05:00Z", "Coin A soars"),
        article("wire-copy-1", "story-a", "2026-01-10T09:50:00Z", "Coin A soars"),
        article("rates", "story-rates", "2026-01-10T15:00:00Z", "Central bank holds rates"),
        article("late", "story-late", "2026-01-10T23:30:00Z", "Coin A late note"),
    ])
    articles["updated_at"] = pd.to_datetime(articles["updated_at"], utc=True)
    wh.write("articles", articles, Interval.for_day(DAY))
    links = pd.DataFrame({
        "article_id": ["wire-copy-2", "wire-orig", "wire-copy-1", "late"],
        "asset_id": ["coin-a"] * 4, "mentions": [2] * 4, "in_title": [True] * 4,
        "matched_terms": [["Coin A"]] * 4,
        "published_at": articles.set_index("article_id").loc[["wire-copy-2", "wire-orig", "wire-copy-1", "late"], "published_at"].to_numpy(),
    })
    wh.write("article_assets", links, Interval.for_day(DAY))


@pytest.fixture()
def warehouse(tmp_path):
    cfg = config(tmp_path / "wh")
    wh = Warehouse.from_config(cfg)
    write_news(wh)
    return cfg, wh


def _stable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["computed_at"]).sort_values(list(frame.columns[:3])).reset_index(drop=True)


@pytest.mark.slow  # ~20 s: four days linked, eight Great Expectations validations
def test_day_is_linked_unsettled_rows_settle_on_a_later_run_and_reruns_agree(warehouse):
    cfg, wh = warehouse
    # prices reach 12:00 the next day: the 24h rows of the afternoon stories cannot settle yet
    write_prices(wh, pd.Timestamp("2026-01-11T12:00:00Z"))
    first = link_interval(cfg, Interval.for_day(DAY), "run-1")
    assert first["relinked"] == []
    rows = wh.read("news_market_moves")
    # originals only: wire-orig (coin-a + market), rates (market), late (coin-a + market); 2 horizons each
    assert sorted(rows["article_id"].unique()) == ["late", "rates", "wire-orig"]
    assert set(rows.loc[rows["article_id"] == "rates", "asset_id"]) == {MARKET}  # coin-less news reaches the market
    assert len(rows) == 5 * 2 and first["news_market_moves"] == 10
    orig = rows[rows["article_id"] == "wire-orig"].set_index(["asset_id", "horizon"])
    assert (orig["published_at"] == pd.Timestamp("2026-01-10T09:05:00Z")).all()
    hit = orig.loc[("coin-a", "1h")]
    assert hit["is_significant"] and hit["abnormal_return"] > 0.04 and hit["model"] == "market_model"
    assert orig.loc[("coin-a", "24h")]["is_settled"]  # 09:05 + 24h is before the prices' end
    unsettled = rows[~rows["is_settled"]]
    assert set(unsettled["article_id"]) == {"rates", "late"} and set(unsettled["horizon"]) == {"24h"}
    assert set(unsettled["missing_reason"]) == {"no prices yet"}

    moves = wh.read("market_moves")
    jump = moves[(moves["asset_id"] == "coin-a") & (moves["window_start_at"] == JUMP_AT)]
    assert len(jump) == 1 and jump["direction"].iloc[0] == "up"
    # the story once (its original), linked articles first
    assert list(jump["article_ids"].iloc[0]) == ["wire-orig"] and list(jump["article_titles"].iloc[0]) == ["Coin A soars"]
    assert (moves["window_start_at"] >= pd.Timestamp(DAY, tz="UTC")).all()

    # a rerun of the same day rewrites the same rows
    link_interval(cfg, Interval.for_day(DAY), "run-2")
    pd.testing.assert_frame_equal(_stable(wh.read("news_market_moves")), _stable(rows))

    # prices for the rest of the next day arrive; the next day's run relinks DAY too
    write_prices(wh, pd.Timestamp("2026-01-12T06:00:00Z"))
    second = link_interval(cfg, Interval.for_day("2026-01-11"), "run-3")
    assert second["relinked"] == [DAY]
    settled = wh.read("news_market_moves", dts=[DAY])
    assert settled["is_settled"].all() and settled["missing_reason"].isna().all()
    assert len(settled) == 10
    # nothing was published under any other interval than the day's own
    owners = wh.read_owned("news_market_moves", None, ["article_id"])
    assert len(owners) == len(wh.read("news_market_moves")) and set(owners["dt"]) == {DAY}
    assert set(owners["interval_key"]) == {Interval.for_day(DAY).key}
    # a later run finds nothing left to settle
    assert unsettled_days(cfg, wh, "2026-01-12") == []


def test_a_day_without_news_publishes_empty_tables(warehouse):
    cfg, wh = warehouse
    write_prices(wh, pd.Timestamp("2026-01-10T00:00:00Z"))
    out = link_interval(cfg, Interval.for_day("2026-01-08"), "run-1")
    assert out["news_market_moves"] == 0
    assert wh.read("news_market_moves").empty


def test_reads_only_the_partitions_the_day_needs(tmp_path):
    cfg = config(tmp_path / "wh")
    parts = input_partitions(cfg, DAY)
    assert parts["price_snapshots"] == ["2026-01-07", "2026-01-08", "2026-01-09", "2026-01-10", "2026-01-11",
                                        "2026-01-12"]
    assert parts["articles"] == ["2026-01-07", "2026-01-08", "2026-01-09", "2026-01-10"]
    assert parts["article_assets"] == ["2026-01-09", "2026-01-10"]


def test_linking_config_is_validated_strictly(tmp_path):
    cfg = config(tmp_path)
    assert cfg.linking.horizon_minutes == {"1h": 60, "24h": 1440}
    assert config(tmp_path, horizons=["24h", "15m"], staleness_minutes={"15m": 10, "24h": 360}).linking.horizons == ("15m", "24h")
    for bad, message in (
        ({"horizons": ["1 hour"]}, r"linking.horizons\[0\]"),
        ({"horizons": ["60m", "1h"]}, "same length"),
        ({"horizons": ["2h"], "staleness_minutes": {}}, "no limit for horizon '2h'"),
        ({"benchmark": "equal"}, "linking.benchmark"),
        ({"significance_z": 0}, "linking.significance_z"),
        ({"significance_q": 0}, "linking.significance_q"),
        ({"significance_q": 1.5}, "linking.significance_q"),
        ({"sigma_half_life_hours": -1}, "linking.sigma_half_life_hours"),
        ({"benchmark_excludes_asset": "yes"}, "linking.benchmark_excludes_asset"),
        ({"min_estimation_points": 2}, "linking.min_estimation_points"),
        ({"staleness_minutes": {"4h": 10}}, "linking.staleness_minutes.4h"),
        ({"lookback": 3}, "linking.lookback: unknown key"),
    ):
        with pytest.raises(ConfigError, match=message):
            config(tmp_path, **bad)
