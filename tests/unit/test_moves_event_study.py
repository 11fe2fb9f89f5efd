"""The event-study maths on tiny hand-computed series: market model, fallbacks, gaps, stories."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from newsmarkets.moves import MARKET
from newsmarkets.moves.benchmark import Benchmark
from newsmarkets.moves.event_study import OUTPUT_COLUMNS, StudyParams, compute_moves, event_rows, story_originals
from newsmarkets.moves.prices import COARSE, GAP, NO_PRICES_YET, NOT_TRACKED, THIN_WINDOW, PriceBook

T0 = pd.Timestamp("2026-01-05T00:00:00Z")
NOW = datetime(2026, 1, 9, tzinfo=timezone.utc)
HOURS = 30
PARAMS = StudyParams(horizons={"15m": 15, "1h": 60}, staleness_minutes={"15m": 10, "1h": 65},
                     window_days=1, step_minutes=60, min_points=10, significance_z=1.96)

rng = np.random.default_rng(11)
R_M = rng.normal(0, 0.01, HOURS)  # market return of hour k -> k+1
NOISE = rng.normal(0, 0.002, HOURS)
R_A = 0.0005 + 2.0 * R_M + NOISE
R_A[24] += 0.03  # the news: +3 % abnormal in hour 24 -> 25


def hour(k: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(hours=k)


def series(asset: str, returns: np.ndarray, start_price: float, *, cap: bool, skip=()) -> pd.DataFrame:
    prices = start_price * np.concatenate([[1.0], np.cumprod(1 + returns)])
    keep = [k for k in range(len(prices)) if k not in skip]
    return pd.DataFrame({
        "asset_id": asset, "observed_at": [hour(k) for k in keep], "price_usd": prices[keep],
        "market_cap_usd": prices[keep] * 1e6 if cap else np.nan, "source": "market_chart",
    })


def book_of(*frames: pd.DataFrame) -> PriceBook:
    return PriceBook(pd.concat(frames, ignore_index=True))


def events(asset: str = "a", published: pd.Timestamp = hour(24.5)) -> pd.DataFrame:
    return pd.DataFrame({"article_id": ["art1", "art1"], "story_id": ["s1", "s1"], "asset_id": [asset, MARKET],
                         "published_at": [published, published]})


def run(book: PriceBook, evs: pd.DataFrame, params: StudyParams = PARAMS, tracked=("a", "m")) -> pd.DataFrame:
    out = compute_moves(evs, book, Benchmark(book, "cap_weighted", ["m"]), params,
                        tracked_assets=frozenset(tracked), computed_at=NOW)
    return out.set_index(["asset_id", "horizon"])


def test_market_model_by_hand():
    out = run(book_of(series("m", R_M, 100.0, cap=True), series("a", R_A, 10.0, cap=False)), events())
    row = out.loc[("a", "1h")]
    # the window: the 24 hourly returns ending at 24:00, the last grid point at or before 00:30
    x, y = R_M[:24], R_A[:24]
    beta, alpha = np.polyfit(x, y, 1)
    sigma = np.sqrt(np.sum((y - alpha - beta * x) ** 2) / (24 - 2))
    # as-of prices: 24:00 for 00:30 and 25:00 for 01:30 (hourly data, 1h limit 65 min)
    asset_return, market_return = R_A[24], R_M[24]
    abnormal = asset_return - (alpha + beta * market_return)
    assert row["model"] == "market_model" and row["estimation_points"] == 24
    assert row["beta"] == pytest.approx(beta) and row["alpha"] == pytest.approx(alpha)
    assert row["residual_sigma"] == pytest.approx(sigma)
    assert row["asset_return"] == pytest.approx(asset_return)
    assert row["market_return"] == pytest.approx(market_return)
    assert row["abnormal_return"] == pytest.approx(abnormal)
    assert row["abnormal_z"] == pytest.approx(abnormal / sigma)
    assert row["abnormal_return"] == pytest.approx(0.03, abs=0.01)
    assert bool(row["is_significant"]) and bool(row["is_settled"]) and row["missing_reason"] is None
    assert row["price_gap_minutes"] == pytest.approx(30.0)
    assert row["horizon_end_at"] == hour(25.5)


def test_market_rows_are_the_benchmark_against_its_own_mean_and_volatility():
    out = run(book_of(series("m", R_M, 100.0, cap=True), series("a", R_A, 10.0, cap=False)), events())
    row = out.loc[(MARKET, "1h")]
    mean, sd = R_M[:24].mean(), R_M[:24].std(ddof=1)
    assert row["model"] == "mean_adjusted"
    assert row["asset_return"] == pytest.approx(R_M[24]) and row["market_return"] == pytest.approx(R_M[24])
    assert row["abnormal_return"] == pytest.approx(R_M[24] - mean)
    assert row["abnormal_z"] == pytest.approx((R_M[24] - mean) / sd)
    assert np.isnan(row["beta"])
    # the level of a cap-weighted benchmark is the constituents' combined cap
    assert row["price_at_publish_usd"] == pytest.approx(100.0 * np.prod(1 + R_M[:24]) * 1e6)


def test_fifteen_minutes_on_hourly_data_is_too_coarse():
    out = run(book_of(series("m", R_M, 100.0, cap=True), series("a", R_A, 10.0, cap=False)), events())
    for asset in ("a", MARKET):
        row = out.loc[(asset, "15m")]
        assert row["missing_reason"] == COARSE
        assert np.isnan(row["price_at_publish_usd"]) and np.isnan(row["abnormal_z"])
        assert bool(row["is_settled"]) and not bool(row["is_significant"])


def test_thin_window_falls_back_to_market_adjusted():
    thin = StudyParams(**{**PARAMS.__dict__, "min_points": 30})
    out = run(book_of(series("m", R_M, 100.0, cap=True), series("a", R_A, 10.0, cap=False)), events(), thin)
    row = out.loc[("a", "1h")]
    spread = R_A[:24] - R_M[:24]
    assert row["model"] == "market_adjusted" and row["beta"] == 1.0 and row["alpha"] == 0.0
    assert row["abnormal_return"] == pytest.approx(R_A[24] - R_M[24])
    assert row["abnormal_z"] == pytest.approx((R_A[24] - R_M[24]) / spread.std(ddof=1))
    assert out.loc[(MARKET, "1h")]["model"] == "zero_mean"
    assert out.loc[(MARKET, "1h")]["abnormal_return"] == pytest.approx(R_M[24])


def test_no_estimation_window_leaves_z_null_with_its_reason():
    late = series("a", R_A, 10.0, cap=False).iloc[24:]  # the asset's first point is at 24:00
    out = run(book_of(series("m", R_M, 100.0, cap=True), late), events())
    row = out.loc[("a", "1h")]
    assert row["estimation_points"] == 0 and row["missing_reason"] == THIN_WINDOW
    assert row["asset_return"] == pytest.approx(R_A[24])  # the prices are there, the scale is not
    assert np.isnan(row["abnormal_z"]) and not bool(row["is_significant"]) and bool(row["is_settled"])


def test_a_missing_hour_is_a_gap():
    out = run(book_of(series("m", R_M, 100.0, cap=True), series("a", R_A, 10.0, cap=False, skip={25})), events())
    row = out.loc[("a", "1h")]
    assert row["missing_reason"] == GAP and bool(row["is_settled"])
    assert np.isnan(row["asset_return"]) and np.isnan(row["abnormal_return"])
    assert row["price_gap_minutes"] == pytest.approx(90.0)  # the stalest price found was 90 min old
    # the market itself is unaffected by one asset's hole
    assert out.loc[(MARKET, "1h")]["missing_reason"] is None


def test_horizon_past_the_latest_prices_is_unsettled_then_settles():
    cut = 26  # prices up to 25:00 only; the 1h horizon ends at 25:30
    early = book_of(series("m", R_M[:cut - 1], 100.0, cap=True), series("a", R_A[:cut - 1], 10.0, cap=False))
    first = run(early, events())
    for asset in ("a", MARKET):
        row = first.loc[(asset, "1h")]
        assert row["missing_reason"] == NO_PRICES_YET and not bool(row["is_settled"])
        assert np.isnan(row["asset_return"]) and not bool(row["is_significant"])
    later = run(book_of(series("m", R_M, 100.0, cap=True), series("a", R_A, 10.0, cap=False)), events())
    assert later.loc[("a", "1h")]["is_settled"] and later.loc[("a", "1h")]["missing_reason"] is None


def test_untracked_asset_says_so():
    out = run(book_of(series("m", R_M, 100.0, cap=True)), events(asset="pepe"), tracked=("m",))
    assert set(out.loc[("pepe", slice(None)), "missing_reason"]) == {NOT_TRACKED}
    assert out.loc[("pepe", slice(None)), "is_settled"].all()
    # a tracked asset without a single price is a gap, not "untracked"
    tracked = run(book_of(series("m", R_M, 100.0, cap=True)), events(asset="pepe"), tracked=("m", "pepe"))
    assert tracked.loc[("pepe", "1h")]["missing_reason"] == GAP


def test_a_story_with_three_copies_counts_once_at_its_earliest_copy():
    articles = pd.DataFrame({
        "article_id": ["copy2", "orig", "copy1", "other"],
        "story_id": ["s", "s", "s", "t"],
        # the stored flag is wrong on purpose (copies processed out of order)
        "is_original": [True, False, False, True],
        "published_at": pd.to_datetime(["2026-01-05T03:10Z", "2026-01-05T01:00Z", "2026-01-05T02:40Z",
                                         "2026-01-05T05:00Z"], utc=True),
        "title": ["T", "T", "T", "U"],
    })
    links = pd.DataFrame({"article_id": ["copy2", "orig", "copy1", "other"], "asset_id": ["a", "a", "a", "m"]})
    originals = story_originals(articles)
    assert sorted(originals["article_id"]) == ["orig", "other"]
    evs = event_rows(originals, links, hour(0), hour(24))
    assert evs[["article_id", "asset_id"]].values.tolist() == [
        ["orig", "a"], ["orig", MARKET], ["other", "m"], ["other", MARKET]]
    assert (evs.loc[evs["article_id"] == "orig", "published_at"] == pd.Timestamp("2026-01-05T01:00Z")).all()
    # an original before the day belongs to that day's batch, its later copies to none
    assert event_rows(originals, links, hour(2), hour(24))["article_id"].unique().tolist() == ["other"]


def test_rows_cover_every_event_and_horizon_once_and_reruns_agree():
    book = book_of(series("m", R_M, 100.0, cap=True), series("a", R_A, 10.0, cap=False))
    first, second = run(book, events()), run(book, events())
    assert len(first) == 2 * 2 and first.index.is_unique
    pd.testing.assert_frame_equal(first, second)
    empty = compute_moves(events().iloc[:0], book, Benchmark(book, "cap_weighted", ["m"]), PARAMS,
                          tracked_assets=frozenset(), computed_at=NOW)
    assert list(empty.columns) == OUTPUT_COLUMNS == list(first.reset_index()[OUTPUT_COLUMNS].columns)


def test_a_price_stamped_at_the_publish_instant_is_not_the_price_before_the_news():
    # published at 25:00 exactly: the 25:00 price already carries the hour's jump
    book = book_of(series("m", R_M, 100.0, cap=True), series("a", R_A, 10.0, cap=False))
    row = run(book, events(published=hour(25))).loc[("a", "1h")]
    assert row["price_at_publish_usd"] == pytest.approx(10.0 * np.prod(1 + R_A[:24]))  # the 24:00 price
    assert row["asset_return"] == pytest.approx((1 + R_A[24]) * (1 + R_A[25]) - 1)
    assert row["abnormal_return"] == pytest.approx(0.03, abs=0.015) and row["is_significant"]


def test_p_values_are_two_sided_normal_and_q_values_benjamini_hochberg():
    from newsmarkets.moves.event_study import bh_q_values, two_sided_p

    assert two_sided_p(np.array([0.0, 1.959963984540054, -1.959963984540054, np.nan])) == pytest.approx(
        [1.0, 0.05, 0.05, np.nan], nan_ok=True)
    # by hand: sorted p 0.01, 0.02, 0.03, 0.5 (m = 4) -> 0.04, 0.04, 0.04, 0.5; NaN stays out of the family
    q = bh_q_values(np.array([0.03, np.nan, 0.5, 0.01, 0.02]))
    assert q == pytest.approx([0.04, np.nan, 0.5, 0.04, 0.04], nan_ok=True)
    assert np.isnan(bh_q_values(np.array([np.nan]))).all() and bh_q_values(np.array([0.9, 0.95])).max() <= 1.0


def test_rows_carry_p_and_q_of_their_day_and_horizon():
    import math

    book = book_of(series("m", R_M, 100.0, cap=True), series("a", R_A, 10.0, cap=False))
    out = run(book, events())
    for key in [("a", "1h"), (MARKET, "1h")]:
        row = out.loc[key]
        assert row["p_value"] == pytest.approx(math.erfc(abs(row["abnormal_z"]) / math.sqrt(2)))
    family = out.xs("1h", level="horizon")  # one day, one horizon: the asset row and the market row
    assert family["q_value"].to_numpy() == pytest.approx(_bh(family["p_value"].to_numpy()))
    assert (family["q_value"] >= family["p_value"]).all()
    assert np.isnan(out.loc[("a", "15m"), "p_value"]) and np.isnan(out.loc[("a", "15m"), "q_value"])  # too coarse


def _bh(p: np.ndarray) -> np.ndarray:
    order = np.argsort(p)
    m = len(p)
    q = np.empty(m)
    running = 1.0
    for rank in range(m, 0, -1):
        running = min(running, p[order[rank - 1]] * m / rank)
        q[order[rank - 1]] = running
    return q


def test_pre_publication_return_shows_a_move_that_began_before_the_story():
    leaked = R_A.copy()
    leaked[23] += 0.04  # the move starts in hour 23 -> 24, before the story at 24:30
    book = book_of(series("m", R_M, 100.0, cap=True), series("a", leaked, 10.0, cap=False))
    row = run(book, events()).loc[("a", "1h")]
    # window: the hour before the price at publication (24:00), i.e. 23:00 -> 24:00 (the last price before 23:30)
    assert row["pre_publish_return"] == pytest.approx(leaked[23])
    assert row["pre_publish_abnormal_return"] == pytest.approx(leaked[23] - (row["alpha"] + row["beta"] * R_M[23]))
    assert row["pre_publish_abnormal_return"] > 0.02
    market = run(book, events()).loc[(MARKET, "1h")]
    assert market["pre_publish_return"] == pytest.approx(R_M[23])


def test_a_second_story_on_the_asset_is_a_follow_up_and_confounds_the_first():
    book = book_of(series("m", R_M, 100.0, cap=True), series("a", R_A, 10.0, cap=False))
    two = pd.concat([events(), events(published=hour(24.75)).assign(article_id="art2", story_id="s2")],
                    ignore_index=True)
    out = compute_moves(two, book, Benchmark(book, "cap_weighted", ["m"]), PARAMS,
                        tracked_assets=frozenset({"a", "m"}), computed_at=NOW).set_index(["article_id", "asset_id",
                                                                                           "horizon"])
    first, second = out.loc[("art1", "a", "1h")], out.loc[("art2", "a", "1h")]
    assert first["event_id"] == "art1" and not first["is_follow_up"]
    assert second["event_id"] == "art1" and second["is_follow_up"]
    assert second["is_confounded"] and second["confounding_article_id"] == "art1"
    assert not first["is_confounded"] and first["confounding_article_id"] is None  # art2 is its own follow-up
    lone = run(book, events()).loc[("a", "1h")]
    assert lone["event_id"] == "art1" and not lone["is_follow_up"] and not lone["is_confounded"]


def six_coin_book(drop_at: pd.Timestamp) -> PriceBook:
    """Six coins on one market factor (bitcoin 60 % of the cap), hourly for a day, then 5-minute points;
    bitcoin drops 4 % at ``drop_at`` and nothing else happens."""
    gen = np.random.default_rng(5)
    factor = gen.normal(0, 0.01, 24)
    caps = {"bitcoin": 60.0, "ethereum": 15.0, "solana": 10.0, "ripple": 8.0, "cardano": 4.0, "dogecoin": 3.0}
    frames = []
    for i, (coin, cap) in enumerate(caps.items()):
        hourly = factor + gen.normal(0, 0.002, 24)
        price = 100.0 * np.concatenate([[1.0], np.cumprod(1 + hourly)])
        times = [hour(k) for k in range(25)]
        fine = [hour(24) + pd.Timedelta(minutes=5 * j) for j in range(1, 37)]
        level = price[-1] * np.cumprod(1 + gen.normal(0, 0.0004, len(fine)))
        if coin == "bitcoin":
            level = np.where(np.array(fine) >= drop_at, level * 0.96, level)
        frames.append(pd.DataFrame({"asset_id": coin, "observed_at": times + fine,
                                    "price_usd": np.concatenate([price, level]),
                                    "market_cap_usd": np.concatenate([price, level]) * cap * 1e9,
                                    "source": "market_chart"}))
    return PriceBook(pd.concat(frames, ignore_index=True))


def test_a_coin_that_dominates_the_index_cannot_make_the_others_abnormal():
    # issue 14: a bitcoin story, then bitcoin drops 4 %; an unrelated ethereum story 10 minutes before
    # the drop looked +2 % abnormal (bitcoin's drop, seen through a cap-weighted benchmark)
    book = six_coin_book(hour(24) + pd.Timedelta(minutes=35))
    coins = ["bitcoin", "ethereum", "solana", "ripple", "cardano", "dogecoin"]
    evs = pd.DataFrame({"article_id": ["btc-story", "eth-story"], "story_id": ["s1", "s2"],
                        "asset_id": ["bitcoin", "ethereum"],
                        "published_at": [hour(24) + pd.Timedelta(minutes=30), hour(24) + pd.Timedelta(minutes=25)]})

    def rows(kind: str, without_asset: bool) -> pd.DataFrame:
        params = StudyParams(horizons={"1h": 60}, staleness_minutes={"1h": 65}, window_days=1, step_minutes=60,
                             min_points=10, benchmark=kind, benchmark_excludes_asset=without_asset)
        out = compute_moves(evs, book, Benchmark(book, kind, coins), params, tracked_assets=frozenset(coins),
                            computed_at=NOW)
        return out.set_index("asset_id")

    today = rows("cap_weighted", False)
    assert today.loc["ethereum", "is_significant"] and today.loc["ethereum", "abnormal_return"] > 0.015
    assert today.loc["bitcoin", "abnormal_return"] > -0.025  # most of its own drop is "the market"

    robust = rows("median", True)
    assert not robust.loc["ethereum", "is_significant"]
    assert abs(robust.loc["ethereum", "abnormal_return"]) < 0.005
    assert robust.loc["bitcoin", "is_significant"]
    assert robust.loc["bitcoin", "abnormal_return"] == pytest.approx(-0.04, abs=0.006)
    # leaving bitcoin out of its own cap-weighted benchmark recovers its drop too
    assert rows("cap_weighted", True).loc["bitcoin", "abnormal_return"] == pytest.approx(-0.04, abs=0.006)


def test_recent_returns_weigh_more_in_the_sigma_and_an_old_jump_is_capped():
    from newsmarkets.moves.event_study import residual_sigma

    gen = np.random.default_rng(3)
    calm, wild = gen.normal(0, 0.01, 156), gen.normal(0, 0.03, 12)
    dev = np.concatenate([calm, wild])[None, :]  # oldest first: the last 12 hours are 3x as volatile
    paired = np.ones_like(dev, dtype=bool)
    alike = residual_sigma(dev, paired, np.array([2]))[0]
    assert alike == pytest.approx(np.sqrt((dev ** 2).sum() / (168 - 2)))  # the old estimator exactly
    recent = residual_sigma(dev, paired, np.array([2]), half_life_steps=6)[0]
    assert alike < 0.015 and recent > 0.022  # the regime shows within hours, not after a week

    jumped = np.concatenate([gen.normal(0, 0.01, 167), [0.0]])
    jumped[100] = 0.10  # an earlier story's 10 % jump, 68 hours back
    without = np.delete(jumped, 100)[None, :]
    plain = residual_sigma(jumped[None, :], np.ones((1, 168), dtype=bool), np.array([2]))[0]
    capped = residual_sigma(jumped[None, :], np.ones((1, 168), dtype=bool), np.array([2]), clip=4)[0]
    reference = residual_sigma(without, np.ones((1, 167), dtype=bool), np.array([2]))[0]
    assert plain > 1.2 * reference  # one jump inflates the whole window's sigma
    assert capped == pytest.approx(reference, rel=0.08)
    # unpaired returns weigh nothing
    holes = paired.copy()
    holes[0, -12:] = False
    assert residual_sigma(dev, holes, np.array([2]), half_life_steps=6)[0] < 0.015


def test_the_config_sets_the_sigma_and_the_benchmark():
    from newsmarkets.config import load_config

    params = StudyParams.from_config(load_config(None).linking)
    assert (params.sigma_half_life_hours, params.sigma_clip) == (6.0, 4.0)
    assert (params.benchmark, params.benchmark_excludes_asset) == ("median", True)


def test_a_row_past_the_z_threshold_needs_its_q_value_too():
    # the asset's 1h abnormal return set to z = 2.2 (p 0.028); its day's 1h family is it and the market row,
    # so Benjamini-Hochberg gives q = 2 x 0.028 = 0.056: significant by |z| alone, not at q <= 0.05
    r_m = R_M.copy()
    r_m[24] = R_M[:24].mean()  # a quiet market hour: the market row's p is about 1
    x, y = r_m[:24], (0.0005 + 2.0 * r_m + NOISE)[:24]
    beta, alpha = np.polyfit(x, y, 1)
    sigma = np.sqrt(np.sum((y - alpha - beta * x) ** 2) / (24 - 2))
    r_a = 0.0005 + 2.0 * r_m + NOISE
    r_a[24] += 2.2 * sigma - (r_a[24] - alpha - beta * r_m[24])
    book = book_of(series("m", r_m, 100.0, cap=True), series("a", r_a, 10.0, cap=False))
    by_z = run(book, events())
    by_q = run(book, events(), params=StudyParams(**{**PARAMS.__dict__, "significance_q": 0.05}))
    assert by_z.loc[("a", "1h"), "abnormal_z"] == pytest.approx(2.2)
    assert by_q.loc[("a", "1h"), "q_value"] == pytest.approx(0.0556, abs=0.001)
    assert bool(by_z.loc[("a", "1h"), "is_significant"]) and not bool(by_q.loc[("a", "1h"), "is_significant"])
    # a clear move keeps it at any level: +3 % abnormal is z ~ 17
    strong = run(book_of(series("m", R_M, 100.0, cap=True), series("a", R_A, 10.0, cap=False)), events(),
                 params=StudyParams(**{**PARAMS.__dict__, "significance_q": 0.001}))
    assert bool(strong.loc[("a", "1h"), "is_significant"])
