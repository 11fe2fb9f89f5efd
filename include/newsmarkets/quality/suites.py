"""Expectation suites, one builder per table, defined once.

A builder takes the batch's parameters (its interval, how many assets the
config expects, the source) and returns a Great Expectations
``ExpectationSuite``. Every expectation carries
``meta={"severity": "critical" | "warning", "why": ...}`` (mirrored in GX's own
``severity`` field): a critical failure quarantines the batch, a warning is
recorded and logged but the batch is published.

Great Expectations takes seconds to import, so it is imported inside the
builders, never when this module is imported (DAG files may import it).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Callable

from newsmarkets.intervals import Interval
from newsmarkets.moves.benchmark import KINDS as BENCHMARKS
from newsmarkets.news.article_page import story_floor
from newsmarkets.quality.results import SEVERITIES, expectation_label
from newsmarkets.warehouse.schemas import ARTICLE_ASSETS, ARTICLES, ASSETS, FETCH_LOG, PRICE_GAPS, PRICE_SNAPSHOTS, TableSpec
from newsmarkets.warehouse.schemas import MARKET_MOVES, NEWS_MARKET_MOVES

PRICE_SOURCES = ("markets", "market_chart")
GAP_REASONS = ("no_data", "missing_hours", "fetch_failed", "refresh_failed")
# CoinGecko symbols are short lower-case tickers; a few carry '.', '-', '_' or '$'.
SYMBOL_REGEX = r"^[a-z0-9.\-_$]+$"
# A 24 h change below -100 % is impossible; above +10000 % is almost surely a unit error.
CHANGE_24H_PCT_RANGE = (-100.0, 10_000.0)


class SuiteDefinitionError(ValueError):
    """A suite builder was given parameters that cannot describe a valid batch."""


def _required_columns(spec: TableSpec) -> list[str]:
    # The writer computes the partition column, so batches need not carry it.
    return [f.name for f in spec.schema if not f.nullable and f.name != spec.partition_by]


class _SuiteBuilder:
    """Collects expectations with severity and reason, refusing duplicate labels."""

    def __init__(self, name: str) -> None:
        from newsmarkets.quality.gate import gx_context, load_gx

        gx = load_gx()
        gx_context()  # GX refuses to build a suite before a context exists
        import great_expectations.expectations as gxe

        self._gxe = gxe
        self.suite = gx.ExpectationSuite(name=name)
        self._labels: set[str] = set()

    def add(self, kind: str, *, severity: str, why: str, check: str | None = None, **kwargs: Any) -> None:
        if severity not in SEVERITIES:
            raise SuiteDefinitionError(f"suite {self.suite.name!r}: severity {severity!r} is not one of {SEVERITIES}")
        meta = {"severity": severity, "why": why, **({"check": check} if check else {})}
        expectation = getattr(self._gxe, kind)(**kwargs, meta=meta, severity=severity)
        # dq_results is keyed by label, so two expectations must never share one.
        label = expectation_label(expectation.expectation_type, kwargs, meta)
        if label in self._labels:
            raise SuiteDefinitionError(f"suite {self.suite.name!r}: two expectations are both labelled {label}; give one a check=")
        self._labels.add(label)
        self.suite.add_expectation(expectation)

    def not_null(self, columns: list[str], *, why: str) -> None:
        for column in columns:
            self.add("ExpectColumnValuesToNotBeNull", column=column, severity="critical", why=why)


def _window(interval: Interval, tolerance: timedelta) -> tuple:
    if not isinstance(tolerance, timedelta) or tolerance < timedelta(0):
        raise SuiteDefinitionError(f"tolerance must be a non-negative timedelta, got {tolerance!r}")
    return interval.start - tolerance, interval.end + tolerance


def price_snapshots_suite(
    *,
    interval: Interval,
    expected_assets: int,
    tolerance: timedelta,
    source: str,
    max_points_per_asset: int = 1,
) -> Any:
    """Suite for one ``price_snapshots`` batch of a single ``source``.

    ``max_points_per_asset``: the most rows one asset may have in the batch
    (1 for a ``markets`` snapshot; for ``market_chart`` the interval divided by
    the finest step the provider returns).
    """
    if source not in PRICE_SOURCES:
        raise SuiteDefinitionError(f"source must be one of {PRICE_SOURCES}, got {source!r}")
    if isinstance(expected_assets, bool) or not isinstance(expected_assets, int) or expected_assets < 1:
        raise SuiteDefinitionError(f"expected_assets must be a positive integer, got {expected_assets!r}")
    if isinstance(max_points_per_asset, bool) or not isinstance(max_points_per_asset, int) or max_points_per_asset < 1:
        raise SuiteDefinitionError(f"max_points_per_asset must be a positive integer, got {max_points_per_asset!r}")
    if source == "markets" and max_points_per_asset != 1:
        raise SuiteDefinitionError(f"a markets snapshot has one row per asset; max_points_per_asset={max_points_per_asset}")
    earliest, latest = _window(interval, tolerance)

    s = _SuiteBuilder(f"{PRICE_SNAPSHOTS.name}.{source}")
    s.not_null(_required_columns(PRICE_SNAPSHOTS), why="required by the table schema; the writer would refuse the batch")
    s.add("ExpectColumnValuesToBeBetween", column="price_usd", min_value=0, strict_min=True, severity="critical",
          why="a price of zero or below is a provider error, never a market price")
    s.add("ExpectCompoundColumnsToBeUnique", column_list=list(PRICE_SNAPSHOTS.key), severity="critical",
          why="the table key; a duplicate would make prices ambiguous")
    s.add("ExpectColumnValuesToBeBetween", column="observed_at", min_value=earliest, max_value=latest,
          severity="critical",
          why=f"observations must fall in the run's interval {interval} give or take {tolerance}; "
              "anything else is stale or mis-dated data")
    s.add("ExpectColumnValuesToMatchRegex", column="symbol", regex=SYMBOL_REGEX, severity="critical",
          why="symbols are stored lower-case so joins on symbol never miss")
    s.add("ExpectColumnValuesToBeInSet", column="source", value_set=[source], severity="critical",
          why=f"this batch is the {source} source; row-count limits assume it")
    s.add("ExpectTableRowCountToBeBetween", min_value=1, max_value=expected_assets * max_points_per_asset,
          check="non_empty_within_max", severity="critical",
          why=f"an empty batch or more than {expected_assets} assets x {max_points_per_asset} point(s) "
              "means a broken fetch or duplicated pages")
    if source == "markets":
        s.add("ExpectTableRowCountToBeBetween", min_value=expected_assets, check="all_expected_assets",
              severity="warning", why="an asset is missing from the snapshot; price_gaps records it")
    else:
        s.add("ExpectColumnUniqueValueCountToBeBetween", column="asset_id", min_value=expected_assets,
              severity="warning", why="an asset has no history points this interval; price_gaps records it")
    s.add("ExpectColumnValuesToBeBetween", column="market_cap_usd", min_value=0, severity="warning",
          why="a negative market cap is a provider error; the price itself may still be right")
    s.add("ExpectColumnValuesToBeBetween", column="volume_24h_usd", min_value=0, severity="warning",
          why="a negative volume is a provider error; the price itself may still be right")
    low, high = CHANGE_24H_PCT_RANGE
    s.add("ExpectColumnValuesToBeBetween", column="change_24h_pct", min_value=low, max_value=high,
          severity="warning", why="a 24 h change outside -100 %..+10000 % is almost surely a unit error")
    return s.suite


def price_gaps_suite(*, interval: Interval, tolerance: timedelta = timedelta(0)) -> Any:
    """Suite for one ``price_gaps`` batch (may be empty: no gaps is the good case)."""
    earliest, latest = _window(interval, tolerance)
    s = _SuiteBuilder(PRICE_GAPS.name)
    s.not_null(_required_columns(PRICE_GAPS), why="required by the table schema; the writer would refuse the batch")
    s.add("ExpectCompoundColumnsToBeUnique", column_list=list(PRICE_GAPS.key), severity="critical",
          why="the table key; one gap per asset, start and source")
    s.add("ExpectColumnPairValuesAToBeGreaterThanB", column_A="gap_end_at", column_B="gap_start_at",
          or_equal=False, severity="critical", why="a gap must span a positive time")
    for column in ("gap_start_at", "gap_end_at"):
        s.add("ExpectColumnValuesToBeBetween", column=column, min_value=earliest, max_value=latest,
              severity="critical", why=f"gaps are found inside the run's interval {interval}")
    s.add("ExpectColumnValuesToBeBetween", column="expected_points", min_value=1, severity="critical",
          why="a gap stands for at least one missing point")
    s.add("ExpectColumnValuesToBeBetween", column="received_points", min_value=0, severity="critical",
          why="a count of received points cannot be negative")
    s.add("ExpectColumnValuesToBeInSet", column="reason", value_set=list(GAP_REASONS), severity="critical",
          why="downstream reports group gaps by these reasons")
    s.add("ExpectColumnValuesToBeInSet", column="source", value_set=list(PRICE_SOURCES), severity="critical",
          why="gaps belong to a known price source")
    s.add("ExpectColumnPairValuesAToBeGreaterThanB", column_A="expected_points", column_B="received_points",
          or_equal=False, severity="warning", why="a 'gap' that received every expected point is not a gap")
    return s.suite


# Page chrome that must never reach an article body; each one means the
# extractor kept navigation, a cookie banner or a scraper's footer.
BOILERPLATE_MARKERS = (r"(?i)related posts", r"(?i)back to top", r"(?i)source link", r"(?i)accept (?:all )?cookies")
FETCH_OUTCOMES = (
    "article", "duplicate", "extraction_failed", "not_modified", "robots", "too_large", "not_html",
    "http_error", "timeout", "blocked", "redirect_offsite", "error",
)


def articles_suite(*, min_words: int) -> Any:
    """Suite for one ``articles`` batch (may be empty: a quiet hour is fine).

    ``language`` missing is a warning only: many real sites omit ``lang``
    and the article is still worth keeping.
    """
    if isinstance(min_words, bool) or not isinstance(min_words, int) or min_words < 1:
        raise SuiteDefinitionError(f"min_words must be a positive integer, got {min_words!r}")
    s = _SuiteBuilder(ARTICLES.name)
    s.not_null(_required_columns(ARTICLES), why="required by the table schema; the writer would refuse the batch")
    s.add("ExpectColumnValuesToBeUnique", column="article_id", severity="critical",
          why="the table key: one row per canonical URL")
    for column in ("title", "body"):
        s.add("ExpectColumnValuesToMatchRegex", column=column, regex=r"\S", severity="critical",
              why=f"an article without a {column} is an extraction failure, not an article")
    # extraction keeps a shorter story than min_words only from an article page, and none under the floor
    floor = story_floor(min_words)
    s.add("ExpectColumnValuesToBeBetween", column="word_count", min_value=floor, severity="critical",
          why=f"bodies under {floor} words are teasers, paywalls or broken extractions (under {min_words} "
              "only stories from article pages are kept)")
    s.add("ExpectColumnPairValuesAToBeGreaterThanB", column_A="fetched_at", column_B="published_at",
          or_equal=True, severity="critical", why="an article cannot be published after we fetched it")
    s.add("ExpectColumnValuesToNotMatchRegexList", column="body", regex_list=list(BOILERPLATE_MARKERS),
          severity="critical", why="page chrome (related posts, cookie banners, footers) leaked into the body")
    s.add("ExpectColumnValuesToNotBeNull", column="language", severity="warning",
          why="language lets readers filter; a page without lang is still an article")
    return s.suite


def article_assets_suite() -> Any:
    """Suite for one ``article_assets`` batch (may be empty)."""
    s = _SuiteBuilder(ARTICLE_ASSETS.name)
    s.not_null(_required_columns(ARTICLE_ASSETS), why="required by the table schema; the writer would refuse the batch")
    s.add("ExpectCompoundColumnsToBeUnique", column_list=list(ARTICLE_ASSETS.key), severity="critical",
          why="the table key: one link per article and asset")
    s.add("ExpectColumnValuesToBeBetween", column="mentions", min_value=1, severity="critical",
          why="a link stands for at least one mention")
    return s.suite


def assets_suite() -> Any:
    """Suite for one refresh of the ``assets`` table (the provider's whole coin list)."""
    s = _SuiteBuilder(ASSETS.name)
    s.not_null(_required_columns(ASSETS), why="required by the table schema; the writer would refuse the batch")
    s.add("ExpectTableRowCountToBeBetween", min_value=1, severity="critical",
          why="an empty coin list would leave the linker with nothing to link")
    s.add("ExpectColumnValuesToBeUnique", column="asset_id", severity="critical",
          why="the table key: one row per coin and refresh")
    s.add("ExpectColumnValuesToBeBetween", column="market_cap_rank", min_value=1, severity="critical",
          why="ranks start at 1")
    s.add("ExpectColumnPairValuesAToBeGreaterThanB", column_A="last_seen_at", column_B="first_seen_at", or_equal=True,
          severity="critical", why="a coin is last seen no earlier than it was first seen")
    s.add("ExpectColumnValuesToNotMatchRegex", column="name", regex=r"^\s*$", severity="critical",
          why="a nameless coin cannot be linked or shown")
    return s.suite


def fetch_log_suite() -> Any:
    """Suite for one ``fetch_log`` batch."""
    s = _SuiteBuilder(FETCH_LOG.name)
    s.not_null(_required_columns(FETCH_LOG), why="required by the table schema; the writer would refuse the batch")
    s.add("ExpectCompoundColumnsToBeUnique", column_list=list(FETCH_LOG.key), severity="critical",
          why="the table key: one row per URL and run")
    s.add("ExpectColumnValuesToBeInSet", column="outcome", value_set=list(FETCH_OUTCOMES), severity="critical",
          why="reports group URLs by these outcomes")
    s.add("ExpectColumnValuesToBeBetween", column="attempts", min_value=0, severity="critical",
          why="a count of requests cannot be negative")
    return s.suite


MISSING_REASONS = (
    "no prices yet", "gap", "granularity too coarse for horizon", "asset not tracked", "estimation window too thin",
)
MOVE_MODELS = ("market_model", "market_adjusted", "mean_adjusted", "zero_mean")
# |z| beyond this is a broken sigma (a near-constant window), not a market move.
MAX_ABS_Z = 1e6


def _conditional_not_null(s: _SuiteBuilder, columns: list[str], condition: Any, check: str, why: str) -> None:
    for column in columns:
        s.add("ExpectColumnValuesToNotBeNull", column=column, row_condition=condition, check=f"{check}:{column}",
              severity="critical", why=why)


def news_market_moves_suite(*, interval: Interval, horizons: list[str]) -> Any:
    """Suite for one day's ``news_market_moves`` batch (may be empty: a day without news)."""
    if not horizons or not all(isinstance(h, str) and h for h in horizons):
        raise SuiteDefinitionError(f"horizons must be a non-empty list of labels, got {horizons!r}")
    from great_expectations.expectations.row_conditions import Column

    spec = NEWS_MARKET_MOVES
    s = _SuiteBuilder(spec.name)
    s.not_null(_required_columns(spec), why="required by the table schema; the writer would refuse the batch")
    s.add("ExpectCompoundColumnsToBeUnique", column_list=list(spec.key), severity="critical",
          why="the table key: one row per story original, asset and horizon")
    s.add("ExpectColumnValuesToBeInSet", column="horizon", value_set=list(horizons), severity="critical",
          why="horizons are the configured linking.horizons")
    s.add("ExpectColumnValuesToBeBetween", column="published_at", min_value=interval.start,
          max_value=interval.end, strict_max=True, severity="critical",
          why=f"a day's batch holds the stories first published in {interval}")
    s.add("ExpectColumnPairValuesAToBeGreaterThanB", column_A="horizon_end_at", column_B="published_at",
          or_equal=False, severity="critical", why="a horizon ends after the event")
    s.add("ExpectColumnValuesToBeInSet", column="missing_reason", value_set=list(MISSING_REASONS),
          severity="critical", why="reports group missing rows by these reasons")
    s.add("ExpectColumnValuesToBeInSet", column="model", value_set=list(MOVE_MODELS), severity="critical",
          why="the abnormal-return model must be one the docs explain")
    s.add("ExpectColumnValuesToBeInSet", column="benchmark", value_set=list(BENCHMARKS), severity="critical",
          why="linking.benchmark allows these")
    # The z is the end of the chain (prices -> returns -> abnormal -> z): checking the
    # returns and the z covers it, and each expectation costs GX time per batch.
    computed = ["asset_return", "market_return", "abnormal_z"]
    _conditional_not_null(s, computed, Column("missing_reason").is_null(), "computed",
                          "a row without missing_reason claims a full computation; every value must be there")
    _conditional_not_null(s, ["missing_reason"], Column("price_at_publish_usd").is_null(), "no_publish_price",
                          "a null price needs its reason")
    _conditional_not_null(s, ["missing_reason"], Column("abnormal_z").is_null(), "no_z",
                          "a null abnormal_z needs its reason")
    s.add("ExpectColumnValuesToBeInSet", column="missing_reason", value_set=["no prices yet"],
          row_condition=Column("is_settled") == False, check="unsettled_only_without_prices",  # noqa: E712
          severity="critical", why="only rows waiting for prices are recomputed later")
    _conditional_not_null(s, ["abnormal_z"], Column("is_significant") == True, "significant",  # noqa: E712
                          "a significant row must carry the z that made it significant")
    s.add("ExpectColumnValuesToBeBetween", column="price_at_publish_usd", min_value=0, strict_min=True,
          severity="critical", why="prices are positive")
    s.add("ExpectColumnValuesToBeBetween", column="asset_return", min_value=-1, severity="critical",
          why="a simple return cannot fall below -100 %")
    s.add("ExpectColumnValuesToBeBetween", column="abnormal_z", min_value=-MAX_ABS_Z, max_value=MAX_ABS_Z,
          severity="critical", why="an infinite or absurd z means a degenerate estimation window")
    s.add("ExpectColumnValuesToBeBetween", column="price_gap_minutes", min_value=0, severity="critical",
          why="a price cannot be observed after the time it is used for")
    for column in ("p_value", "q_value"):
        s.add("ExpectColumnValuesToBeBetween", column=column, min_value=0, max_value=1, severity="critical",
              why="a probability")
    s.add("ExpectColumnPairValuesAToBeGreaterThanB", column_A="q_value", column_B="p_value", or_equal=True,
          ignore_row_if="either_value_is_missing", severity="critical",
          why="a multiple-testing adjustment never lowers a p-value")
    s.add("ExpectColumnValuesToBeBetween", column="abnormal_z", min_value=-50, max_value=50, check="plausible_z",
          severity="warning", why="|z| above 50 is possible after huge news but worth a look")
    return s.suite


def market_moves_suite(*, interval: Interval) -> Any:
    """Suite for one day's ``market_moves`` batch (may be empty: a calm day)."""
    spec = MARKET_MOVES
    s = _SuiteBuilder(spec.name)
    s.not_null(_required_columns(spec), why="required by the table schema; the writer would refuse the batch")
    s.add("ExpectCompoundColumnsToBeUnique", column_list=list(spec.key), severity="critical",
          why="the table key: one row per asset and hour")
    s.add("ExpectColumnValuesToBeBetween", column="window_start_at", min_value=interval.start,
          max_value=interval.end, strict_max=True, severity="critical",
          why=f"a day's batch holds the hours starting in {interval}")
    s.add("ExpectColumnPairValuesAToBeGreaterThanB", column_A="window_end_at", column_B="window_start_at",
          or_equal=False, severity="critical", why="a move spans a positive time")
    for column in ("price_start_usd", "price_end_usd", "sigma_1h"):
        s.add("ExpectColumnValuesToBeBetween", column=column, min_value=0, strict_min=True, severity="critical",
              why="prices and volatilities are positive")
    s.add("ExpectColumnValuesToBeBetween", column="move_return", min_value=-1, severity="critical",
          why="a simple return cannot fall below -100 %")
    s.add("ExpectColumnValuesToBeBetween", column="move_z", min_value=-MAX_ABS_Z, max_value=MAX_ABS_Z,
          severity="critical", why="an infinite z means a degenerate trailing window")
    s.add("ExpectColumnValuesToBeInSet", column="direction", value_set=["up", "down"], severity="critical",
          why="reports filter on direction")
    s.add("ExpectColumnValuesToBeBetween", column="article_count", min_value=0, severity="critical",
          why="a count cannot be negative")
    s.add("ExpectColumnPairValuesAToBeGreaterThanB", column_A="article_count", column_B="linked_article_count",
          or_equal=True, severity="critical", why="linked articles are a subset of the articles listed")
    s.add("ExpectColumnValuesToBeInSet", column="benchmark", value_set=list(BENCHMARKS), severity="critical",
          why="linking.benchmark allows these")
    return s.suite


SUITES: dict[str, Callable[..., Any]] = {
    PRICE_SNAPSHOTS.name: price_snapshots_suite,
    PRICE_GAPS.name: price_gaps_suite,
    ARTICLES.name: articles_suite,
    ARTICLE_ASSETS.name: article_assets_suite,
    FETCH_LOG.name: fetch_log_suite,
    ASSETS.name: assets_suite,
    NEWS_MARKET_MOVES.name: news_market_moves_suite,
    MARKET_MOVES.name: market_moves_suite,
}


def suite_for(table: str, **params: Any) -> Any:
    """The suite of ``table`` for a batch with ``params`` (the builder's keyword arguments)."""
    try:
        builder = SUITES[table]
    except KeyError:
        raise SuiteDefinitionError(f"no expectation suite for table {table!r} (known: {', '.join(sorted(SUITES))})") from None
    return builder(**params)
