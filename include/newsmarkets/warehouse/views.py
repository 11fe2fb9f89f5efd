"""Convenience views the DuckDB catalog adds on top of the table views, for BI tools.

They only join and filter the table views (no data of their own), so they are
as fresh as the tables. Each answers a question analysts ask every day; the
README shows them in use.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConvenienceView:
    name: str
    sql: str
    description: str


def _caar(group: str, join: str, where: str) -> str:
    """CAAR-style aggregates of news_market_moves grouped by ``group``, horizon and event window."""
    return f"""
        SELECT {group}, m.horizon, min(m.horizon_minutes) AS horizon_minutes,
               CASE WHEN m.is_follow_up THEN 'follow-up' WHEN m.is_confounded THEN 'confounded' ELSE 'clean' END
                   AS event_window,
               count(*) AS rows, count(DISTINCT m.story_id) AS stories,
               avg(m.abnormal_return) AS caar,
               CASE WHEN count(*) > 1 AND stddev_samp(m.abnormal_return) > 0
                    THEN avg(m.abnormal_return) / (stddev_samp(m.abnormal_return) / sqrt(count(*))) END AS t_stat,
               avg(abs(m.abnormal_return)) AS avg_abs_abnormal_return,
               avg(m.is_significant::INTEGER) AS share_significant
        FROM news_market_moves AS m {join}
        WHERE m.missing_reason IS NULL AND m.is_settled AND {where}
        GROUP BY ALL
        """


VIEWS: tuple[ConvenienceView, ...] = (
    ConvenienceView(
        "article_moves",
        """
        SELECT m.published_at, a.source, a.title, a.url, m.asset_id, m.horizon, m.horizon_minutes,
               m.asset_return, m.market_return, m.abnormal_return, m.abnormal_z, m.p_value, m.q_value,
               m.is_significant, m.is_settled, m.pre_publish_abnormal_return, m.is_follow_up, m.is_confounded,
               m.confounding_article_id, m.missing_reason, m.model, m.event_id, m.article_id, m.story_id, m.dt
        FROM news_market_moves AS m LEFT JOIN articles AS a USING (article_id)
        """,
        "One row per news story (its original copy), linked asset or 'market', and horizon: "
        "the article's title, source and URL next to the returns after it.",
    ),
    ConvenienceView(
        "source_lead",
        """
        SELECT a.source, m.horizon, min(m.horizon_minutes) AS horizon_minutes,
               count(DISTINCT m.story_id) AS stories_first_reported,
               count(DISTINCT m.story_id) FILTER (WHERE m.is_significant) AS stories_followed_by_significant_move,
               round(count(DISTINCT m.story_id) FILTER (WHERE m.is_significant)
                     / greatest(count(DISTINCT m.story_id), 1), 4) AS lead_rate,
               avg(abs(m.abnormal_z)) AS avg_abs_abnormal_z
        FROM news_market_moves AS m JOIN articles AS a USING (article_id)
        WHERE m.missing_reason IS NULL
        GROUP BY ALL
        """,
        "Per source and horizon: stories the source published first (syndicated copies count for "
        "the original's source only) and how often a significant abnormal move followed.",
    ),
    ConvenienceView(
        "caar_by_source",
        _caar("a.source", "JOIN articles AS a USING (article_id)", "m.asset_id <> 'market'"),
        "Event study per source, horizon and event window (clean, confounded, follow-up): the cumulative average "
        "abnormal return from publication to the horizon over the linked assets' settled rows, its t-statistic "
        "(mean / (sd / sqrt(n))), mean |abnormal return| and the share significant.",
    ),
    ConvenienceView(
        "caar_by_asset",
        _caar("m.asset_id", "", "TRUE"),
        "Event study per asset (and 'market'), horizon and event window: cumulative average abnormal return, "
        "t-statistic, mean |abnormal return| and share significant over settled rows.",
    ),
    ConvenienceView(
        "latest_prices",
        """
        SELECT asset_id, symbol, name, price_usd, market_cap_usd, observed_at, source
        FROM price_snapshots
        QUALIFY row_number() OVER (PARTITION BY asset_id ORDER BY observed_at DESC, source) = 1
        """,
        "The most recent observed price of every asset.",
    ),
    ConvenienceView(
        "current_assets",
        """
        SELECT asset_id, symbol, name, market_cap_rank, is_tracked, is_listed, first_seen_at, last_seen_at, listed_at
        FROM assets
        WHERE dt = (SELECT max(dt) FROM assets)
        """,
        "The provider's coin list as of its newest refresh: join article_assets or price_snapshots on asset_id "
        "for names, symbols and market-cap ranks.",
    ),
)
