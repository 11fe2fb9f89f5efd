"""The link step of news_ingest: the staged articles -> the assets they mention (``article_assets``).

Assets are linked with the built-in vocabulary (:data:`DEFAULT_COINS` and
aliases of :mod:`newsmarkets.news.aliases`), not the price provider's coin
list: the build must not depend on the price API being up. Coins missing
from that vocabulary are not linked. Matching names in text is
:mod:`newsmarkets.news.link`'s job.
"""

from __future__ import annotations

import logging
import time

import pandas as pd

from newsmarkets.config import Config
from newsmarkets.intervals import Interval
from newsmarkets.news.ingest.common import ARTICLE_ASSETS, ARTICLES, open_warehouse

log = logging.getLogger("newsmarkets.news")


def asset_dictionary(cfg: Config):
    """The linker vocabulary: every built-in coin with its aliases (no network).

    Built-in coins beyond ``prices.assets`` are linked too: an article about
    them is still about them, and their prices can be tracked later. A
    tracked asset without built-in names cannot be linked (warned once).
    """
    from newsmarkets.news.aliases import DEFAULT_COINS
    from newsmarkets.news.link import build_asset_dictionary

    unknown = sorted(set(cfg.prices.assets) - {c["id"] for c in DEFAULT_COINS})
    if unknown:
        log.warning("no built-in names for tracked asset(s) %s: their articles are not linked", ", ".join(unknown))
    return build_asset_dictionary(DEFAULT_COINS)


def link(cfg: Config, interval: Interval, run_id: str, deduped: dict) -> dict:
    """Link the staged articles to the assets they mention; stage ``article_assets``."""
    from newsmarkets.news.link import LINK_COLUMNS, link_frame

    started = time.perf_counter()
    wh = open_warehouse(cfg)
    articles = wh.load_staged(ARTICLES, deduped[ARTICLES])
    if len(articles):
        links = link_frame(articles, asset_dictionary(cfg)).drop(columns=["dt"])
    else:
        links = pd.DataFrame(columns=LINK_COLUMNS[:-1])
        links["published_at"] = pd.to_datetime(links["published_at"], utc=True)
    out = {**deduped, ARTICLE_ASSETS: wh.stage(ARTICLE_ASSETS, links, interval, run_id),
           "links": len(links), "link_s": round(time.perf_counter() - started, 3)}
    log.info("link %s: %d asset link(s) for %d article(s)", interval, len(links), len(articles))
    return out
