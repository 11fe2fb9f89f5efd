"""The linker's vocabulary: the tracked assets' names from the ``assets`` table, built-in names as the floor.

News never calls the price provider: the ``assets_refresh`` DAG publishes
the provider's coin list, and linking reads its newest good copy. Before the
first refresh (or when a tracked coin is missing from it) the built-in coins
of :mod:`newsmarkets.news.aliases` stand in, and the metadata says which
vocabulary linked a batch and how old it was.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from newsmarkets.news.aliases import DEFAULT_COINS
from newsmarkets.news.link import AssetDictionary, build_asset_dictionary

log = logging.getLogger("newsmarkets.news")

# A copy older than this (against the batch's interval end) means the refresh has been failing.
STALE_AFTER = timedelta(hours=48)


@dataclass(frozen=True)
class Vocabulary:
    dictionary: AssetDictionary
    source: str  # "assets" (the table's newest copy) | "built-in" (no copy yet)
    listed_at: datetime | None  # what the copy describes; None for built-in
    unnamed: tuple[str, ...]  # tracked assets nobody names: not linkable

    def metadata(self, as_of: datetime) -> dict:
        """What a link task reports about the vocabulary it used (small, for XCom)."""
        stale = self.listed_at is None or as_of - self.listed_at > STALE_AFTER
        return {"vocabulary": self.source, "vocabulary_assets": len(self.dictionary),
                "vocabulary_listed_at": None if self.listed_at is None else self.listed_at.isoformat(),
                "vocabulary_is_stale": bool(stale), "vocabulary_unnamed": list(self.unnamed)}


def vocabulary_coins(listing: pd.DataFrame | None, tracked: Sequence[str]) -> tuple[list[dict], tuple[str, ...]]:
    """Coins to link (tracked ones plus the built-in ones), named from ``listing`` where it has them.

    Returns the coin dicts (``id``, ``symbol``, ``name``, ``market_cap_rank``)
    and the tracked ids neither the listing nor the built-in list names.
    """
    builtin = {c["id"]: c for c in DEFAULT_COINS}
    listed: dict[str, dict] = {}
    if listing is not None and not listing.empty:
        for row in listing[["asset_id", "symbol", "name", "market_cap_rank"]].itertuples(index=False):
            rank = None if pd.isna(row.market_cap_rank) else int(row.market_cap_rank)
            listed[row.asset_id] = {"id": row.asset_id, "symbol": row.symbol, "name": row.name, "market_cap_rank": rank}
    wanted = list(dict.fromkeys([*tracked, *builtin]))
    coins = [listed.get(a) or builtin[a] for a in wanted if a in listed or a in builtin]
    unnamed = tuple(a for a in tracked if a not in listed and a not in builtin)
    return coins, unnamed


def vocabulary_dictionary(listing: pd.DataFrame | None, tracked: Sequence[str]) -> tuple[AssetDictionary, tuple[str, ...]]:
    """The compiled vocabulary for ``tracked`` and the tracked ids nobody names.

    Ranked coins outside it whose names hold a linkable term ("Bitcoin
    Cash", "Wrapped Bitcoin" when only bitcoin is tracked) are blockers:
    their mentions are not the tracked coin's.
    """
    coins, unnamed = vocabulary_coins(listing, tracked)
    dictionary = build_asset_dictionary(coins)
    if listing is not None and not listing.empty:
        inside = {c["id"] for c in coins}
        others = listing[listing["market_cap_rank"].notna() & ~listing["asset_id"].isin(inside)]
        names = [n for n in others["name"] if dictionary.contains_term(n)]
        if names:
            dictionary = build_asset_dictionary(coins, blockers=names)
    return dictionary, unnamed


def load_vocabulary(wh, tracked: Sequence[str]) -> Vocabulary:
    """The vocabulary from the newest ``assets`` partition; the built-in one before the first refresh or without ``wh``.

    A copy that cannot be read (a damaged file) does not stop news: the
    built-in vocabulary links the batch and the metadata says so.
    """
    listing = None
    try:
        partitions = wh.partitions("assets") if wh is not None else []
        listing = wh.read("assets", dts=[partitions[-1]]) if partitions else None
    except Exception as exc:  # noqa: BLE001 - any read failure falls back, loudly
        log.warning("cannot read the assets table (%s): linking with the built-in vocabulary", exc)
    dictionary, unnamed = vocabulary_dictionary(listing, tracked)
    if unnamed:
        log.warning("no names for tracked asset(s) %s: their articles are not linked", ", ".join(unnamed))
    listed_at = None
    if listing is not None and not listing.empty:
        listed_at = pd.Timestamp(listing["listed_at"].max()).to_pydatetime()
    return Vocabulary(dictionary, "assets" if listed_at else "built-in", listed_at, unnamed)
