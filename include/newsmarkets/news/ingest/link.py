"""The link step of news_ingest: the staged articles -> the assets they mention (``article_assets``).

The vocabulary is the newest copy of the ``assets`` table (the provider's
coin list, published daily by ``assets_refresh``), with the built-in coins
of :mod:`newsmarkets.news.aliases` as the floor: news never calls the price
API, so a provider outage only ages the vocabulary, and the step's metadata
says which copy linked the batch and whether it is stale. Matching names in
text is :mod:`newsmarkets.news.link`'s job.
"""

from __future__ import annotations

import logging
import time

import pandas as pd

from newsmarkets.config import Config
from newsmarkets.intervals import Interval
from newsmarkets.news.ingest.common import ARTICLE_ASSETS, ARTICLES, open_warehouse

log = logging.getLogger("newsmarkets.news")


def asset_vocabulary(cfg: Config, wh=None):
    """The linker vocabulary for ``prices.assets``: the last good coin list, built-in names as the floor.

    Built-in coins beyond ``prices.assets`` are linked too: an article about
    them is still about them, and their prices can be tracked later.
    """
    from newsmarkets.news.vocabulary import load_vocabulary

    return load_vocabulary(wh if wh is not None else open_warehouse(cfg), cfg.prices.assets)


def asset_dictionary(cfg: Config):
    """The compiled vocabulary alone, for single-page tools (``extract``, ``sources check``).

    They may run where the warehouse is not reachable (no storage credentials
    on a laptop): then the built-in vocabulary links, as before a first refresh.
    """
    from newsmarkets.news.vocabulary import load_vocabulary

    try:
        wh = open_warehouse(cfg)
    except Exception as exc:  # noqa: BLE001 - any storage set-up failure: built-in names, loudly
        log.warning("cannot open the warehouse (%s): linking with the built-in vocabulary", exc)
        return load_vocabulary(None, cfg.prices.assets).dictionary
    return asset_vocabulary(cfg, wh).dictionary


def link(cfg: Config, interval: Interval, run_id: str, deduped: dict) -> dict:
    """Link the staged articles to the assets they mention; stage ``article_assets``."""
    from newsmarkets.news.link import LINK_COLUMNS, link_frame

    started = time.perf_counter()
    wh = open_warehouse(cfg)
    articles = wh.load_staged(ARTICLES, deduped[ARTICLES])
    vocabulary = asset_vocabulary(cfg, wh)
    if len(articles):
        links = link_frame(articles, vocabulary.dictionary).drop(columns=["dt"])
    else:
        links = pd.DataFrame(columns=LINK_COLUMNS[:-1])
        links["published_at"] = pd.to_datetime(links["published_at"], utc=True)
    meta = vocabulary.metadata(interval.end)
    if meta["vocabulary_is_stale"]:
        log.warning("link %s: vocabulary %s listed at %s is stale (assets_refresh failing?)", interval,
                    meta["vocabulary"], meta["vocabulary_listed_at"])
    out = {**deduped, ARTICLE_ASSETS: wh.stage(ARTICLE_ASSETS, links, interval, run_id),
           "links": len(links), "link_s": round(time.perf_counter() - started, 3), **meta}
    log.info("link %s: %d asset link(s) for %d article(s), vocabulary %s (%d assets)", interval, len(links),
             len(articles), meta["vocabulary"], meta["vocabulary_assets"])
    return out
