"""As-of price lookups and the benchmark on tiny hand-made series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from newsmarkets.moves.benchmark import Benchmark, BenchmarkError
from newsmarkets.moves.prices import (
    STATUS_COARSE,
    STATUS_GAP,
    STATUS_NO_PRICES_YET,
    STATUS_OK,
    US_PER_MINUTE,
    PriceBook,
    PriceBookError,
    merge_asof_baseline,
    to_us,
)

T0 = pd.Timestamp("2026-01-05T00:00:00Z")


def at(minutes: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(minutes=minutes)


def frame(points: dict[str, list[tuple[float, float, float | None]]], source: str = "market_chart") -> pd.DataFrame:
    """{asset: [(minute, price, cap), ...]} -> a price_snapshots-like frame."""
    rows = [(a, at(m), p, c, source) for a, pts in points.items() for m, p, c in pts]
    return pd.DataFrame(rows, columns=["asset_id", "observed_at", "price_usd", "market_cap_usd", "source"])


def lookup(book: PriceBook, asset: str, minutes: list[float], limit_minutes: float):
    codes = book.asset_codes([asset] * len(minutes))
    return book.asof(codes, to_us([at(m) for m in minutes]), int(limit_minutes * US_PER_MINUTE))


def test_last_observation_at_or_before_within_the_limit():
    book = PriceBook(frame({"btc": [(0, 100.0, None), (5, 101.0, None), (10, 102.0, None)],
                            "eth": [(0, 10.0, None), (5, 11.0, None)]}))
    got = lookup(book, "btc", [0, 4, 5, 9.5, 10], limit_minutes=5)
    assert got.price.tolist() == [100.0, 100.0, 101.0, 101.0, 102.0]
    assert (got.stale_us // US_PER_MINUTE).tolist() == [0, 4, 0, 4, 0]
    assert got.status.tolist() == [STATUS_OK] * 5
    # another asset's later points never leak into this one
    assert lookup(book, "eth", [9], limit_minutes=5).price.tolist() == [11.0]


def test_before_the_first_point_is_a_gap_and_after_the_latest_is_no_prices_yet():
    book = PriceBook(frame({"btc": [(0, 100.0, None), (5, 101.0, None)], "eth": [(0, 10.0, None), (20, 11.0, None)]}))
    got = lookup(book, "btc", [-1, 19, 21], limit_minutes=5)
    assert got.status.tolist() == [STATUS_GAP, STATUS_GAP, STATUS_NO_PRICES_YET]
    assert np.isnan(got.price).all()


def test_stale_lookups_tell_coarse_granularity_from_gaps():
    hourly = [(60 * i, 100.0 + i, None) for i in range(6)]
    five_min_with_hole = [(5 * i, 50.0, None) for i in range(12)] + [(5 * i, 51.0, None) for i in range(30, 40)]
    book = PriceBook(frame({"hourly": hourly, "fine": five_min_with_hole}))
    # hourly data asked with a 10-minute limit: the data is too coarse, not missing
    assert lookup(book, "hourly", [37], 10).status.tolist() == [STATUS_COARSE]
    # ... and with a 65-minute limit it is fine
    assert lookup(book, "hourly", [37], 65).status.tolist() == [STATUS_OK]
    # 5-minute data with a hole from minute 55 to 150: a gap
    assert lookup(book, "fine", [100], 10).status.tolist() == [STATUS_GAP]
    # a missing hour inside hourly data is a gap at the 1h limit
    missing_hour = PriceBook(frame({"h": [(0, 1.0, None), (60, 1.0, None), (180, 1.0, None), (240, 1.0, None)]}))
    assert lookup(missing_hour, "h", [170], 65).status.tolist() == [STATUS_GAP]


def test_unknown_asset_is_a_gap_and_an_empty_book_has_no_prices_yet():
    book = PriceBook(frame({"btc": [(0, 100.0, None), (60, 100.0, None)]}))
    assert book.asof(np.array([-1]), to_us([at(30)]), 10 * US_PER_MINUTE).status.tolist() == [STATUS_GAP]
    empty = PriceBook(frame({}))
    assert empty.asof(np.array([-1]), to_us([at(0)]), US_PER_MINUTE).status.tolist() == [STATUS_NO_PRICES_YET]


def test_bad_rows_are_ignored_and_same_instant_sources_resolve_deterministically():
    prices = pd.concat([
        frame({"btc": [(0, 100.0, None), (5, -1.0, None), (10, np.nan, None)]}, source="market_chart"),
        frame({"btc": [(0, 100.5, None)]}, source="markets"),
    ])
    book = PriceBook(prices)
    assert len(book) == 1
    assert lookup(book, "btc", [0], 5).price.tolist() == [100.5]  # the markets snapshot wins a tie
    with pytest.raises(PriceBookError, match="missing column"):
        PriceBook(prices.drop(columns=["price_usd"]))
    naive = prices.assign(observed_at=prices["observed_at"].dt.tz_localize(None))
    with pytest.raises(PriceBookError, match="timezone-aware"):
        PriceBook(naive)


def test_vectorised_lookup_matches_pandas_merge_asof():
    rng = np.random.default_rng(7)
    points = {f"a{i}": [(float(m), float(rng.uniform(1, 100)), None) for m in np.sort(rng.choice(5000, 300, replace=False))]
              for i in range(8)}
    prices = frame(points)
    book = PriceBook(prices)
    queries = pd.DataFrame({"asset_id": rng.choice(list(points), 2000),
                            "at": [at(float(m)) for m in rng.uniform(-50, 5000, 2000)]})
    queries = queries[queries["at"] <= prices["observed_at"].max()]  # later: "no prices yet" by design
    ours = book.asof(book.asset_codes(queries["asset_id"]), to_us(queries["at"]), 10**15)
    baseline = merge_asof_baseline(prices, queries).to_numpy()
    found = ~np.isnan(baseline)
    np.testing.assert_array_equal(np.isnan(ours.price), ~found)
    np.testing.assert_array_equal(ours.price[found], baseline[found])


def test_cap_weighted_benchmark_by_hand():
    book = PriceBook(frame({
        "big": [(0, 10.0, 300.0), (60, 11.0, 330.0)],  # +10 %, cap 300
        "small": [(0, 5.0, 100.0), (60, 4.0, 80.0)],  # -20 %, cap 100
        "nocap": [(0, 1.0, None), (60, 2.0, None)],  # no market cap: not in a cap-weighted index
    }))
    bench = Benchmark(book, "cap_weighted", ["big", "small", "nocap", "untracked-absent"])
    spans = bench.spans(to_us([at(0)]), to_us([at(60)]), 5 * US_PER_MINUTE)
    assert spans.ret[0] == pytest.approx(0.75 * 0.10 + 0.25 * -0.20)
    assert spans.start_value[0] == pytest.approx(400.0)
    assert spans.end_value[0] == pytest.approx(330.0 + 80.0)
    assert spans.status.tolist() == [STATUS_OK]


def test_cap_weighted_benchmark_renormalises_over_constituents_with_prices():
    book = PriceBook(frame({"big": [(0, 10.0, 300.0), (60, 11.0, 330.0)], "small": [(0, 5.0, 100.0)],
                            "late": [(120, 1.0, 1.0)]}))
    bench = Benchmark(book, "cap_weighted", ["big", "small"])
    spans = bench.spans(to_us([at(0)]), to_us([at(60)]), 5 * US_PER_MINUTE)
    assert spans.ret[0] == pytest.approx(0.10)  # "small" has no price at the end: left out
    none = bench.spans(to_us([at(200)]), to_us([at(230)]), 5 * US_PER_MINUTE)
    assert none.status.tolist() == [STATUS_NO_PRICES_YET] and np.isnan(none.ret[0])


def test_bitcoin_benchmark_is_bitcoins_price():
    book = PriceBook(frame({"bitcoin": [(0, 100.0, 1e12), (60, 103.0, 1.03e12)], "eth": [(0, 1.0, 1e14), (60, 2.0, 2e14)]}))
    spans = Benchmark(book, "bitcoin", ["eth"]).spans(to_us([at(0)]), to_us([at(60)]), 5 * US_PER_MINUTE)
    assert spans.ret[0] == pytest.approx(0.03)
    assert (spans.start_value[0], spans.end_value[0]) == (100.0, pytest.approx(103.0))
    with pytest.raises(BenchmarkError, match="expected one of"):
        Benchmark(book, "equal", ["eth"])


def test_equal_weighted_benchmark_by_hand():
    book = PriceBook(frame({
        "big": [(0, 10.0, 300.0), (60, 11.0, 330.0)],  # +10 %
        "small": [(0, 5.0, 100.0), (60, 4.0, 80.0)],  # -20 %
        "nocap": [(0, 1.0, None), (60, 2.0, None)],  # +100 %: needs no market cap to count here
        "gone": [(0, 3.0, 3.0)],  # no price at the end: left out of the span
    }))
    spans = Benchmark(book, "equal_weighted", ["big", "small", "nocap", "gone"]).spans(
        to_us([at(0)]), to_us([at(60)]), 5 * US_PER_MINUTE)
    assert spans.ret[0] == pytest.approx((0.10 - 0.20 + 1.00) / 3)
    # $1 in each usable constituent at the start
    assert (spans.start_value[0], spans.end_value[0]) == (3.0, pytest.approx(1.1 + 0.8 + 2.0))


def test_median_benchmark_ignores_one_coins_jump():
    book = PriceBook(frame({
        "bitcoin": [(0, 100.0, 9e12), (60, 96.0, 8.64e12)],  # -4 %: the jump, most of the cap
        "eth": [(0, 10.0, 1e11), (60, 10.1, 1.01e11)],  # +1 %
        "sol": [(0, 5.0, 5e10), (60, 5.0, 5e10)],  # 0 %
        "xrp": [(0, 2.0, 2e10), (60, 1.98, 1.98e10)],  # -1 %
    }))
    start, end = to_us([at(0)]), to_us([at(60)])
    assert Benchmark(book, "cap_weighted", ["bitcoin", "eth", "sol", "xrp"]).spans(
        start, end, 5 * US_PER_MINUTE).ret[0] < -0.035  # bitcoin's drop is "the market"
    spans = Benchmark(book, "median", ["bitcoin", "eth", "sol", "xrp"]).spans(start, end, 5 * US_PER_MINUTE)
    assert spans.ret[0] == pytest.approx((0.0 - 0.01) / 2)  # the middle of -4, -1, 0, +1 %
    assert (spans.start_value[0], spans.end_value[0]) == (4.0, pytest.approx(4.0 * 0.995))


def test_a_benchmark_can_leave_each_rows_asset_out():
    book = PriceBook(frame({
        "big": [(0, 10.0, 300.0), (60, 11.0, 330.0)],  # +10 %
        "small": [(0, 5.0, 100.0), (60, 4.0, 80.0)],  # -20 %
        "alone": [(120, 1.0, 1.0), (180, 1.5, 1.5)],  # the only constituent with prices later
    }))
    bench = Benchmark(book, "cap_weighted", ["big", "small", "alone"])
    big, small, alone = book.asset_codes(["big", "small", "alone"])
    starts, ends = to_us([at(0)] * 3), to_us([at(60)] * 3)
    spans = bench.spans(starts, ends, 5 * US_PER_MINUTE, np.array([big, small, -1]))
    assert spans.ret.tolist() == [pytest.approx(-0.20), pytest.approx(0.10), pytest.approx(0.75 * 0.10 - 0.25 * 0.20)]
    # the same returns for many spans at once, one row per left-out asset
    grid = bench.returns_excluding(to_us([at(0)]), to_us([at(60)]), 5 * US_PER_MINUTE, np.array([big, small, -1]))
    assert grid[:, 0].tolist() == spans.ret.tolist()
    # an asset alone in its benchmark keeps it rather than an empty market
    later = bench.spans(to_us([at(120)]), to_us([at(180)]), 5 * US_PER_MINUTE, np.array([alone]))
    assert later.ret[0] == pytest.approx(0.5) and later.status.tolist() == [STATUS_OK]
    # a bitcoin benchmark has nothing to leave out
    btc = PriceBook(frame({"bitcoin": [(0, 100.0, 1.0), (60, 103.0, 1.0)]}))
    code = btc.asset_codes(["bitcoin"])
    assert Benchmark(btc, "bitcoin", []).spans(to_us([at(0)]), to_us([at(60)]), 5 * US_PER_MINUTE,
                                              code).ret[0] == pytest.approx(0.03)


def test_config_and_quality_suite_accept_exactly_the_benchmark_kinds():
    from newsmarkets.config import parse_config
    from newsmarkets.moves.benchmark import KINDS
    from newsmarkets.quality.suites import BENCHMARKS

    assert tuple(BENCHMARKS) == KINDS
    base = {"warehouse": "/tmp/x", "prices": {"provider": "coingecko", "base_url": "http://127.0.0.1:1/api/v3",
                                               "assets": ["bitcoin"]}}
    for kind in KINDS:
        assert parse_config({**base, "linking": {"benchmark": kind}}).linking.benchmark == kind
