"""Every published table's schema, partition column and key, defined once.

The writer enforces these schemas (no inferred types ever reach a file), the
quality suites read the keys from here, and the DuckDB catalog creates one
view per entry of :data:`TABLES`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

UTC_TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class TableSpec:
    name: str
    schema: pa.Schema
    key: tuple[str, ...]  # unique per table; the writer rejects duplicates
    dt_from: str  # the UTC timestamp column whose date is the partition
    partition_by: str = "dt"  # Hive partition column (a UTC date, yyyy-mm-dd)
    layer: str = "silver"  # silver: cleaned source data; gold: derived; ops: pipeline records
    description: str = ""

    @property
    def data_columns(self) -> list[str]:
        return [f.name for f in self.schema if f.name != self.partition_by]


PRICE_SNAPSHOTS = TableSpec(
    name="price_snapshots",
    schema=pa.schema(
        [
            pa.field("asset_id", pa.string(), nullable=False),
            pa.field("symbol", pa.string(), nullable=False),
            pa.field("name", pa.string(), nullable=False),
            pa.field("price_usd", pa.float64(), nullable=False),
            pa.field("market_cap_usd", pa.float64()),
            pa.field("volume_24h_usd", pa.float64()),
            pa.field("change_24h_pct", pa.float64()),
            pa.field("observed_at", UTC_TS, nullable=False),
            pa.field("snapshot_at", UTC_TS, nullable=False),
            pa.field("source", pa.string(), nullable=False),  # markets | market_chart
            pa.field("ingested_at", UTC_TS, nullable=False),
            pa.field("dt", pa.string(), nullable=False),
        ]
    ),
    key=("asset_id", "observed_at", "source"),
    dt_from="observed_at",
    description="One price observation per asset and source time; dt is the UTC date of observed_at.",
)

PRICE_GAPS = TableSpec(
    name="price_gaps",
    schema=pa.schema(
        [
            pa.field("asset_id", pa.string(), nullable=False),
            pa.field("gap_start_at", UTC_TS, nullable=False),
            pa.field("gap_end_at", UTC_TS, nullable=False),
            pa.field("expected_points", pa.int64(), nullable=False),
            pa.field("received_points", pa.int64(), nullable=False),
            pa.field("reason", pa.string(), nullable=False),  # no_data | missing_hours | fetch_failed | refresh_failed (a rerun failed; the published points were kept)
            pa.field("source", pa.string(), nullable=False),
            pa.field("run_id", pa.string(), nullable=False),
            pa.field("ingested_at", UTC_TS, nullable=False),
            pa.field("dt", pa.string(), nullable=False),
        ]
    ),
    key=("asset_id", "gap_start_at", "source"),
    dt_from="gap_start_at",
    layer="ops",
    description="Hours (or whole days) for which a source returned no price points for an asset.",
)

DQ_RESULTS = TableSpec(
    name="dq_results",
    schema=pa.schema(
        [
            pa.field("table_name", pa.string(), nullable=False),
            pa.field("interval_start_at", UTC_TS, nullable=False),
            pa.field("interval_end_at", UTC_TS, nullable=False),
            pa.field("suite", pa.string(), nullable=False),
            pa.field("expectation", pa.string(), nullable=False),  # type plus column, e.g. expect_column_values_to_not_be_null(price_usd)
            pa.field("severity", pa.string(), nullable=False),  # critical | warning
            pa.field("success", pa.bool_(), nullable=False),
            pa.field("observed_value", pa.string()),  # JSON text of GX's result summary
            pa.field("unexpected_count", pa.int64()),
            pa.field("row_count", pa.int64(), nullable=False),
            pa.field("is_published", pa.bool_(), nullable=False),
            pa.field("run_id", pa.string(), nullable=False),
            pa.field("validated_at", UTC_TS, nullable=False),
            # The Delta table version the batch's publish committed (or found unchanged); null when not published.
            # Restoring a table to it (`newsmarkets table restore`) brings back exactly what this batch left.
            pa.field("table_version", pa.int64()),
            pa.field("dt", pa.string(), nullable=False),  # UTC date of interval_start_at
        ]
    ),
    key=("table_name", "interval_start_at", "interval_end_at", "expectation", "run_id"),
    dt_from="interval_start_at",
    layer="ops",
    description="Every expectation evaluated on every batch, published or quarantined.",
)

ARTICLES = TableSpec(
    name="articles",
    schema=pa.schema(
        [
            pa.field("article_id", pa.string(), nullable=False),  # sha256 of canonical_url, 16 hex
            pa.field("url", pa.string(), nullable=False),  # the page read (after in-domain redirects)
            pa.field("canonical_url", pa.string(), nullable=False),
            pa.field("source", pa.string(), nullable=False),  # news.sources[].name
            pa.field("title", pa.string(), nullable=False),
            pa.field("authors", pa.list_(pa.string())),
            pa.field("published_at", UTC_TS, nullable=False),
            # json-ld | meta | feed | sitemap | visible-text | htmldate; json-ld, meta and visible-text may end in
            # "-ambiguous": a local time a DST change repeats or skips, not settled by a feed/sitemap time
            pa.field("published_at_source", pa.string(), nullable=False),
            pa.field("updated_at", UTC_TS),
            pa.field("language", pa.string()),
            pa.field("section", pa.string()),
            pa.field("body", pa.string(), nullable=False),
            pa.field("word_count", pa.int64(), nullable=False),
            pa.field("content_hash", pa.string(), nullable=False),  # of the normalised body
            pa.field("story_id", pa.string(), nullable=False),  # shared by syndicated copies
            pa.field("is_original", pa.bool_(), nullable=False),  # earliest known copy of its story
            pa.field("fetched_at", UTC_TS, nullable=False),
            pa.field("dt", pa.string(), nullable=False),
        ]
    ),
    key=("article_id",),
    dt_from="published_at",
    description="One extracted news article per canonical URL; dt is the UTC date of published_at.",
)

ARTICLE_ASSETS = TableSpec(
    name="article_assets",
    schema=pa.schema(
        [
            pa.field("article_id", pa.string(), nullable=False),
            pa.field("asset_id", pa.string(), nullable=False),  # CoinGecko id, joins price_snapshots
            pa.field("mentions", pa.int64(), nullable=False),
            pa.field("in_title", pa.bool_(), nullable=False),
            pa.field("matched_terms", pa.list_(pa.string())),
            pa.field("published_at", UTC_TS, nullable=False),
            pa.field("dt", pa.string(), nullable=False),
        ]
    ),
    key=("article_id", "asset_id"),
    dt_from="published_at",
    layer="gold",
    description="Which assets an article talks about; dt is the UTC date of the article's published_at.",
)

FETCH_LOG = TableSpec(
    name="fetch_log",
    schema=pa.schema(
        [
            pa.field("url", pa.string(), nullable=False),  # as the feed or sitemap listed it (what was fetched)
            pa.field("source", pa.string(), nullable=False),
            pa.field("status", pa.int64()),  # last HTTP status; null when no response (robots, blocked, timeout)
            pa.field("outcome", pa.string(), nullable=False),  # article | duplicate | extraction_failed | fetcher outcomes
            pa.field("reason", pa.string()),
            pa.field("attempts", pa.int64(), nullable=False),
            pa.field("article_id", pa.string()),  # the article it became (outcome article) or duplicated
            pa.field("fetched_at", UTC_TS, nullable=False),  # when the attempt ended
            pa.field("run_id", pa.string(), nullable=False),
            pa.field("interval_start_at", UTC_TS, nullable=False),
            pa.field("dt", pa.string(), nullable=False),
        ]
    ),
    key=("url", "run_id"),
    dt_from="fetched_at",
    layer="ops",
    description="What happened to every discovered news URL, one row per URL and run; dt is the UTC date of fetched_at.",
)

NEWS_MARKET_MOVES = TableSpec(
    name="news_market_moves",
    schema=pa.schema(
        [
            pa.field("article_id", pa.string(), nullable=False),  # the story's earliest copy
            pa.field("story_id", pa.string(), nullable=False),
            pa.field("asset_id", pa.string(), nullable=False),  # CoinGecko id, or 'market' (the benchmark)
            pa.field("published_at", UTC_TS, nullable=False),  # the story's earliest copy: the event time
            pa.field("horizon", pa.string(), nullable=False),  # linking.horizons label, e.g. 1h
            pa.field("horizon_minutes", pa.int64(), nullable=False),
            pa.field("horizon_end_at", UTC_TS, nullable=False),  # published_at + horizon
            # As-of prices: the last observation strictly before publication, and at or before the
            # horizon's end. 'market' rows: the benchmark's level (the tracked assets' summed market
            # caps, or bitcoin's price).
            pa.field("price_at_publish_usd", pa.float64()),
            pa.field("price_at_horizon_usd", pa.float64()),
            # Simple returns (price_at_horizon / price_at_publish - 1), as fractions, not percent.
            pa.field("asset_return", pa.float64()),
            pa.field("market_return", pa.float64()),  # the benchmark's simple return over the same span
            # asset rows: asset_return - (alpha * steps + beta * market_return); 'market' rows:
            # market_return - its own pre-event mean return per step * steps
            pa.field("abnormal_return", pa.float64()),
            # abnormal_return / (residual sigma per estimation step * sqrt(horizon / step))
            pa.field("abnormal_z", pa.float64()),
            pa.field("p_value", pa.float64()),  # two-sided normal p of abnormal_z
            # Benjamini-Hochberg adjusted p over the rows of the same UTC day and horizon
            pa.field("q_value", pa.float64()),
            pa.field("is_significant", pa.bool_(), nullable=False),  # |z| >= significance_z and q <= significance_q
            pa.field("is_settled", pa.bool_(), nullable=False),  # false: prices for the horizon are not in yet
            # The return over linking.pre_publish_minutes up to price_at_publish_usd (the benchmark's for
            # 'market' rows), and its abnormal part under the row's model: moves that began before the story
            pa.field("pre_publish_return", pa.float64()),
            pa.field("pre_publish_abnormal_return", pa.float64()),
            # Stories on one asset within linking.event_gap_minutes of the first are one event: its id is
            # the first story's article_id; the others are follow-ups
            pa.field("event_id", pa.string(), nullable=False),
            pa.field("is_follow_up", pa.bool_(), nullable=False),
            # another event on the same asset inside the horizon (or, for a follow-up, its lead): the move
            # may be that story's; confounding_article_id names the earliest one
            pa.field("is_confounded", pa.bool_(), nullable=False),
            pa.field("confounding_article_id", pa.string()),
            pa.field("price_gap_minutes", pa.float64()),  # the stalest as-of price used (asset and benchmark)
            # null when computed; else: no prices yet | gap | granularity too coarse for horizon |
            # asset not tracked | estimation window too thin
            pa.field("missing_reason", pa.string()),
            pa.field("alpha", pa.float64()),  # per estimation step; null for 'market' rows
            pa.field("beta", pa.float64()),  # 1 under the market-adjusted fallback; null for 'market' rows
            pa.field("residual_sigma", pa.float64()),  # per estimation step
            pa.field("estimation_points", pa.int64(), nullable=False),  # returns in the estimation window
            pa.field("model", pa.string(), nullable=False),  # market_model | market_adjusted | mean_adjusted | zero_mean
            pa.field("benchmark", pa.string(), nullable=False),  # median | cap_weighted | equal_weighted | bitcoin
            pa.field("computed_at", UTC_TS, nullable=False),
            pa.field("dt", pa.string(), nullable=False),
        ]
    ),
    key=("article_id", "asset_id", "horizon"),
    dt_from="published_at",
    layer="gold",
    description="What the market did after each news story: one row per story original, linked asset "
    "(or 'market') and horizon; dt is the UTC date of published_at.",
)

MARKET_MOVES = TableSpec(
    name="market_moves",
    schema=pa.schema(
        [
            pa.field("asset_id", pa.string(), nullable=False),  # CoinGecko id, or 'market' (the benchmark)
            pa.field("window_start_at", UTC_TS, nullable=False),  # the move's clock hour
            pa.field("window_end_at", UTC_TS, nullable=False),
            pa.field("price_start_usd", pa.float64(), nullable=False),  # 'market': the benchmark's level
            pa.field("price_end_usd", pa.float64(), nullable=False),
            pa.field("move_return", pa.float64(), nullable=False),  # simple 1h return, a fraction
            pa.field("move_z", pa.float64(), nullable=False),  # (return - trailing mean) / trailing sigma
            pa.field("sigma_1h", pa.float64(), nullable=False),  # of 1h returns over the estimation window
            pa.field("estimation_points", pa.int64(), nullable=False),
            pa.field("direction", pa.string(), nullable=False),  # up | down
            # Original articles published in [window_start - lookback, window_end): ranked linked to the
            # asset first, then most recent first; at most MAX_MOVE_ARTICLES.
            pa.field("article_ids", pa.list_(pa.string()), nullable=False),
            pa.field("article_titles", pa.list_(pa.string()), nullable=False),
            pa.field("article_count", pa.int64(), nullable=False),  # before truncation
            pa.field("linked_article_count", pa.int64(), nullable=False),  # of those, linked to the asset
            pa.field("benchmark", pa.string(), nullable=False),
            pa.field("computed_at", UTC_TS, nullable=False),
            pa.field("dt", pa.string(), nullable=False),
        ]
    ),
    key=("asset_id", "window_start_at"),
    dt_from="window_start_at",
    layer="gold",
    description="Significant 1h moves per asset and of the market, with the news published before them; "
    "dt is the UTC date of window_start_at.",
)

ASSETS = TableSpec(
    name="assets",
    schema=pa.schema(
        [
            pa.field("asset_id", pa.string(), nullable=False),  # CoinGecko id, joins price_snapshots and article_assets
            pa.field("symbol", pa.string(), nullable=False),
            pa.field("name", pa.string(), nullable=False),
            pa.field("market_cap_rank", pa.int64()),  # null when the provider ranks it nowhere
            pa.field("is_tracked", pa.bool_(), nullable=False),  # in prices.assets
            pa.field("is_listed", pa.bool_(), nullable=False),  # in this refresh's coin list (false: kept from before)
            pa.field("first_seen_at", UTC_TS, nullable=False),
            pa.field("last_seen_at", UTC_TS, nullable=False),
            pa.field("listed_at", UTC_TS, nullable=False),  # as of when this partition describes the list
            pa.field("source", pa.string(), nullable=False),  # the price provider's name
            pa.field("ingested_at", UTC_TS, nullable=False),
            pa.field("dt", pa.string(), nullable=False),
        ]
    ),
    key=("asset_id",),
    dt_from="listed_at",
    description="The provider's coin list, one full copy per refresh day (dt, the UTC date of listed_at); "
    "the newest partition is the current list and the linker's vocabulary.",
)

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (PRICE_SNAPSHOTS, PRICE_GAPS, DQ_RESULTS, ARTICLES, ARTICLE_ASSETS, FETCH_LOG, NEWS_MARKET_MOVES, MARKET_MOVES,
              ASSETS)
}


def table_spec(name: str) -> TableSpec:
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r} (known: {', '.join(sorted(TABLES))})") from None
