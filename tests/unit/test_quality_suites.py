"""The expectation suites: each critical rule catches its own bad batch, warnings stay warnings.

Validation runs for real in Great Expectations (in memory). The GX import is
paid once per test process (the gate caches one context), so the first test
here takes ~10-15 s and the rest a fraction of a second each.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from newsmarkets.intervals import Interval
from newsmarkets.quality.gate import validate_frame
from newsmarkets.quality.suites import (
    SUITES,
    SuiteDefinitionError,
    price_gaps_suite,
    price_snapshots_suite,
    suite_for,
)

HOUR = Interval(datetime(2026, 1, 5, 10, tzinfo=timezone.utc), datetime(2026, 1, 5, 11, tzinfo=timezone.utc))
TOLERANCE = timedelta(minutes=15)
TS = "datetime64[us, UTC]"
ASSETS = ["bitcoin", "ethereum", "solana", "ripple"]


def _ts(values) -> pd.Series:
    return pd.Series(pd.to_datetime(list(values), utc=True)).astype(TS)


def snapshot_frame(assets=ASSETS, *, observed_at=None, source="markets") -> pd.DataFrame:
    """A clean markets batch typed like newsmarkets.prices.transform builds it."""
    n = len(assets)
    observed = observed_at or [HOUR.start + timedelta(minutes=5 + i) for i in range(n)]
    return pd.DataFrame(
        {
            "asset_id": pd.array(assets, dtype="string"),
            "symbol": pd.array([a[:3] for a in assets], dtype="string"),
            "name": pd.array([a.title() for a in assets], dtype="string"),
            "price_usd": pd.array([100.0 + i for i in range(n)], dtype="Float64"),
            "market_cap_usd": pd.array([1e9 + i for i in range(n)], dtype="Float64"),
            "volume_24h_usd": pd.array([1e6] * n, dtype="Float64"),
            "change_24h_pct": pd.array([-1.5] * n, dtype="Float64"),
            "observed_at": _ts(observed),
            "snapshot_at": _ts([HOUR.end] * n),
            "source": pd.array([source] * n, dtype="string"),
            "ingested_at": _ts([HOUR.end + timedelta(seconds=3)] * n),
        }
    )


def markets_suite(expected_assets=len(ASSETS)):
    return price_snapshots_suite(interval=HOUR, expected_assets=expected_assets, tolerance=TOLERANCE, source="markets")


@pytest.fixture(scope="module")
def suite():
    return markets_suite()


def failed(outcome, severity="critical") -> set[str]:
    rows = outcome.failed_critical if severity == "critical" else outcome.failed_warnings
    return {r.expectation for r in rows}


def test_clean_batch_passes_every_expectation(suite):
    outcome = validate_frame("price_snapshots", snapshot_frame(), suite)
    assert outcome.success
    assert [r.expectation for r in outcome.results if not r.success] == []
    assert outcome.row_count == len(ASSETS)
    # Reported in the order declared (GX itself groups them by metric).
    labels = [r.expectation for r in outcome.results]
    assert len(labels) == len(set(labels)) == len(suite.expectations)
    assert labels[:2] == ["expect_column_values_to_not_be_null(asset_id)", "expect_column_values_to_not_be_null(symbol)"]
    assert labels[-1] == "expect_column_values_to_be_between(change_24h_pct)"


def _set(frame, column, row, value):
    frame.loc[row, column] = value
    return frame


BAD_BATCHES = {
    "null price": (lambda f: _set(f, "price_usd", 1, None), "expect_column_values_to_not_be_null(price_usd)", None),
    "negative price": (lambda f: _set(f, "price_usd", 2, -3.0), "expect_column_values_to_be_between(price_usd)", [-3.0]),
    "zero price": (lambda f: _set(f, "price_usd", 0, 0.0), "expect_column_values_to_be_between(price_usd)", [0.0]),
    "null symbol": (lambda f: _set(f, "symbol", 0, None), "expect_column_values_to_not_be_null(symbol)", None),
    "null ingested_at": (lambda f: _set(f, "ingested_at", 3, pd.NaT), "expect_column_values_to_not_be_null(ingested_at)", None),
    "duplicate key": (
        lambda f: pd.concat([f, f.iloc[[1]]], ignore_index=True).iloc[1:].reset_index(drop=True),
        "expect_compound_columns_to_be_unique(asset_id,observed_at,source)",
        None,
    ),
    "observed long before the interval": (
        lambda f: _set(f, "observed_at", 0, pd.Timestamp(HOUR.start - TOLERANCE - timedelta(seconds=1))),
        "expect_column_values_to_be_between(observed_at)",
        [(HOUR.start - TOLERANCE - timedelta(seconds=1)).isoformat()],
    ),
    "observed long after the interval": (
        lambda f: _set(f, "observed_at", 0, pd.Timestamp(HOUR.end + timedelta(hours=2))),
        "expect_column_values_to_be_between(observed_at)",
        None,
    ),
    "upper-case symbol": (lambda f: _set(f, "symbol", 1, "ETH"), "expect_column_values_to_match_regex(symbol)", ["ETH"]),
    "symbol with a space": (lambda f: _set(f, "symbol", 1, "e th"), "expect_column_values_to_match_regex(symbol)", ["e th"]),
    "wrong source": (lambda f: _set(f, "source", 1, "market_chart"), "expect_column_values_to_be_in_set(source)", ["market_chart"]),
    "too many rows": (
        lambda f: pd.concat([f, snapshot_frame(["near"])], ignore_index=True),
        "expect_table_row_count_to_be_between(non_empty_within_max)",
        len(ASSETS) + 1,
    ),
    "empty batch": (lambda f: f.iloc[0:0], "expect_table_row_count_to_be_between(non_empty_within_max)", 0),
}


@pytest.mark.parametrize("case", list(BAD_BATCHES), ids=list(BAD_BATCHES))
def test_each_critical_rule_catches_its_bad_batch(suite, case):
    spoil, label, observed = BAD_BATCHES[case]
    outcome = validate_frame("price_snapshots", spoil(snapshot_frame()), suite)
    assert not outcome.success
    assert label in failed(outcome), failed(outcome)
    culprit = next(r for r in outcome.failed_critical if r.expectation == label)
    if observed is not None:
        assert culprit.observed_value == observed
    if case == "empty batch":
        return  # an empty batch also (correctly) trips the warning on missing assets
    # One targeted defect trips its own rule; the duplicated row only adds the key violation.
    assert failed(outcome) == {label}


def test_observed_at_within_tolerance_passes(suite):
    edges = [
        HOUR.start - TOLERANCE,  # inclusive bounds
        HOUR.start - timedelta(minutes=10),
        HOUR.end + timedelta(minutes=10),
        HOUR.end + TOLERANCE,
    ]
    outcome = validate_frame("price_snapshots", snapshot_frame(observed_at=edges), suite)
    assert outcome.success, [r.describe() for r in outcome.failed_critical]


def test_missing_required_column_is_a_critical_failure_not_a_crash(suite):
    outcome = validate_frame("price_snapshots", snapshot_frame().drop(columns=["name"]), suite)
    assert failed(outcome) == {"expect_column_values_to_not_be_null(name)"}
    (culprit,) = outcome.failed_critical
    assert "name" in culprit.details["error"]
    assert "could not be evaluated" in culprit.describe()


def test_missing_asset_and_odd_market_numbers_are_only_warnings(suite):
    frame = snapshot_frame(ASSETS[:3])
    frame.loc[0, "market_cap_usd"] = -1.0
    frame.loc[1, "change_24h_pct"] = 25_000.0
    frame.loc[2, "volume_24h_usd"] = None  # absent is fine, not a warning
    outcome = validate_frame("price_snapshots", frame, suite)
    assert outcome.success
    assert failed(outcome, "warning") == {
        "expect_table_row_count_to_be_between(all_expected_assets)",
        "expect_column_values_to_be_between(market_cap_usd)",
        "expect_column_values_to_be_between(change_24h_pct)",
    }


def test_market_chart_rows_are_bounded_by_assets_times_points():
    assets = ["bitcoin", "ethereum"]
    suite = price_snapshots_suite(
        interval=HOUR, expected_assets=2, tolerance=TOLERANCE, source="market_chart", max_points_per_asset=3
    )
    three_points = [HOUR.start + timedelta(minutes=m) for m in (0, 20, 40)]
    frame = pd.concat(
        [snapshot_frame([a] * 3, observed_at=three_points, source="market_chart") for a in assets], ignore_index=True
    )
    assert validate_frame("price_snapshots", frame, suite).success
    extra = snapshot_frame(["bitcoin"], observed_at=[HOUR.start + timedelta(minutes=50)], source="market_chart")
    outcome = validate_frame("price_snapshots", pd.concat([frame, extra], ignore_index=True), suite)
    assert failed(outcome) == {"expect_table_row_count_to_be_between(non_empty_within_max)"}

    one_asset = validate_frame("price_snapshots", frame[frame["asset_id"] == "bitcoin"], suite)
    assert one_asset.success
    assert failed(one_asset, "warning") == {"expect_column_unique_value_count_to_be_between(asset_id)"}


def test_every_expectation_says_how_bad_and_why(suite):
    gaps = price_gaps_suite(interval=HOUR)
    for s in (suite, gaps):
        for expectation in s.expectations:
            assert expectation.meta["severity"] in ("critical", "warning")
            assert expectation.severity.value == expectation.meta["severity"]
            assert len(expectation.meta["why"]) > 10
    severities = {e.meta["severity"] for e in suite.expectations}
    assert severities == {"critical", "warning"}


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(source="coincap"), "source must be one of"),
        (dict(source="markets", max_points_per_asset=12), "one row per asset"),
        (dict(source="market_chart", max_points_per_asset=0), "max_points_per_asset"),
        (dict(source="markets", expected_assets=0), "expected_assets"),
        (dict(source="markets", tolerance=timedelta(minutes=-1)), "tolerance"),
    ],
)
def test_builder_refuses_parameters_that_describe_no_valid_batch(params, message):
    kwargs = {"interval": HOUR, "expected_assets": 4, "tolerance": TOLERANCE, **params}
    with pytest.raises(SuiteDefinitionError, match=message):
        price_snapshots_suite(**kwargs)


def test_registry_builds_suites_by_table_name():
    assert set(SUITES) == {"price_snapshots", "price_gaps", "articles", "article_assets", "fetch_log",
                           "news_market_moves", "market_moves", "assets"}
    suite = suite_for("price_gaps", interval=HOUR)
    assert suite.name == "price_gaps"
    with pytest.raises(SuiteDefinitionError, match="no expectation suite for table 'news'"):
        suite_for("news")


def gaps_frame(rows) -> pd.DataFrame:
    """rows: (asset_id, start, end, expected, received, reason)"""
    n = len(rows)
    return pd.DataFrame(
        {
            "asset_id": pd.array([r[0] for r in rows], dtype="string"),
            "gap_start_at": _ts([r[1] for r in rows]),
            "gap_end_at": _ts([r[2] for r in rows]),
            "expected_points": pd.array([r[3] for r in rows], dtype="int64"),
            "received_points": pd.array([r[4] for r in rows], dtype="int64"),
            "reason": pd.array([r[5] for r in rows], dtype="string"),
            "source": pd.array(["market_chart"] * n, dtype="string"),
            "run_id": pd.array(["scheduled__1"] * n, dtype="string"),
            "ingested_at": _ts([HOUR.end] * n),
        }
    )


def test_gaps_suite():
    suite = price_gaps_suite(interval=HOUR)
    good = gaps_frame([("near", HOUR.start, HOUR.end, 12, 0, "no_data"),
                       ("bitcoin", HOUR.start, HOUR.start + timedelta(minutes=30), 6, 0, "missing_hours")])
    assert validate_frame("price_gaps", good, suite).success
    assert validate_frame("price_gaps", good.iloc[0:0], suite).success  # no gaps is the good case

    backwards = gaps_frame([("near", HOUR.end, HOUR.start, 12, 0, "no_data")])
    assert failed(validate_frame("price_gaps", backwards, suite)) == {
        "expect_column_pair_values_a_to_be_greater_than_b(gap_end_at,gap_start_at)"
    }
    duplicated = pd.concat([good, good.iloc[[0]]], ignore_index=True)
    assert failed(validate_frame("price_gaps", duplicated, suite)) == {
        "expect_compound_columns_to_be_unique(asset_id,gap_start_at,source)"
    }
    odd = gaps_frame([("near", HOUR.start, HOUR.end, 12, 12, "lunch")])
    outcome = validate_frame("price_gaps", odd, suite)
    assert failed(outcome) == {"expect_column_values_to_be_in_set(reason)"}
    assert failed(outcome, "warning") == {"expect_column_pair_values_a_to_be_greater_than_b(expected_points,received_points)"}
