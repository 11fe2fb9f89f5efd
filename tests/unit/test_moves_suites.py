"""The gold tables' suites: a computed batch passes, each broken rule is caught (real GX, in memory)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from newsmarkets.intervals import Interval
from newsmarkets.quality.gate import validate_frame
from newsmarkets.quality.suites import market_moves_suite, news_market_moves_suite

import test_moves_event_study as study  # the hand-built series of the maths tests

pytestmark = pytest.mark.slow  # ~10 GX validations: 20-70 s depending on load

DAY = Interval.for_day("2026-01-05")  # the events of the maths tests are published on 2026-01-06
NEXT = Interval.for_day("2026-01-06")


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    book = study.book_of(study.series("m", study.R_M, 100.0, cap=True), study.series("a", study.R_A, 10.0, cap=False))
    return study.run(book, study.events()).reset_index()


@pytest.fixture(scope="module")
def suite():
    return news_market_moves_suite(interval=NEXT, horizons=["15m", "1h"])


def failed(frame: pd.DataFrame, suite) -> set[str]:
    return {r.expectation for r in validate_frame("news_market_moves", frame, suite).failed_critical}


def test_computed_rows_pass(rows, suite):
    outcome = validate_frame("news_market_moves", rows, suite)
    assert outcome.success, [r.describe() for r in outcome.failed_critical]


@pytest.mark.parametrize("break_it, expected", [
    (lambda f: pd.concat([f, f.iloc[:1]], ignore_index=True), "expect_compound_columns_to_be_unique(article_id,asset_id,horizon)"),
    (lambda f: f.assign(horizon="2h"), "expect_column_values_to_be_in_set(horizon)"),
    (lambda f: f.assign(abnormal_z=np.where(f["missing_reason"].isna(), np.nan, f["abnormal_z"])),
     "expect_column_values_to_not_be_null(computed:abnormal_z)"),
    (lambda f: f.assign(is_settled=False), "expect_column_values_to_be_in_set(unsettled_only_without_prices)"),
    (lambda f: f.assign(abnormal_z=f["abnormal_z"] * np.inf), "expect_column_values_to_be_between(abnormal_z)"),
])
def test_each_broken_rule_is_caught(rows, suite, break_it, expected):
    assert expected in failed(break_it(rows.copy()), suite)


def test_other_days_rows_are_refused(rows):
    assert "expect_column_values_to_be_between(published_at)" in failed(
        rows, news_market_moves_suite(interval=DAY, horizons=["15m", "1h"]))


def test_market_moves_suite_accepts_an_empty_day_and_refuses_bad_rows():
    empty = pd.DataFrame({c: pd.Series(dtype=t) for c, t in {
        "asset_id": object, "window_start_at": "datetime64[us, UTC]", "window_end_at": "datetime64[us, UTC]",
        "price_start_usd": float, "price_end_usd": float, "move_return": float, "move_z": float,
        "sigma_1h": float, "estimation_points": "int64", "direction": object, "article_ids": object,
        "article_titles": object, "article_count": "int64", "linked_article_count": "int64",
        "benchmark": object, "computed_at": "datetime64[us, UTC]"}.items()})
    suite = market_moves_suite(interval=DAY)
    assert validate_frame("market_moves", empty, suite).success
    start = DAY.start + pd.Timedelta(hours=3)
    row = {"asset_id": "a", "window_start_at": start, "window_end_at": start + pd.Timedelta(hours=1),
           "price_start_usd": 1.0, "price_end_usd": 1.1, "move_return": 0.1, "move_z": 4.0, "sigma_1h": 0.01,
           "estimation_points": 100, "direction": "up", "article_ids": ["x"], "article_titles": ["X"],
           "article_count": 1, "linked_article_count": 2, "benchmark": "cap_weighted", "computed_at": start}
    bad = {r.expectation for r in validate_frame("market_moves", pd.DataFrame([row]), suite).failed_critical}
    assert bad == {"expect_column_pair_values_a_to_be_greater_than_b(article_count,linked_article_count)"}
