"""What every news_ingest step shares: its error, the warehouse and fetcher from config, table and step names.

No step logic here and no imports of the step modules, so any step can
import it without pulling in another.
"""

from __future__ import annotations

from newsmarkets.config import Config, NewsSourceConfig

ARTICLES = "articles"
ARTICLE_ASSETS = "article_assets"
FETCH_LOG = "fetch_log"
DQ_RESULTS = "dq_results"
PUBLISHED_TABLES = (ARTICLES, ARTICLE_ASSETS, FETCH_LOG)  # publish order
# News hand-off folders under _staging/ (besides the tables' own staged batches).
STAGED_STEPS = ("discovered", "fetched", "extracted")


class NewsIngestError(RuntimeError):
    """A news batch cannot go on (nothing readable at all, a target that cannot be fetched)."""


def open_warehouse(cfg: Config):
    from newsmarkets.warehouse.writer import Warehouse

    return Warehouse.from_config(cfg)


def polite_fetcher(cfg: Config, source: NewsSourceConfig | None, conditional: dict | None = None):
    from newsmarkets.news.fetch import PoliteFetcher

    news = cfg.news
    return PoliteFetcher(
        conditional=conditional,
        user_agent=news.user_agent or cfg.http.user_agent,
        allowed_domains=source.domains if source is not None else None,
        allow_private_networks=cfg.http.allow_private_networks,
        per_domain_rps=news.per_domain_rps,
        per_domain_concurrency=news.per_domain_concurrency,
        shared_by=news.pool_slots,
        timeout_s=news.timeout_s,
        max_bytes=news.max_bytes,
    )
